"""Processes: the parent run follows work into child processes, and every child flushes.

- ``BaseProcess.start`` records a picklable snapshot of the tracing context on the process
  object; ``BaseProcess._bootstrap`` (run in the child under fork, spawn and forkserver) enters it.
- ``Pool`` task methods and ``ProcessPoolExecutor.submit`` send ``RemoteCall(snapshot, fn)``: each
  task takes the context of its own submit, not that of the worker's start.
- ``multiprocessing.spawn.get_preparation_data`` carries a stowaway whose unpickling installs
  lsautofix in spawn and forkserver children before anything else runs there (coverage.py's trick).
- Pool workers flush on ``SIGTERM`` (``Pool.terminate()`` and the ``with Pool()`` block), and
  ``os._exit`` flushes first, bounded by the flush timeout.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional

from lsautofix import config, context, flushing as flush
from lsautofix.patches._wrapping import Patches

_patches = Patches()

_STOWAWAY_KEY = "lsautofix"
_STOWAWAY_SOURCE = (
    "try:\n"
    "    import lsautofix._install as _lsautofix_install\n"
    "    _lsautofix_install.install_in_child()\n"
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

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return context.run_remote(self.snapshot, self.fn, *args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteCall, (self.snapshot, self.fn))

    def __repr__(self) -> str:
        return f"RemoteCall({self.fn!r})"


class _Stowaway:
    """Pickled into spawn/forkserver preparation data; unpickling it installs lsautofix."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (_STOWAWAY_SOURCE,))


def _worker_targets() -> tuple[Any, ...]:
    """Pool and executor worker loops: their tasks carry their own context."""
    targets = []
    pool = sys.modules.get("multiprocessing.pool")
    if pool is not None:
        targets.append(getattr(pool, "worker", None))
    executor = sys.modules.get("concurrent.futures.process")
    if executor is not None:
        targets.append(getattr(executor, "_process_worker", None))
    return tuple(t for t in targets if t is not None)


# --- wrappers -------------------------------------------------------------------------------


