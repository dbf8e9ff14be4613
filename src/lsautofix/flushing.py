"""Live clients, bounded flushes, and the exit and fork hooks that call them.

This module and :mod:`lsautofix.context` are the only places that know the SDK's internals:
the ``Client``'s tracing queue, its compressed buffer, the upload threads and their thread pool.
Every hook here catches and logs its own errors: an exit or fork hook must never raise.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Optional

from lsautofix import config

logger = logging.getLogger("lsautofix")

_BACKGROUND_MODULE = "langsmith._internal._background_thread"

_clients: "weakref.WeakSet[Any]" = weakref.WeakSet()
_lock = threading.RLock()  # re-entrant: a signal handler may run while this thread holds it
_hooks_registered = False


#: Called once, on this thread, when the process registers its first client.
on_first_client: list[Callable[[], None]] = []


def register(client: Any) -> None:
    """Remember ``client`` so exit and fork hooks can reach it (weakly: it may still be collected)."""
    with _lock:
        first = not _clients
        _clients.add(client)
    if first:
        for callback in list(on_first_client):
            try:
                callback()
            except Exception:
                logger.debug("lsautofix: first-client callback failed", exc_info=True)


def clients() -> list[Any]:
    with _lock:
        return list(_clients)


def has_clients() -> bool:
    """Cheap check for hot paths: has any client ever been registered (and is still alive)?"""
    return bool(_clients)


def register_known_clients() -> None:
    """Register clients that existed before lsautofix was installed (the SDK's cached ones)."""
    for module_name, attr in (
        ("langsmith.run_trees", "_CLIENT"),
        ("langsmith._internal._context", "_GLOBAL_CLIENT"),
    ):
        module = sys.modules.get(module_name)
        client = getattr(module, attr, None) if module is not None else None
        if client is not None and hasattr(client, "flush"):
            register(client)


def pending(client: Any) -> int:
    """Runs (and other operations) the client holds that the endpoint has not yet accepted.

    The compressed buffer and the sends in flight are read under the buffer's lock: the SDK
    moves a frame from one to the other under it, and between the two it is in neither.
    """
    count = 0
    queue = getattr(client, "tracing_queue", None)
    if queue is not None:
        count += getattr(queue, "unfinished_tasks", 0)
    compressed = getattr(client, "compressed_traces", None)
    lock = getattr(compressed, "lock", None)
    locked = lock is not None and lock.acquire(timeout=1.0)
    try:
        if compressed is not None:
            count += getattr(compressed, "trace_count", 0)
        futures = getattr(client, "_futures", None)
        if futures:
            count += sum(1 for f in list(futures) if not f.done())
    finally:
        if locked:
            lock.release()
    return count


def total_pending(targets: Optional[Iterable[Any]] = None) -> int:
    return sum(pending(c) for c in (clients() if targets is None else targets))


_QUIET_SIGNALS = ("SIGTERM", "SIGINT")


def start_quietly(thread: threading.Thread, start: Optional[Callable[[], Any]] = None) -> Any:
    """Start a background thread with SIGTERM and SIGINT blocked in it.

    Python runs signal handlers in the main thread only, but the kernel may deliver a process
    signal to any thread that does not block it; then a main thread waiting in C (a pool
    worker waiting for its next task) is never interrupted, and its handler never runs.
    ``start`` replaces ``thread.start`` (the patched ``Thread.start`` passes the original).
    """
    import signal

    begin = thread.start if start is None else start
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        return begin()
    previous = mask(signal.SIG_BLOCK, {getattr(signal, name) for name in _QUIET_SIGNALS})
    try:
        return begin()
    finally:
        mask(signal.SIG_SETMASK, previous)


def shutting_down() -> bool:
    """Whether the interpreter is past the point where it accepts new threads."""
    return sys.is_finalizing() or bool(getattr(threading, "_SHUTTING_DOWN", False)) or not threading.main_thread().is_alive()


class _Deadline(Exception):
    pass


def _bounded_inline(client: Any, timeout: float) -> None:
    """Flush on this thread when no thread can be started (3.12+ at exit).

    In the main thread the wait is bounded with a SIGALRM timer, saved and restored around it:
    a synchronous send to a hanging endpoint must not hold exit open.
    """
    import signal

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        _flush_quietly(client, timeout)
        return

    def expire(signum: int, frame: Any) -> None:
        raise _Deadline()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
    try:
        _flush_quietly(client, timeout)
    except _Deadline:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _flush_quietly(client: Any, timeout: float) -> None:
    try:
        client.flush(timeout=timeout)
    except Exception:
        logger.debug("lsautofix: client.flush raised", exc_info=True)


def flush(timeout: Optional[float] = None, *, reason: str = "flush") -> int:
    """Flush every live client, waiting at most ``timeout`` seconds in all.

    Returns how many operations were still unsent when it gave up (0 when all were delivered).
    The SDK's own ``flush`` can block in a synchronous send, so each runs on a daemon thread that
    is abandoned, never waited for beyond the deadline.
    """
    if timeout is None:
        timeout = config.settings().flush_timeout
    targets = [c for c in clients() if pending(c)]
    if not targets:
        return 0
    return _flush(targets, timeout, reason)


def _flush(targets: list[Any], timeout: float, reason: str) -> int:
    deadline = time.monotonic() + timeout
    workers = []
    for client in targets:
        worker = threading.Thread(
            target=_flush_quietly, args=(client, timeout), name="lsautofix-flush", daemon=True
        )
        try:
            start_quietly(worker)
        except RuntimeError:  # no new threads at this stage of shutdown: flush here, bounded
            _bounded_inline(client, max(0.0, deadline - time.monotonic()))
            continue
        workers.append(worker)
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    dropped = total_pending(targets)
    if dropped:
        _report_dropped(dropped, timeout, reason)
    return dropped


def _report_dropped(dropped: int, timeout: float, reason: str) -> None:
    message = (
        f"lsautofix: {dropped} LangSmith run operation(s) not delivered after waiting "
        f"{timeout:g}s at {reason} (pid {os.getpid()}); the endpoint is slow or unreachable. "
        f"Raise {config.TIMEOUT_VAR} to wait longer.\n"
    )
    try:
        sys.stderr.write(message)
        sys.stderr.flush()
    except Exception:  # stderr may be closed at exit
        pass


def at_exit(reason: str = "exit", *, abrupt: bool = False, timeout: Optional[float] = None) -> None:
    """The process is leaving: report unfinished evaluations, then flush, bounded by the timeout.

    ``abrupt`` (``os._exit``, SIGTERM): no non-daemon thread will be joined after this.
    """
    evaluation = sys.modules.get("lsautofix.patches.evaluation")
    if evaluation is not None and evaluation.is_applied():
        try:
            evaluation.check_unfinished(f"left unfinished at {reason}", abrupt=abrupt)
        except Exception:
            logger.debug("lsautofix: evaluation check failed", exc_info=True)
    try:
        flush(timeout, reason=reason)
    except Exception:
        logger.debug("lsautofix: exit flush failed", exc_info=True)


def is_upload_thread(thread: threading.Thread) -> bool:
    """Whether ``thread`` is one of the SDK's upload threads (they are made daemon threads)."""
    target = getattr(thread, "_target", None)
    return target is not None and getattr(target, "__module__", None) == _BACKGROUND_MODULE


# --- fork -----------------------------------------------------------------------------------


#: Objects a fork child inherited and replaced. Never released: destroying them could run code
#: that waits on a lock some parent thread held at the moment of the fork.
_inherited: list[Any] = []


def _reset_client_after_fork(client: Any) -> None:
    """Give a client inherited through fork an empty queue and a live upload thread.

    What the parent had queued stays the parent's to send; the child starts clean, so nothing is
    sent twice. No lock the parent's threads may have held is touched: the objects that own them
    are replaced (and kept, unused), and connections are never shared with the parent.
    """
    import queue as queue_module

    from langsmith._internal import _background_thread as bg

    old_queue = getattr(client, "tracing_queue", None)
    fresh = {  # attributes differ across SDK versions: reset the ones this client has
        "_run_ops_buffer": list,
        "_run_ops_buffer_lock": threading.Lock,
        "_futures": weakref.WeakSet,
        "_futures_lock": threading.Lock,
        "compressed_traces": lambda: None,
        "_data_available_event": lambda: None,
    }
    for name, make in fresh.items():
        if hasattr(client, name):
            _inherited.append(getattr(client, name))
            setattr(client, name, make())
    session = getattr(client, "session", None)
    for adapter in list(getattr(session, "adapters", {}).values()):
        if hasattr(adapter, "init_poolmanager") and hasattr(adapter, "_pool_connections"):
            _inherited.append(adapter.poolmanager)
            adapter.init_poolmanager(adapter._pool_connections, adapter._pool_maxsize, block=adapter._pool_block)
    cookie_lock = getattr(getattr(session, "cookies", None), "_cookies_lock", None)
    if hasattr(cookie_lock, "_at_fork_reinit"):
        cookie_lock._at_fork_reinit()
    if old_queue is None:
        return
    client.tracing_queue = queue_module.PriorityQueue(maxsize=old_queue.maxsize)
    start_quietly(
        threading.Thread(target=bg.tracing_control_thread_func, args=(weakref.ref(client),), daemon=True)
    )


def _after_fork_in_child() -> None:
    try:
        bg = sys.modules.get(_BACKGROUND_MODULE)
        if bg is None:
            return
        pool = getattr(bg, "LANGSMITH_CLIENT_THREAD_POOL", None)
        if pool is not None:
            from concurrent.futures import ThreadPoolExecutor

            _inherited.append(pool)
            bg.LANGSMITH_CLIENT_THREAD_POOL = ThreadPoolExecutor(max_workers=pool._max_workers)
        for client in clients():
            try:
                _reset_client_after_fork(client)
            except Exception:
                logger.debug("lsautofix: could not reset a client after fork", exc_info=True)
    except Exception:
        logger.debug("lsautofix: after-fork hook failed", exc_info=True)


def register_hooks() -> None:
    """Install the exit and fork hooks once per process (they survive uninstall, as no-ops)."""
    global _hooks_registered
    with _lock:
        if _hooks_registered:
            return
        _hooks_registered = True
    register_at_exit = getattr(threading, "_register_atexit", None)
    try:
        if register_at_exit is None:
            raise RuntimeError("threading._register_atexit is missing")
        # Runs in threading._shutdown, before non-daemon threads are joined: in the main program
        # and in every multiprocessing child (BaseProcess._bootstrap calls it too).
        register_at_exit(at_exit)
    except RuntimeError:
        import atexit

        atexit.register(at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


# --- the client registry patch ----------------------------------------------------------------


def _client_init(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    register(instance)
    return result


def _patch_client_module(module: Any) -> None:
    _sdk_patches.wrap(module.Client, "__init__", _client_init)
    register_known_clients()


def apply() -> None:
    """Register every ``langsmith.Client`` created from now on (and the SDK's cached one)."""
    if not _sdk_patches.start():
        return
    _sdk_patches.when_imported("langsmith.client", _patch_client_module)


def revert() -> None:
    _sdk_patches.unwrap_all()


from lsautofix.patches._wrapping import Patches  # noqa: E402  (after the module's own names)

_sdk_patches = Patches()
