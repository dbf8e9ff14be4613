"""asyncio tasks: backport of Python 3.11's ``create_task(..., context=)`` to Python 3.10.

Python 3.11 lets ``asyncio.create_task(coro, context=ctx)`` and ``loop.create_task(coro,
context=ctx)`` run the task *in* the :class:`contextvars.Context` ``ctx`` itself: every step of the
coroutine runs in ``ctx``, so what the task sets is visible in ``ctx`` afterwards and what others
set in ``ctx`` between two steps is visible to the task. The SDK uses that to keep the parent run
of traced coroutines and async generators. It probes for it once, by reading
``inspect.signature(asyncio.create_task)`` (``langsmith._internal._aiter.asyncio_accepts_context``,
an ``lru_cache``), and otherwise falls back to weaker paths.

What is patched (only on Python < 3.11; on 3.11+ :func:`apply` is a no-op):

* ``asyncio.create_task`` and ``asyncio.tasks.create_task`` (the same function object on 3.10);
* ``asyncio.base_events.BaseEventLoop.create_task`` (every stdlib loop: selector, proactor);
* ``uvloop.Loop.create_task``, now or as soon as ``uvloop`` is imported. uvloop accepts
  ``context=`` on 3.10 but creates the task inside ``context.run``, which gives the task a *copy*.

Each replacement has the 3.11 signature (``inspect.signature`` shows a keyword-only
``context=None``), keeps ``__wrapped__`` pointing at the original, and without ``context=`` calls
the original straight away. They are plain functions, not ``wrapt`` wrappers: on this interpreter a
``wrapt`` 2.x ``FunctionWrapper`` costs about 0.5 us per call and ``asyncio.create_task`` goes
through two of them (the function, then ``loop.create_task``), about 1.5x the cost of a plain
``create_task``; plain functions cost about 1.07x (see ``benchmarks/bench_tasks.py``).

How a task runs in ``ctx``: the C ``_asyncio.Task`` of 3.10 copies the current context in its
``__init__`` and keeps it where Python cannot replace it, so creating the task inside
``ctx.run(...)`` would only give it a copy of ``ctx``. Instead the task drives a small generator
that advances the user's coroutine with ``ctx.run(coro.send, value)`` and
``ctx.run(coro.throw, exc)``: every step of the coroutine runs in ``ctx`` itself, while the task
stays a C task. The task is an instance of a small subclass of ``asyncio.Task`` (so ``isinstance``
holds and its ``repr`` reads ``<Task ...>``) whose ``get_coro()`` (and ``_coro``, used by ``repr``
and ``get_stack``) return the user's coroutine. Names, results, exceptions, cancellation (with its
message) and ``await`` behave as for any task. Tasks created without ``context=`` are untouched.

Differences from 3.11 that remain:

* A loop with a task factory gets ``factory(loop, wrapper)``: the task runs in ``ctx``, but its
  ``get_coro()`` is the wrapper. (3.11 passes ``context=ctx`` to the factory, which a factory
  written for 3.10 would reject.)
* ``asyncio.create_task(coro, context=ctx)`` on any other loop whose ``create_task`` is not ours
  (a subclass overriding it, a third-party loop) hands it the wrapper, so it runs in ``ctx`` there
  too (3.11 would pass ``context=`` and fail on a loop that does not accept it).
* If ``ctx`` is already entered when a step runs, the task fails with that ``RuntimeError``
  (3.11 reports it to the loop's exception handler and the task never finishes).

Not covered: ``asyncio.Task(coro, context=...)`` itself (the class cannot be replaced without
breaking ``isinstance``); ``ensure_future``, which takes no ``context=`` in 3.11 either; and copies
taken before :func:`apply` (``from asyncio import create_task``), which is why lsautofix applies
this when ``langsmith`` is imported, before the SDK's first probe. If the probe already ran,
:func:`apply` and :func:`revert` clear its cache (they never raise doing so).
``langchain_core.runnables.utils.asyncio_accepts_context`` is not cached but decides on
``sys.version_info``, so LangChain keeps its 3.10 path; its call sites that just try
``create_task(..., context=)`` and catch ``TypeError`` now get the real thing.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
import threading
import types
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from lsautofix.patches._wrapping import Patches

if TYPE_CHECKING:
    import asyncio

__all__ = ["NEEDED", "apply", "is_applied", "revert"]

#: True where asyncio lacks ``create_task(..., context=)``, that is on Python < 3.11.
NEEDED: bool = sys.version_info < (3, 11)

logger = logging.getLogger("lsautofix")

_MISSING: Any = object()
_MARK = "__lsautofix_patch__"

_lock = threading.RLock()
_applied = False
#: (owner, name, original from owner.__dict__ or _MISSING, installed replacement)
_installed: list[tuple[Any, str, Any, Any]] = []
#: Our ``loop.create_task`` replacements: a loop whose method is one of these takes ``context=``.
_exact_methods: set[Any] = set()
#: Post-import hook bookkeeping (uvloop) shared with the other patch modules.
_hooks = Patches()
_task_class: type | None = None
#: Bound at the first apply(), so that importing this module does not import asyncio.
_iscoroutine: Callable[[Any], bool]
_get_running_loop: Callable[[], Any]


# --- running a coroutine in a given context ---------------------------------------------------


@types.coroutine
def _run_in_context(coro: Any, context: contextvars.Context) -> Generator[Any, Any, Any]:
    """Drive ``coro`` so that each of its steps runs in ``context`` itself (not a copy).

    What the coroutine yields (futures, ``None``) goes to the task untouched; what the task sends
    or throws goes to the coroutine. Callers prime the generator to its first ``yield``, so a task
    cancelled before its first step throws into the coroutine (which closes it, as with a plain
    task) rather than into a generator that has not started. Exceptions are thrown from
    outside any ``except`` block so they gain no ``__context__`` a plain task would not give them.
    """
    run = context.run
    send = coro.send
    throw = coro.throw
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            value = yield result
        except GeneratorExit:
            # The task was destroyed while pending: close the coroutine as a plain task would.
            coro.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - CancelledError and anything else thrown in
            error = exc
        try:
            if error is None:
                result = run(send, value)
            else:
                thrown, error = error, None
                result = run(throw, thrown)
                del thrown
        except StopIteration as stop:
            return stop.value


def _wrap(coro: Any, context: contextvars.Context) -> Any:
    """The coroutine wrapped to run in ``context``; non-coroutines pass through for the loop to reject."""
    if not _iscoroutine(coro):
        return coro
    gen = _run_in_context(coro, context)
    gen.send(None)  # to the first ``yield``: runs nothing of ``coro``
    try:
        gen.__qualname__ = getattr(coro, "__qualname__", gen.__qualname__)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    return gen


def _context_task_class() -> type:
    """A subclass of ``asyncio.Task`` whose coroutine runs in a given context (built once)."""
    global _task_class
    if _task_class is not None:
        return _task_class
    import asyncio

    base: Any = asyncio.Task
    c_task = base is not getattr(asyncio.tasks, "_PyTask", None)

    class Task(base):  # type: ignore[misc, valid-type]
        """``asyncio.Task`` running ``coro`` in ``context`` (3.11's ``Task(..., context=)``)."""

        __slots__ = ("_lsautofix_coro",)

        def __init__(
            self,
            coro: Coroutine[Any, Any, Any],
            *,
            loop: asyncio.AbstractEventLoop | None = None,
            name: str | None = None,
            context: contextvars.Context,
        ) -> None:
            self._lsautofix_coro = coro
            wrapper = _run_in_context(coro, context)
            wrapper.send(None)  # to the first ``yield``: runs nothing of ``coro``
            super().__init__(wrapper, loop=loop, name=name)

        def get_coro(self) -> Coroutine[Any, Any, Any]:
            return self._lsautofix_coro

    if c_task:
        # repr() and get_stack() read ``_coro``; the C task itself never does. (The pure-Python
        # task drives ``self._coro``, so there it must stay the wrapper.)
        Task._coro = property(lambda self: self._lsautofix_coro)  # type: ignore[attr-defined]
    Task.__qualname__ = "Task"
    _task_class = Task
    return Task


def _trim_source_traceback(task: Any) -> None:
    """Drop our frames from a debug-mode task's creation stack, as ``loop.create_task`` drops its own."""
    tb = getattr(task, "_source_traceback", None)
    if tb:
        while tb and tb[-1].filename == __file__:
            del tb[-1]


def _set_task_name(task: Any, name: str | None) -> None:
    if name is not None:
        try:
            set_name = task.set_name
        except AttributeError:
            pass
        else:
            set_name(name)


def _new_task(loop: Any, coro: Any, name: str | None, context: contextvars.Context) -> Any:
    """``loop.create_task(coro, name=name, context=context)`` with 3.11's meaning, on any loop."""
    if loop.is_closed():
        raise RuntimeError("Event loop is closed")
    factory = loop.get_task_factory()
    if factory is None:
        if not _iscoroutine(coro):
            raise TypeError(f"a coroutine was expected, got {coro!r}")
        task = _context_task_class()(coro, loop=loop, name=name, context=context)
        _trim_source_traceback(task)
    else:
        task = factory(loop, _wrap(coro, context))
        _set_task_name(task, name)
    return task


# --- the replacements -------------------------------------------------------------------------


def _with_context_parameter(original: Callable[..., Any], replacement: Callable[..., Any]) -> Any:
    """The original's signature with a keyword-only ``context=None`` (the replacement's if unreadable)."""
    import inspect

    try:
        sig = inspect.signature(original)
    except (TypeError, ValueError):
        return inspect.signature(replacement, follow_wrapped=False)
    if "context" in sig.parameters:
        return sig
    params = list(sig.parameters.values())
    at = len(params)
    if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
        at -= 1
    params.insert(at, inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, default=None))
    return sig.replace(parameters=params)