def _process_start(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if _patches.active and getattr(instance, "_target", None) not in _worker_targets():
        snapshot = context.capture_remote()
        if snapshot is not None:
            setattr(instance, _SNAPSHOT_ATTR, snapshot)
    return wrapped(*args, **kwargs)


def _process_bootstrap(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    snapshot = instance.__dict__.pop(_SNAPSHOT_ATTR, None)
    if not _patches.active:
        return wrapped(*args, **kwargs)
    pool = sys.modules.get("multiprocessing.pool")
    if pool is not None and getattr(instance, "_target", None) is getattr(pool, "worker", None):
        _prepare_pool_worker(instance)
    return context.run_remote(snapshot, wrapped, *args, **kwargs)


def _prepare_pool_worker(process: Any) -> None:
    """A Pool worker must not hold unsent runs while it waits, since terminate() may come next.

    It flushes whenever it is about to wait for a task (the task queue is empty). Once it has a
    client (it traces), it also catches SIGTERM to flush (bounded) and then die of SIGTERM as
    before; a worker that never traces keeps the default SIGTERM, exactly as without lsautofix.
    """
    args = getattr(process, "_args", ())
    inqueue = args[0] if args else None
    get = getattr(inqueue, "get", None)
    poll = getattr(inqueue, "_poll", None)
    if get is None or poll is None:
        return

    def get_after_flushing_when_idle() -> Any:
        if not flush.has_clients():
            return get()
        if not poll() and flush.total_pending():
            flush.flush(reason="an idle pool worker")
        if _sigterm_caught:
            return _get_in_slices(inqueue, get)
        return get()

    inqueue.get = get_after_flushing_when_idle
    if flush.has_clients():  # inherited through fork from a parent that traces
        _catch_sigterm()
    else:  # as soon as this worker creates a client (in its main thread, during a task)
        flush.on_first_client.append(_catch_sigterm)


_SLICE = 0.1  # seconds


def _get_in_slices(inqueue: Any, get: Callable[[], Any]) -> Any:
    """``SimpleQueue.get`` (the same on 3.10-3.13), waiting in short slices.

    A Python signal handler runs between two bytecodes. A SIGTERM that lands after the last one
    and before the worker blocks in ``sem_wait`` or ``read`` is never handled: the worker waits
    for a task that never comes and its parent, in ``terminate()``, waits for it (seen: 1 run of
    ``user_faults.py`` in 17 hung). Waking every slice lets the handler run.
    """
    rlock, reader = getattr(inqueue, "_rlock", None), getattr(inqueue, "_reader", None)
    if rlock is None or reader is None:
        return get()
    from multiprocessing.reduction import ForkingPickler

    while not rlock.acquire(timeout=_SLICE):
        pass
    try:
        while not reader.poll(_SLICE):
            pass
        data = reader.recv_bytes()
    finally:
        rlock.release()
    return ForkingPickler.loads(data)


_sigterm_caught = False


def _catch_sigterm() -> None:
    global _sigterm_caught
    if _sigterm_caught:
        return
    _sigterm_caught = True
    try:
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _sigterm_handler)
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


#: Code that may hold a lock the flush needs (the SDK's queue and buffer, its HTTP pools, logging).
_HOLDERS = ("langsmith", "lsautofix.flushing", "queue", "logging", "concurrent.futures", "urllib3", "requests")
_terminating = False
_main_stopped = threading.Event()
_STOP_WAIT = 1.0  # seconds the flush waits for the main thread to leave the SDK


def _sigterm_handler(signum: int, frame: Any) -> None:
    """Flush (bounded) on a thread, then die of SIGTERM as the default action would have.

    The handler runs between two bytecodes of the main thread, possibly inside the SDK while it
    holds the lock of its queue or of its compressed buffer: a flush run here would wait for that
    lock until the timeout and drop the runs (measured: 5 busy terminates in 10 lost runs). So the
    flush runs on a thread of its own. If the main thread was stopped in the user's code or waiting
    for a task, it stays stopped until the runs are out, as the default action would stop it; if it
    was inside code that may hold such a lock, it goes on until it leaves that code (and lets go of
    the lock), and stops there: it runs none of the user's code after the signal. The flush starts
    once the main thread has stopped (at most :data:`_STOP_WAIT` later), so a run the SDK was
    still enqueueing is in it.
    """
    global _terminating
    if _terminating:
        return
    _terminating = True
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    finisher = threading.Thread(target=_flush_then_die, args=(signum,), name="lsautofix-sigterm", daemon=True)
    try:
        flush.start_quietly(finisher)
    except RuntimeError:  # no new thread possible: flush here, bounded as ever
        _flush_then_die(signum, wait=False)
        return
    if not _may_hold_locks(frame):
        _main_stopped.set()
        finisher.join()
        return

    def stop_when_clear(frame: Any, event: str, arg: Any) -> None:
        if not _may_hold_locks(frame):
            sys.setprofile(None)
            _main_stopped.set()
            finisher.join()

    sys.setprofile(stop_when_clear)  # this thread only: stop at its first call or return outside


def _flush_then_die(signum: int, wait: bool = True) -> None:
    try:
        timeout = config.settings().flush_timeout
        if wait:
            started = time.monotonic()
            _main_stopped.wait(min(_STOP_WAIT, timeout))
            timeout = max(0.0, timeout - (time.monotonic() - started))
        flush.at_exit("SIGTERM", abrupt=True, timeout=timeout)
    finally:
        os.kill(os.getpid(), signum)  # the handler restored the default action


def _may_hold_locks(frame: Any) -> bool:
    """Whether the interrupted main thread is in code of :data:`_HOLDERS`.

    Walks outwards from the innermost frame over the standard library and lsautofix's own frames;
    the first other frame decides: one of the holders (yes) or the user's code (no: the SDK holds
    no lock while it runs the user's function).
    """
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if any(name == h or name.startswith(h + ".") for h in _HOLDERS):
            return True
        top = name.partition(".")[0]
        if top not in stdlib and top != "lsautofix":
            return False
        frame = frame.f_back
    return False


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
    task = functools.partial(captured.run, fn) if local else RemoteCall(captured, fn)
    return wrapped(task, *args, **kwargs)


def _preparation_data(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    data = wrapped(*args, **kwargs)
    if _patches.active and isinstance(data, dict):
        data[_STOWAWAY_KEY] = _Stowaway()
    return data


def _os_exit(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if _patches.active:
        flush.at_exit("os._exit", abrupt=True)
    return wrapped(*args, **kwargs)


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


def _patch_executor(module: Any) -> None:
    _patches.wrap(module.ProcessPoolExecutor, "submit", _with_snapshot)


def apply() -> None:
    """Wrap ``os._exit`` now and each multiprocessing module once it is imported."""
    if not _patches.start():
        return
    _patches.wrap(os, "_exit", _os_exit)
    _patches.when_imported("multiprocessing.process", _patch_process)
    _patches.when_imported("multiprocessing.pool", _patch_pool)
    _patches.when_imported("multiprocessing.spawn", _patch_spawn)
    _patches.when_imported("concurrent.futures.process", _patch_executor)


def revert() -> None:
    _patches.unwrap_all()
