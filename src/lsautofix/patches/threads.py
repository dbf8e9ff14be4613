"""Threads: ``Thread.start`` (and so ``Timer``) and ``ThreadPoolExecutor.submit``.

Each unit of work runs in a copy of the submitter's context taken at submit time, holding the
parent run alive until it has run. Work submitted with no tracing context is left untouched.
``Executor.map`` and ``loop.run_in_executor`` go through ``submit``, so they need no patch of their own.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import types
from typing import Any, Callable

from lsautofix import context, flushing as flush
from lsautofix.patches._wrapping import Patches

_patches = Patches()


def _caller(original: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``original(self, ...)`` as Python would call the method it replaces."""
    if type(original) is types.FunctionType:  # not isinstance: wrapt proxies __class__
        return original

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:  # another library's wrapper: bind it
        return original.__get__(self, type(self))(*args, **kwargs)

    return call


def _make_start(original: Callable[..., Any]) -> Callable[..., Any]:
    """``Thread.start``: the thread runs in a copy of the starter's tracing context.

    A plain function, like ``submit`` below: ``Thread.start`` is a hot path.
    """
    call = _caller(original)

    @functools.wraps(original)
    def start(self: threading.Thread) -> Any:
        if _patches.active:
            if flush.is_upload_thread(self):
                # The SDK's upload threads: lsautofix flushes them at exit with a bound, so they must
                # not hold exit open on a hanging endpoint, nor take the main thread's signals.
                self.daemon = True
                try:
                    return flush.start_quietly(self, lambda: call(self))
                except RuntimeError:
                    # Python 3.12+ refuses new threads once shutdown began; the SDK starts its
                    # compression thread lazily and would die here, leaving its queue undrained.
                    # Without that thread the SDK still works: exit flushes send synchronously.
                    if not flush.shutting_down():
                        raise
                    return None
            captured = context.capture()
            if captured is not None:
                # Thread.run() called without start() keeps running in the caller's context.
                self._bootstrap_inner = functools.partial(  # type: ignore[method-assign]
                    captured.run, type(self)._bootstrap_inner, self
                )
        return call(self)

    return start


def _make_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    """``ThreadPoolExecutor.submit`` running each task in a copy of the submitter's context.

    A plain function, not a wrapt wrapper: ``submit`` is the hottest path patched here (see
    :meth:`Patches.replace`). ``submit()`` without a callable raises the original's TypeError;
    a keyword named ``fn`` belongs to the task, as in the original.
    """

    call = _caller(original)
    copy_context, partial = contextvars.copy_context, functools.partial

    @functools.wraps(original)
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if _patches.active:
            var = context.parent_var
            parent = var.get(None) if var is not None else None
            if (parent is not None or context.has_tracing_context()) and not context.is_context_run(fn):
                future = call(self, partial(copy_context().run, fn), *args, **kwargs)
                # The executor holds the future until the task has run: so does it hold the parent.
                future._lsautofix_parent = parent
                return future
        return call(self, fn, *args, **kwargs)

    return submit


def _patch_executor(module: Any) -> None:
    _patches.replace(module.ThreadPoolExecutor, "submit", _make_submit)


def apply() -> None:
    """Replace ``Thread.start`` now and ``ThreadPoolExecutor.submit`` once it is imported."""
    if not _patches.start():
        return
    _patches.replace(threading.Thread, "start", _make_start)
    _patches.when_imported("concurrent.futures.thread", _patch_executor)


def revert() -> None:
    _patches.unwrap_all()
