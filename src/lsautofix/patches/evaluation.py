"""Evaluations: warn when a ``blocking=False`` evaluation is dropped before it finished.

``aevaluate(..., blocking=False)`` returns an ``AsyncExperimentResults`` whose evaluation runs in
a task; if nobody iterates it, ``asyncio.run`` cancels that task on return and the experiment
silently receives nothing. ``evaluate(..., blocking=False)`` runs in a thread, which an
``os._exit`` or a terminated worker cuts short. lsautofix watches each such result and emits one
:class:`~lsautofix.UnconsumedEvaluationWarning`, pointing at the user's call, when it is cancelled,
garbage-collected or left behind at exit unfinished. Nothing changes for an evaluation that is
consumed or completes.
"""

from __future__ import annotations

import sys
import threading
import warnings
import weakref
from typing import Any, Callable, Optional

from lsautofix import _sdk
from lsautofix._categories import UnconsumedEvaluationWarning
from lsautofix.patches._wrapping import Patches

_patches = Patches()
_live: set["_Watch"] = set()  # strong refs until each watch is settled
_lock = threading.Lock()

_SKIP_MODULES = ("langsmith.", "lsautofix.", "asyncio.", "concurrent.", "threading", "contextlib", "wrapt")


def _caller() -> tuple[str, int, str]:
    """File, line and module of the user's call: the first frame outside the SDK, lsautofix, asyncio."""
    frame: Any = sys._getframe(2)
    fallback = (frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__", "?"))
    while frame is not None:
        module = frame.f_globals.get("__name__", "") or ""
        if module != "langsmith" and not module.startswith(_SKIP_MODULES) and not frame.f_code.co_filename.startswith("<"):
            return frame.f_code.co_filename, frame.f_lineno, module
        frame = frame.f_back
    return fallback


class _Watch:
    """What is needed to tell the user about one evaluation, without keeping it alive."""

    __slots__ = ("experiment", "filename", "lineno", "module", "total", "done_count", "settled", "consumed",
                 "finished", "will_finish", "__weakref__")

    def __init__(self, results: Any, finished: Callable[[], bool], will_finish: Callable[[], bool]) -> None:
        self.filename, self.lineno, self.module = _caller()
        try:
            self.experiment = str(results.experiment_name)
        except Exception:
            self.experiment = "?"
        self.total: Optional[int] = _sdk.evaluation_total(results)
        ref = weakref.ref(results)
        self.done_count = lambda: _sdk.evaluation_done_count(ref())
        self.finished = finished
        self.will_finish = will_finish
        self.settled = False
        self.consumed = False

    def settle(self, why: Optional[str], done: Optional[int] = None) -> None:
        """Warn once (``why`` says what happened) unless the evaluation was consumed or finished."""
        with _lock:
            if self.settled:
                return
            self.settled = True
            _live.discard(self)
        if why is None or self.consumed:
            return
        count = self.done_count() if done is None else done
        total = "?" if self.total is None else str(self.total)
        message = (
            f"evaluation {self.experiment!r} was {why} before it finished: {count} of {total} examples "
            f"were evaluated, the rest never reached the experiment. Consume the results "
            f"(`async for _ in results: pass`, or `results.wait()` for evaluate) or pass blocking=True."
        )
        try:
            warnings.warn_explicit(message, UnconsumedEvaluationWarning, self.filename, self.lineno, module=self.module)
        except Exception:  # a filter set to "error" must not break a callback or an exit hook
            if any(f[0] == "error" for f in warnings.filters):
                try:
                    sys.stderr.write(f"{self.filename}:{self.lineno}: UnconsumedEvaluationWarning: {message}\n")
                except Exception:
                    pass


def _track(results: Any, finished: Callable[[], bool], will_finish: Callable[[], bool]) -> _Watch:
    watch = _Watch(results, finished, will_finish)
    with _lock:
        _live.add(watch)
    weakref.finalize(results, _on_collected, weakref.ref(watch))
    results._lsautofix_watch = watch
    return watch


def _on_collected(watch_ref: "weakref.ref[_Watch]") -> None:
    watch = watch_ref()
    if watch is not None and not watch.settled:
        watch.settle(None if watch.finished() else "garbage-collected")


# --- async --------------------------------------------------------------------------------


def _async_init(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    if _patches.active:
        task = _sdk.async_evaluation_task(instance)
        if task is not None:
            watch = _track(instance, task.done, lambda: False)
            results_ref = weakref.ref(instance)

            def on_done(t: Any) -> None:
                if t.cancelled():
                    obj = results_ref()
                    done = _sdk.evaluation_done_count(obj) if obj is not None else None
                    watch.settle("cancelled (its event loop finished first)", done)
                else:
                    watch.settle(None)

            task.add_done_callback(on_done)
    return result


def _mark_consumed(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    watch = getattr(instance, "_lsautofix_watch", None)
    if watch is not None:
        watch.consumed = True
    return wrapped(*args, **kwargs)


# --- sync ---------------------------------------------------------------------------------


def _sync_init(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    thread = _sdk.sync_evaluation_thread(instance)
    complete = _sdk.sync_evaluation_complete(instance)
    if _patches.active and thread is not None and complete is not None:
        # A non-daemon thread is joined at a normal exit, so it will finish; os._exit will not wait.
        _track(instance, complete.is_set, lambda: thread.is_alive() and not thread.daemon)
    return result


# --- exit -----------------------------------------------------------------------------------


def check_unfinished(reason: str, *, abrupt: bool) -> None:
    """Warn about every watched evaluation still unfinished when the process is leaving."""
    with _lock:
        pending = [w for w in _live if not w.settled]
    for watch in pending:
        try:
            if watch.finished() or (not abrupt and watch.will_finish()):
                continue
            watch.settle(reason)
        except Exception:
            pass


def _patch_async(module: Any) -> None:
    cls = module.AsyncExperimentResults
    _patches.wrap(cls, "__init__", _async_init)
    _patches.wrap(cls, "__aiter__", _mark_consumed)
    _patches.wrap(cls, "__anext__", _mark_consumed)


def _patch_sync(module: Any) -> None:
    cls = module.ExperimentResults
    _patches.wrap(cls, "__init__", _sync_init)
    for name in ("__iter__", "wait"):
        if name in cls.__dict__:
            _patches.wrap(cls, name, _mark_consumed)


def apply() -> None:
    if not _patches.start():
        return
    _patches.when_imported("langsmith.evaluation._arunner", _patch_async)
    _patches.when_imported("langsmith.evaluation._runner", _patch_sync)


def revert() -> None:
    _patches.unwrap_all()


def is_applied() -> bool:
    return _patches.active
