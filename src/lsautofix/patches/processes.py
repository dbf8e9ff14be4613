"""Processes: the submitter's tracing state follows work into child processes.

- ``BaseProcess.start`` records a small snapshot of the tracing state on the process object
  (nothing for the workers, managers and servers that pools and executors start for themselves);
  ``BaseProcess._bootstrap``, run in the child under fork, spawn and forkserver, starts from no
  tracing state (fork copies the starter's whole context) and enters the snapshot.
- ``Pool`` task methods and ``ProcessPoolExecutor.submit`` send ``RemoteCall(snapshot, fn)``: each
  task runs with the state of its own submit; an untraced task runs with none. A ``ThreadPool``
  task carries the same-process state instead (its workers are threads).
- ``multiprocessing.spawn.get_preparation_data`` carries a stowaway whose unpickling installs
  lsautofix in spawn and forkserver children before anything else runs there (coverage.py's trick).
- A child that has not loaded the SDK (spawn) enters the snapshot only when its work imports it
  (``context.run_remote``): work that never traces does not pay for the import.
- A forkserver started by a process that has the SDK loaded preloads it too: a child that enters
  its parent's snapshot then finds the SDK in memory instead of importing it (about 0.1 s a child).

How children deliver their runs is not this module's business: see ``exit`` (``os._exit``, which
multiprocessing children leave through), ``signals`` (``terminate()``) and ``fork``.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Optional

from lsautofix import context, flushing
from lsautofix.patches._wrapping import Patches

_patches = Patches()

_STOWAWAY_KEY = "lsautofix"
_STOWAWAY_SOURCE = (
    "try:\n"
    "    import lsautofix._lifecycle as _lsautofix_lifecycle\n"
    "    _lsautofix_lifecycle.install_in_child()\n"
    "except Exception:\n"
    "    pass\n"
)
_SNAPSHOT_ATTR = "_lsautofix_parent"


class RemoteCall:
    """A picklable callable that runs ``fn`` under the submitter's tracing snapshot."""

    __slots__ = ("snapshot", "fn")

    def __init__(self, snapshot: Optional[dict[str, Any]], fn: Callable[..., Any]) -> None:
        self.snapshot = snapshot
        self.fn = fn

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        try:
            return context.run_remote(self.snapshot, self.fn, *args, **kwargs)
        finally:
            if flushing.behind_main_thread:  # the task traced only in threads: arm SIGTERM now
                flushing.catch_up()

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteCall, (self.snapshot, self.fn))

    def __repr__(self) -> str:
        return f"RemoteCall({self.fn!r})"


class _Stowaway:
    """Pickled into spawn/forkserver preparation data; unpickling it installs lsautofix."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (_STOWAWAY_SOURCE,))


# --- wrappers -------------------------------------------------------------------------------


def _process_start(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if _patches.active and not context.is_infrastructure(instance):
        snapshot = context.capture_remote()
        if snapshot is not None:
            setattr(instance, _SNAPSHOT_ATTR, snapshot)
    return wrapped(*args, **kwargs)


def _process_bootstrap(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """In the child: start from no tracing state (fork copies the starter's), then enter the snapshot."""
    snapshot = instance.__dict__.pop(_SNAPSHOT_ATTR, None)
    if not _patches.active:
        return wrapped(*args, **kwargs)
    context.clear()
    return context.run_remote(snapshot, wrapped, *args, **kwargs)


def _with_snapshot(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Replace the task callable (first argument, or ``func=``) with a context-carrying one."""
    if not _patches.active:
        return wrapped(*args, **kwargs)
    pool = sys.modules.get("multiprocessing.pool")
    local = pool is not None and isinstance(instance, pool.ThreadPool)
    if local:
        captured: Any = context.capture()
    else:
        captured = context.capture_remote()
    if captured is None:
        return wrapped(*args, **kwargs)
    if args:
        fn, args = args[0], args[1:]
    elif "func" in kwargs:
        kwargs = dict(kwargs)
        fn = kwargs.pop("func")
    else:
        return wrapped(*args, **kwargs)
    task = functools.partial(captured, fn) if local else RemoteCall(captured, fn)
    return wrapped(task, *args, **kwargs)


_PRELOAD = "langsmith.run_helpers"


def _forkserver_ensure_running(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Add the SDK to the preload list of a server about to start, if this process has it loaded.

    The server imports its preload modules once, before its first fork (an ``ImportError`` is
    ignored there); the program's own list (``set_forkserver_preload``) is kept, and an empty one
    (the program asked for nothing preloaded) stays empty.
    """
    preload = getattr(instance, "_preload_modules", None)
    if not (_patches.active and _PRELOAD in sys.modules and isinstance(preload, list) and preload):
        return wrapped(*args, **kwargs)
    if _PRELOAD in preload:
        return wrapped(*args, **kwargs)
    # Read only if a server is launched in this call: the first, or a new one after the last died.
    instance._preload_modules = [*preload, _PRELOAD]
    try:
        return wrapped(*args, **kwargs)
    finally:
        if instance._preload_modules == [*preload, _PRELOAD]:
            instance._preload_modules = preload


def _preparation_data(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    data = wrapped(*args, **kwargs)
    if _patches.active and isinstance(data, dict):
        data[_STOWAWAY_KEY] = _Stowaway()
    return data


# --- apply / revert -------------------------------------------------------------------------


def _patch_process(module: Any) -> None:
    _patches.wrap(module.BaseProcess, "start", _process_start)
    _patches.wrap(module.BaseProcess, "_bootstrap", _process_bootstrap)


def _patch_pool(module: Any) -> None:
    for name in ("apply_async", "_map_async", "imap", "imap_unordered"):
        if name in module.Pool.__dict__:
            _patches.wrap(module.Pool, name, _with_snapshot)


def _patch_spawn(module: Any) -> None:
    _patches.wrap(module, "get_preparation_data", _preparation_data)


def _patch_forkserver(module: Any) -> None:
    _patches.wrap(module.ForkServer, "ensure_running", _forkserver_ensure_running)


def _patch_executor(module: Any) -> None:
    _patches.wrap(module.ProcessPoolExecutor, "submit", _with_snapshot)


def apply() -> None:
    """Wrap each multiprocessing module once it is imported."""
    if not _patches.start():
        return
    _patches.when_imported("multiprocessing.process", _patch_process)
    _patches.when_imported("multiprocessing.pool", _patch_pool)
    _patches.when_imported("multiprocessing.spawn", _patch_spawn)
    _patches.when_imported("multiprocessing.forkserver", _patch_forkserver)
    _patches.when_imported("concurrent.futures.process", _patch_executor)


def revert() -> None:
    _patches.unwrap_all()
