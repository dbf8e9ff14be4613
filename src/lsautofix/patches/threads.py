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


def _thread_start(wrapped: Callable[..., Any], instance: threading.Thread, args: tuple, kwargs: dict) -> Any:
    if _patches.active:
        if flush.is_upload_thread(instance):
            # The SDK's upload threads: lsautofix flushes them at exit with a bound, so they must
            # not hold exit open on a hanging endpoint, nor take the main thread's signals.
            instance.daemon = True
            try:
                return flush.start_quietly(instance, lambda: wrapped(*args, **kwargs))
            except RuntimeError:
                # Python 3.12+ refuses new threads once shutdown began; the SDK starts its
                # compression thread lazily and would die here, leaving its queue undrained.
                # Without that thread the SDK still works: exit flushes send synchronously.
                if not flush.shutting_down():
                    raise
                return None
        else:
            captured = context.capture()
            if captured is not None:
                # Thread.run() called without start() keeps running in the caller's context.
                instance._bootstrap_inner = functools.partial(  # type: ignore[method-assign]
                    captured.run, type(instance)._bootstrap_inner, instance
                )
    return wrapped(*args, **kwargs)


def _make_submit(original: Callable[..., Any]) -> Callable[..., Any]:
    """``ThreadPoolExecutor.submit`` running each task in a copy of the submitter's context.

    A plain function, not a wrapt wrapper: ``submit`` is the hottest path patched here (see
    :meth:`Patches.replace`). ``submit()`` without a callable raises the original's TypeError;
    a keyword named ``fn`` belongs to the task, as in the original.
    """

    if type(original) is types.FunctionType:  # not isinstance: wrapt proxies __class__
        call = original
    else:  # another library's wrapper (wrapt, OpenTelemetry): call it bound, as Python would

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            return original.__get__(self, type(self))(*args, **kwargs)

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
    """Wrap ``Thread.start`` now and ``ThreadPoolExecutor.submit`` once it is imported."""
    if not _patches.start():
        return
    _patches.wrap(threading.Thread, "start", _thread_start)
    _patches.when_imported("concurrent.futures.thread", _patch_executor)


def revert() -> None:
    _patches.unwrap_all()
