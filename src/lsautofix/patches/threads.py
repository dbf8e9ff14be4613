"""Threads: ``Thread.start`` (and so ``Timer``) and ``ThreadPoolExecutor.submit``.

Each unit of work runs with its submitter's tracing state and nothing else of its context (see
:mod:`lsautofix.context`): a new thread starts from a fresh context as in plain Python, with only
the tracing variables set; an executor task runs in its worker's own context, with the tracing
variables set for the task and reset after it. Threads an executor, pool or server starts for
itself carry nothing. Work submitted with no tracing state is left untouched.
``loop.run_in_executor`` goes through ``submit``; ``ThreadPoolExecutor.map`` does too, after
capturing the state once for all its items.

A thread carries its starter's state for its whole life: a fire-and-forget thread nests under a
run that has already returned, as it should; so does a long-lived worker loop started inside a
traced function, unless it is started detached (README, "Threads that outlive their run").
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from typing import Any, Callable

from lsautofix import context
from lsautofix.patches._wrapping import Patches

_patches = Patches()
_STATE = "_lsautofix_state"


def _caller(original: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``original(self, ...)`` as Python would call the method it replaces."""
    if type(original) is types.FunctionType:  # not isinstance: wrapt proxies __class__
        return original

    def call(self: Any, /, *args: Any, **kwargs: Any) -> Any:  # another library's wrapper: bind it
        return original.__get__(self, type(self))(*args, **kwargs)

    return call


def _bootstrap_with_state(state: context.TracingState, thread_ref: weakref.ref[threading.Thread]) -> None:
    """The thread's ``_bootstrap_inner``, run with the starter's tracing state.

    The thread is reached through a weak reference and the override removed first, so no cycle
    keeps a finished ``Thread`` (and what it references) alive.
    """
    thread = thread_ref()
    if thread is None:  # pragma: no cover - the thread is running this very function
        return
    thread.__dict__.pop("_bootstrap_inner", None)
    state(type(thread)._bootstrap_inner, thread)


def _make_start(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Thread.start``: the thread runs with the starter's tracing state (a plain function: hot path).

    The state is entered around ``_bootstrap_inner`` on this instance only, so ``run()`` called
    without ``start()`` keeps running in the caller's context.
    """
    call = _caller(original)
    partial = functools.partial

    @functools.wraps(original)
    def start(self: threading.Thread) -> Any:
        # Infrastructure is checked first where a parent's run waits to be entered (a spawn child
        # that has not loaded the SDK): capturing there loads it, about a second of CPU, and the
        # feeder thread a multiprocessing.Queue starts on its first put() carries no one's run.
        if _patches.active and not (context.has_deferred() and context.is_infrastructure(self)):
            state = context.capture()
            if state is not None and not context.is_infrastructure(self):
                self._bootstrap_inner = partial(_bootstrap_with_state, state, weakref.ref(self))  # type: ignore[method-assign]
        return call(self)

    return start


class _Carried(functools.partial):  # type: ignore[type-arg]
    """``partial(state, fn)``: a task that already carries its state (``submit`` passes it on).

    A ``partial`` subclass keeps the C call path; ``submit`` knows it by its exact type.
    """

    __slots__ = ()


def _is_context_run(fn: Any, partial: type = functools.partial) -> bool:
    return type(fn) is partial and context.is_context_run(fn)


def _make_map(original: Callable[..., Any]) -> Callable[..., Any]:
    """``ThreadPoolExecutor.map`` (inherited from ``Executor``): one capture for every item."""

    @functools.wraps(original)
    def map(self: Any, fn: Callable[..., Any], *iterables: Any, **kwargs: Any) -> Any:  # as Executor.map
        if _patches.active and type(fn) is not _Carried and not _is_context_run(fn):
            state = context.capture()
            if state is not None:
                fn = _Carried(state, fn)
        return original(self, fn, *iterables, **kwargs)

    return map


def _make_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    """``ThreadPoolExecutor.submit``: the task runs with the submitter's tracing state.

    A plain function, not a wrapt wrapper: ``submit`` is the hottest path patched here (see
    :meth:`Patches.replace`). The work item gets the state as its callable and the task as the
    state's first argument (``state(fn, *args, **kwargs)``): no object is built for the task
    beyond the state itself. ``submit()`` without a callable raises the original's TypeError; a
    keyword named ``fn`` belongs to the task, as in the original. The state (and with it the
    parent run) lives in the work item until the task has run.
    """
    call = _caller(original)
    partial = functools.partial

    @functools.wraps(original)
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if _patches.active and type(fn) is not _Carried:
            state = context.capture()
            if state is not None and (type(fn) is not partial or not context.is_context_run(fn)):
                return call(self, state, fn, *args, **kwargs)
        return call(self, fn, *args, **kwargs)

    return submit


def _patch_executor(module: Any) -> None:
    _patches.replace(module.ThreadPoolExecutor, "submit", _make_submit)
    _patches.replace(module.ThreadPoolExecutor, "map", _make_map)


def apply() -> None:
    """Replace ``Thread.start`` now and ``ThreadPoolExecutor.submit`` once it is imported."""
    if not _patches.start():
        return
    _patches.replace(threading.Thread, "start", _make_start)
    _patches.when_imported("concurrent.futures.thread", _patch_executor)


def revert() -> None:
    _patches.unwrap_all()
