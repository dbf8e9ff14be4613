"""Ray: remote function and actor method calls carry their caller's run in a keyword of their own.

Ray's own tracing helper (``ray/util/tracing/tracing_helper.py``) does the same with
``_ray_trace_ctx``: the function Ray pickles for the workers gets one more keyword-only parameter,
and each call's caller fills it in.

- Remote functions: before the first ``RemoteFunction._remote`` exports the function (and reads
  its signature), the function is wrapped in a closure that accepts ``lsautofix_parent`` and
  enters it around the call. Actors: ``ray.actor._modify_class`` (run by ``@ray.remote`` on a
  class) gives each plain instance method, sync or async, the same wrapper on the modified class
  Ray pickles. Generators, class and static methods and ``__init__`` are left alone.
- ``RemoteFunction._remote`` and ``ActorMethod._remote`` add the caller's snapshot, only to a
  callable whose signature has the parameter.
- The wrappers are pickled by value and import lsautofix only when called with a snapshot: a
  worker without lsautofix runs the function without it, as plain Ray would. Importing
  lsautofix activates it in the worker (unless ``LANGSMITH_AUTOFIX`` says off), so local workers
  need nothing; remote ones need lsautofix installed (``runtime_env={"pip": ["lsautofix"]}``).
- Nothing lost: Ray SIGKILLs its workers when a local cluster shuts down (``ray.shutdown()``,
  or the driver's exit). A driver that handed snapshots over first sends SIGTERM to the Ray
  workers among its own descendants (those of the cluster it started) and waits, bounded, for
  them to exit: Ray's worker turns SIGTERM into a normal exit, where lsautofix flushes. A
  driver that carried nothing shuts down exactly as before. No flush is on a task's path.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from lsautofix import context
from lsautofix.integrations import _common
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()
_MARK = "__lsautofix_carrier__"


def _signature_with_carrier(function: Callable[..., Any]) -> inspect.Signature | None:
    """``function``'s signature plus a keyword-only ``lsautofix_parent=None`` (None: cannot add one)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())
    if any(p.name == _common.CARRIER for p in params):
        return None
    carrier = inspect.Parameter(_common.CARRIER, inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next((i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params))
    try:
        return signature.replace(parameters=[*params[:at], carrier, *params[at:]])
    except ValueError:
        return None


def _carrying(function: Callable[..., Any]) -> Callable[..., Any] | None:
    """A wrapper of ``function`` that takes ``lsautofix_parent`` and runs the call under it.

    Built here but defined so that Ray pickles it by value and a worker can unpickle it without
    lsautofix: it names no global of this module, and imports lsautofix only when it has a
    snapshot to enter. ``__wrapped__`` is not set: Ray reads a method's signature and its
    ``@ray.method`` options from ``inspect.unwrap(method)``, which must stop here.
    """
    if getattr(function, _MARK, False) or inspect.isgeneratorfunction(function):
        return None
    if inspect.isasyncgenfunction(function):
        return None
    signature = _signature_with_carrier(function)
    if signature is None:
        return None
    name = _common.CARRIER

    if inspect.iscoroutinefunction(function):

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            snapshot = kwargs.pop(name, None)
            if snapshot is None:
                return await function(*args, **kwargs)
            try:
                from lsautofix.integrations import ray as integration  # noqa: PLW0406 (in the worker)
            except ImportError:  # a worker without lsautofix: plain Ray
                return await function(*args, **kwargs)
            return await integration._await_in_worker(snapshot, function(*args, **kwargs))

        wrapper: Callable[..., Any] = call_async
    else:

        def call(*args: Any, **kwargs: Any) -> Any:
            snapshot = kwargs.pop(name, None)
            if snapshot is None:
                return function(*args, **kwargs)
            try:
                from lsautofix.integrations import ray as integration  # noqa: PLW0406 (in the worker)
            except ImportError:  # a worker without lsautofix: plain Ray
                return function(*args, **kwargs)
            return integration._call_in_worker(snapshot, function, args, kwargs)

        wrapper = call
    functools.update_wrapper(wrapper, function)
    del wrapper.__wrapped__
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    setattr(wrapper, _MARK, True)
    return wrapper


# --- the worker side ------------------------------------------------------------------------------

_worker_ready = False


def _prepare_worker() -> None:
    global _worker_ready
    if not _worker_ready:
        _worker_ready = True
        atexit.register(_exit_under_way)  # after lsautofix's exit flush, so it runs before it


def _exit_under_way() -> None:
    """At a Ray worker's exit, ignore further SIGTERMs until it is over (bounded by the flush timeout).

    Once an actor starts to exit, Ray's GCS has the raylet send it SIGTERM again
    (``KillLocalActor``), and Ray's handler raises ``SystemExit`` wherever the process is: inside
    lsautofix's exit flush, the actor's runs were dropped (1 shutdown in 8). The exit is already
    under way; Ray still SIGKILLs a worker that takes too long.
    """
    if _patches.active and threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        except (ValueError, OSError):
            pass


def _call_in_worker(snapshot: dict[str, Any], function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """In the worker: run a sync function or method under its caller's snapshot."""
    _prepare_worker()
    return context.run_remote(snapshot, function, *args, **kwargs)


async def _await_in_worker(snapshot: dict[str, Any], coroutine: Any) -> Any:
    """In the worker: await an async function or method under its caller's snapshot."""
    _prepare_worker()
    return await _common.await_under(snapshot, coroutine)


# --- the driver side -------------------------------------------------------------------------------


_carried = False  # this driver has handed a snapshot over: its workers may hold runs


def _with_snapshot(args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
    """``_remote(args, kwargs, ...)`` with the caller's snapshot among the call's kwargs, or None."""
    global _carried
    snapshot = context.capture_remote()
    if snapshot is None:
        return None
    _carried = True
    kwargs = dict(kwargs)
    if len(args) >= 2:
        call_kwargs = dict(args[1] or {})
        call_kwargs[_common.CARRIER] = snapshot
        return (args[0], call_kwargs, *args[2:]), kwargs
    call_kwargs = dict(kwargs.get("kwargs") or {})
    call_kwargs[_common.CARRIER] = snapshot
    kwargs["kwargs"] = call_kwargs
    return args, kwargs


def _function_remote(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``RemoteFunction._remote``: give the function its carrier before Ray first exports it."""
    if not _patches.active or getattr(instance, "_is_cross_language", False):
        return wrapped(*args, **kwargs)
    if getattr(instance, "_function_signature", True) is None:
        with instance._inject_lock:
            if instance._function_signature is None and not getattr(instance._function, _MARK, False):
                carrying = _carrying(instance._function)
                if carrying is not None:
                    instance._function = carrying
    if not getattr(getattr(instance, "_function", None), _MARK, False):
        return wrapped(*args, **kwargs)
    call = _with_snapshot(args, kwargs)
    return wrapped(*args, **kwargs) if call is None else wrapped(*call[0], **call[1])


def _method_remote(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``ActorMethod._remote``: add the snapshot when the method takes it."""
    signature = getattr(instance, "_signature", None) or ()
    if not _patches.active or not any(getattr(p, "name", None) == _common.CARRIER for p in signature):
        return wrapped(*args, **kwargs)
    call = _with_snapshot(args, kwargs)
    return wrapped(*args, **kwargs) if call is None else wrapped(*call[0], **call[1])


def _modify_class(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``ray.actor._modify_class``: each plain instance method of the actor takes the carrier."""
    modified = wrapped(*args, **kwargs)
    if not _patches.active or not isinstance(modified, type):
        return modified
    for name in dir(modified):
        if name.startswith("__"):
            continue
        try:
            static = inspect.getattr_static(modified, name)
        except AttributeError:
            continue
        if not inspect.isfunction(static):  # staticmethod, classmethod, property, data
            continue
        carrying = _carrying(static)
        if carrying is not None:
            setattr(modified, name, carrying)
    return modified


def _is_ray_worker(pid: int) -> bool:
    """A Ray worker process: its title is ``ray::<task, actor or IDLE>``; Ray's agents are not workers."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().split(b"\0", 1)[0]
    except OSError:
        return False
    return title.startswith(b"ray::") and not title.endswith(b"Agent")


def _flush_local_workers() -> None:
    """Let the workers of the cluster this driver started flush before Ray SIGKILLs them."""
    if not _carried or not _patches.active:
        return
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return
    try:
        workers = [pid for pid in _common.descendants(os.getpid()) if _is_ray_worker(pid)]
        _common.terminate_before_kill(workers)
    except Exception:
        logger.debug("lsautofix: could not stop the Ray workers gently", exc_info=True)


def _shutdown(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    _flush_local_workers()
    return wrapped(*args, **kwargs)


def _patch_worker(module: Any) -> None:
    _patches.wrap(module, "shutdown", _shutdown)
    # Ray registered its own shutdown with atexit on import, before this wrapper existed;
    # atexit runs the last registered first, so this runs before it.
    atexit.unregister(_flush_local_workers)
    atexit.register(_flush_local_workers)


def _patch_ray(module: Any) -> None:
    worker = sys.modules.get("ray._private.worker")
    if worker is not None and module.shutdown is worker.shutdown:
        return  # ``ray`` imported the name after it was wrapped: one wrapper is enough
    _patches.wrap(module, "shutdown", _shutdown)


def _patch_remote_function(module: Any) -> None:
    _patches.wrap(module.RemoteFunction, "_remote", _function_remote)


def _patch_actor(module: Any) -> None:
    _patches.wrap(module, "_modify_class", _modify_class)
    _patches.wrap(module.ActorMethod, "_remote", _method_remote)


def apply() -> None:
    """Patch Ray's remote functions and actors when (and if) Ray is imported."""
    if not _patches.start():
        return
    _patches.when_imported("ray.remote_function", _patch_remote_function)
    _patches.when_imported("ray.actor", _patch_actor)
    _patches.when_imported("ray._private.worker", _patch_worker)
    _patches.when_imported("ray", _patch_ray)


def revert() -> None:
    _patches.unwrap_all()
    atexit.unregister(_flush_local_workers)
