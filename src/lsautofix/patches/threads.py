"""Threads: ``Thread.start`` (and so ``Timer``) and ``ThreadPoolExecutor``'s work items.

Each unit of work runs with its submitter's tracing state and nothing else of its context (see
:mod:`lsautofix.context`): a new thread starts from a fresh context as in plain Python, with only
the tracing variables set; an executor task runs in its worker's own context, with the tracing
variables set for the task and reset after it. Threads an executor, pool or server starts for
itself carry nothing. Work submitted with no tracing state is left untouched.
An executor task's state is taken where ``submit`` records the task (``_WorkItem.__init__``;
``submit`` itself on a Python whose work item is not the one known). ``loop.run_in_executor``
goes through ``submit``; ``ThreadPoolExecutor.map`` does too, after capturing the state once for
all its items.

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
            state = context.capture_positional()  # the state is called with the bootstrap and the thread
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

    Used where ``_WorkItem.__init__`` is not the one known (see :func:`_make_work_item_init`).
    The work item gets the state as its callable and the task as the state's first argument
    (``state(fn, *args, **kwargs)``). ``submit()`` without a callable raises the original's
    TypeError; a keyword named ``fn`` belongs to the task, as in the original.
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


#: What ``_WorkItem.__init__(self, future, fn, args, kwargs)`` stores, on Python 3.10 to 3.13.
_WORK_ITEM_FIELDS = ("future", "fn", "args", "kwargs")


def _is_known_work_item_init(init: Any) -> bool:
    code = getattr(init, "__code__", None)
    return (
        type(init) is types.FunctionType
        and code is not None
        and code.co_varnames[:5] == ("self", *_WORK_ITEM_FIELDS)
        and code.co_argcount == 5
        and code.co_names == _WORK_ITEM_FIELDS
    )


def _make_work_item_init(original: Callable[..., Any]) -> Callable[..., Any]:
    """``_WorkItem.__init__``: where ``submit`` records a task, the submitter's tracing state.

    The work item gets the state as its callable and the task as the state's first argument
    (``state(fn, *args, **kwargs)``); the state (and with it the parent run) lives in the work
    item until the task has run. ``submit`` itself is left as it is: its checks, its errors and
    its signature are the original's, and no frame is added to the call (a wrapped ``submit`` cost
    about 2,500 more instructions per task, docs/cost.md). The original's body, four assignments, is
    written out here: it is the same on every Python this patch is applied on (checked by
    :func:`_is_known_work_item_init`; ``submit`` is wrapped instead elsewhere).
    """
    partial = functools.partial

    @functools.wraps(original)
    def __init__(self: Any, future: Any, fn: Any, args: Any, kwargs: Any) -> None:
        if _patches.active and type(fn) is not _Carried:
            state = context.capture() if kwargs else context.capture_positional()
            if state is not None and (type(fn) is not partial or not context.is_context_run(fn)):
                args = (fn,) + args
                fn = state
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    return __init__


def _patch_executor(module: Any) -> None:
    work_item = getattr(module, "_WorkItem", None)
    if work_item is not None and _is_known_work_item_init(vars(work_item).get("__init__")):
        _patches.replace(work_item, "__init__", _make_work_item_init)
    else:
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