def _dress(replacement: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``replacement`` the original's name, doc and ``__wrapped__``, and a signature with ``context``."""
    signature = _with_context_parameter(original, replacement)
    functools.update_wrapper(replacement, original)
    replacement.__signature__ = signature  # type: ignore[attr-defined]
    setattr(replacement, _MARK, True)
    return replacement


def _make_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    """``asyncio.create_task`` with 3.11's ``context=``."""

    def create_task(coro: Any, *, name: str | None = None, context: contextvars.Context | None = None) -> Any:
        if context is None:
            return original(coro, name=name)
        loop = _get_running_loop()
        if getattr(loop.create_task, "__func__", None) in _exact_methods:
            return _new_task(loop, coro, name, context)
        # A loop whose create_task is not ours may not take ``context=``: give it the wrapper.
        task = loop.create_task(_wrap(coro, context))
        _set_task_name(task, name)
        return task

    return _dress(create_task, original)


def _make_loop_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    """``BaseEventLoop.create_task`` with 3.11's ``context=``."""

    def create_task(
        self: Any, coro: Any, *, name: str | None = None, context: contextvars.Context | None = None
    ) -> Any:
        if context is None:
            return original(self, coro, name=name)
        return _new_task(self, coro, name, context)

    return _dress(create_task, original)


def _make_uvloop_create_task(original: Callable[..., Any]) -> Callable[..., Any]:
    """``uvloop.Loop.create_task`` whose ``context=`` runs the task in the context, not a copy of it."""

    def create_task(
        self: Any,
        coro: Any,
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
        **kwargs: Any,
    ) -> Any:
        if context is None:
            return original(self, coro, name=name, **kwargs)
        if kwargs:  # options of a newer uvloop: leave them, and the context, to uvloop
            return original(self, coro, name=name, context=context, **kwargs)
        return _new_task(self, coro, name, context)

    return _dress(create_task, original)


# --- apply / revert ---------------------------------------------------------------------------


def _install(owner: Any, name: str, make: Callable[[Any], Any], memo: dict[int, Any]) -> Any:
    """Replace ``owner.name`` by ``make(original)``, one replacement per distinct original."""
    if any(o is owner and n == name for o, n, _, _ in _installed):
        return None
    original = getattr(owner, name)
    if getattr(original, _MARK, False):  # already ours (e.g. a copy of another patched attribute)
        return original
    replacement = memo.get(id(original))
    if replacement is None:
        replacement = memo[id(original)] = make(original)
    own = vars(owner).get(name, _MISSING)
    setattr(owner, name, replacement)
    _installed.append((owner, name, own, replacement))
    return replacement


def _patch_uvloop(module: Any) -> None:
    with _lock:
        loop_class = getattr(module, "Loop", None)
        if not _applied or not isinstance(loop_class, type) or not hasattr(loop_class, "create_task"):
            return
        try:
            method = _install(loop_class, "create_task", _make_uvloop_create_task, {})
        except (AttributeError, TypeError):
            logger.debug("lsautofix: cannot patch uvloop.Loop.create_task", exc_info=True)
            return
        if method is not None:
            _exact_methods.add(method)


def _clear_probe_caches() -> None:
    """Forget the SDKs' cached answer to "does create_task take context=?" (never raises)."""
    from lsautofix import _sdk

    _sdk.clear_create_task_probes()


def apply() -> None:
    """Give ``create_task`` 3.11's ``context=`` on Python < 3.11; idempotent, never raises."""
    global _applied, _iscoroutine, _get_running_loop
    if not NEEDED:
        return
    with _lock:
        if _applied:
            return
        try:
            import asyncio
            from asyncio import base_events, tasks

            _iscoroutine = asyncio.iscoroutine
            _get_running_loop = asyncio.get_running_loop

            memo: dict[int, Any] = {}
            _install(tasks, "create_task", _make_create_task, memo)
            _install(asyncio, "create_task", _make_create_task, memo)
            method = _install(base_events.BaseEventLoop, "create_task", _make_loop_create_task, memo)
            if method is not None:
                _exact_methods.add(method)
            _applied = True
        except Exception:
            logger.warning("lsautofix: could not patch asyncio.create_task", exc_info=True)
            _restore()
            return
        _hooks.start()
    try:
        _hooks.when_imported("uvloop", _patch_uvloop)
    except Exception:
        logger.debug("lsautofix: cannot watch for uvloop", exc_info=True)
    _clear_probe_caches()


def _restore() -> None:
    for owner, name, original, replacement in reversed(_installed):
        if vars(owner).get(name, _MISSING) is not replacement:
            # Someone wrapped ours: leave theirs; ours, still in their chain, keeps working.
            logger.debug("lsautofix: %r.%s was patched again by another library; left in place", owner, name)
        elif original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _installed.clear()
    _exact_methods.clear()


def revert() -> None:
    """Put back the exact original objects; idempotent."""
    global _applied
    with _lock:
        if not _applied:
            return
        _hooks.unwrap_all()
        _restore()
        _applied = False
    _clear_probe_caches()


def is_applied() -> bool:
    """Whether the backport is installed (always False on Python >= 3.11, where it is not needed)."""
    return _applied
