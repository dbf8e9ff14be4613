"""Live clients and the bounded flush; nothing else.

Every ``langsmith.Client`` made after install registers here (weakly), with the SDK's cached ones.
:func:`flush` sends what they hold, each on a daemon thread of its own that is abandoned at the
deadline, and says on stderr how many operations it could not deliver and why. Who calls it and
when (exit, ``os._exit``, SIGTERM, the public ``lsautofix.flush()``) is the business of the patch
modules; every caller's hook catches its own errors.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Optional

from lsautofix import _sdk, config

logger = logging.getLogger("lsautofix")

_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.RLock()  # re-entrant: a signal handler may run while this thread holds it
_tracing_pid: Optional[int] = None
_exiting_pid: Optional[int] = None  # the process in which an exit flush began (not its fork children)

#: Called once per process, on the thread that first traces in it (its first client, or in a
#: fork child its first run): hooks that need a process that traces, such as ``signals.arm``.
on_tracing: list[Callable[[], None]] = []


def register(client: Any) -> None:
    """Remember ``client`` so the flushes can reach it (weakly: it may still be collected)."""
    with _lock:
        _clients.add(client)
    tracing_started()


#: The hooks first ran on a thread other than the main one, where ``signals.arm`` can do nothing.
behind_main_thread = False


def tracing_started() -> None:
    """This process traces: run the :data:`on_tracing` hooks, once per process."""
    global _tracing_pid, behind_main_thread
    pid = os.getpid()
    with _lock:
        if _tracing_pid == pid:
            return
        _tracing_pid = pid
        behind_main_thread = threading.current_thread() is not threading.main_thread()
    _run_hooks()


def catch_up() -> None:
    """On the main thread of a process whose tracing began on another thread: run the hooks again.

    Each hook does nothing twice. A pool worker whose task traced only in threads it started
    calls this when the task returns, so that ``terminate()`` (SIGTERM) finds the process armed
    and its queued runs are delivered instead of dying with it.
    """
    global behind_main_thread
    if _tracing_pid != os.getpid() or threading.current_thread() is not threading.main_thread():
        return
    behind_main_thread = False
    _run_hooks()


def _run_hooks() -> None:
    for callback in list(on_tracing):
        try:
            callback()
        except Exception:
            logger.debug("lsautofix: a tracing-started hook failed", exc_info=True)


def clients() -> list[Any]:
    with _lock:
        return list(_clients)


def has_clients() -> bool:
    return bool(_clients)


def total_pending(targets: Optional[Iterable[Any]] = None) -> int:
    """Operations not yet accepted by the endpoint, over ``targets`` (default: every client)."""
    return sum(_sdk.pending(c) for c in (clients() if targets is None else targets))


_QUIET_SIGNALS = ("SIGTERM", "SIGINT")


def green_threads() -> bool:
    """Whether gevent or eventlet has monkey-patched ``threading``: a new thread is a greenlet then.

    A greenlet that blocks in a system call (the SIGTERM watcher's read of its pipe) stops every
    greenlet of the process, the main program included. Asked through each library's own API,
    only when it is already imported.
    """
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None:
        try:
            if gevent_monkey.is_module_patched("threading"):
                return True
        except Exception:  # pragma: no cover - a gevent without the API
            pass
    return eventlet_threads()


def eventlet_threads() -> bool:
    """Whether eventlet has monkey-patched ``threading``. The SDK's own ``Client.flush()`` fails
    there (eventlet's green ``PriorityQueue`` has no ``all_tasks_done``), so an exit flush cannot
    stand in for the upload thread's own last drain."""
    eventlet_patcher = sys.modules.get("eventlet.patcher")
    if eventlet_patcher is not None:
        try:
            return bool(eventlet_patcher.is_monkey_patched("thread"))
        except Exception:  # pragma: no cover
            pass
    return False


def start_quietly(thread: threading.Thread) -> None:
    """Start one of lsautofix's threads with SIGTERM and SIGINT blocked in it.

    The kernel may deliver a process signal to any thread that does not block it; lsautofix's own
    threads leave signals to the threads of the program.
    """
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        thread.start()
        return
    previous = mask(signal.SIG_BLOCK, {getattr(signal, name) for name in _QUIET_SIGNALS})
    try:
        thread.start()
    finally:
        mask(signal.SIG_SETMASK, previous)


class _Deadline(BaseException):
    """Raised by the timer of an inline drain: a BaseException, so the SDK's retry loops
    (``except Exception``) let it through instead of sending again."""


def _drain_quietly(client: Any, timeout: float) -> None:
    try:
        _sdk.drain(client, timeout)
    except _Deadline:
        raise
    except Exception:
        logger.debug("lsautofix: draining a client failed", exc_info=True)


def _drain_inline(client: Any, timeout: float) -> int:
    """Drain on this thread when no thread can be started (Python 3.12 refuses them at ``atexit``).

    In the main thread the wait is bounded with a SIGALRM timer, saved and restored around it: a
    send to a hanging endpoint must not hold exit open. Past the deadline the timer fires every
    50 ms: the SDK catches even BaseException in places (its /info fetch), so one interruption may
    be swallowed and the next send would hang again.
    """
    import signal

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        _drain_quietly(client, timeout)
        return 0
    held = _sdk.pending(client)
    armed = [True]

    def expire(signum: int, frame: Any) -> None:
        if armed[0]:
            raise _Deadline()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001), 0.05)
    try:
        _drain_quietly(client, timeout)
        held = 0
    except _Deadline:
        pass
    finally:
        while True:  # a tick may land anywhere before it is disarmed, even here
            try:
                armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except _Deadline:
                continue
    return held


def _drain_all(targets: list[Any], deadline: float) -> tuple[bool, int]:
    """Drain every target in parallel until ``deadline``.

    Returns whether every drain finished in time, and how many operations the inline drains
    that were cut short held (see :func:`_drain_inline`).
    """
    workers, cut_short = [], 0
    for client in targets:
        remaining = max(0.0, deadline - time.monotonic())
        worker = threading.Thread(
            target=_drain_quietly, args=(client, remaining), name="lsautofix-flush", daemon=True
        )
        try:
            start_quietly(worker)
        except RuntimeError:  # no new threads at this stage of shutdown
            cut_short += _drain_inline(client, remaining)
            continue
        workers.append(worker)
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    finished = not cut_short and not any(w.is_alive() for w in workers) and time.monotonic() < deadline
    return finished, cut_short


def flush(timeout: Optional[float] = None, *, reason: str = "flush") -> int:
    """Send what every live client holds, waiting at most ``timeout`` seconds in all.

    Returns how many operations were still unsent when it stopped (0: everything was delivered).
    What other threads add while it runs is sent in a second pass, within the same deadline.
    """
    if timeout is None:
        timeout = config.settings().flush_timeout
    deadline = time.monotonic() + timeout
    if not threading.main_thread().is_alive():
        # Exit: the SDK's upload threads stop once the main thread has, after a last send of
        # what they hold, which no count sees (the frame is out of the buffer, sent without a
        # tracked future once the send pool is shut down). Let them finish first.
        for thread in _sdk.upload_threads():
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
    targets = [c for c in clients() if _sdk.pending(c)]
    if not targets:
        return 0
    finished, cut_short = _drain_all(targets, deadline)
    if finished:
        again = [c for c in targets if _sdk.pending(c)]
        if again:
            finished, cut_short = _drain_all(again, deadline)
    dropped = max(total_pending(targets), cut_short)
    if dropped:
        _report_dropped(dropped, timeout, reason, timed_out=not finished, at_most=bool(cut_short))
    return dropped


def _report_dropped(dropped: int, timeout: float, reason: str, *, timed_out: bool, at_most: bool = False) -> None:
    count = f"up to {dropped}" if at_most else str(dropped)
    if timed_out:
        why = (
            f"not delivered after waiting {timeout:g}s at {reason} (pid {os.getpid()}); the endpoint is slow or "
            f"unreachable. Raise {config.TIMEOUT_VAR} to wait longer."
        )
    else:
        why = f"created by threads still running at {reason} (pid {os.getpid()}), after the last flush, not sent."
    try:
        sys.stderr.write(f"lsautofix: {count} LangSmith run operation(s) {why}\n")
        sys.stderr.flush()
    except Exception:  # stderr may be closed at exit
        pass


def leaving() -> bool:
    """Whether this process has begun to leave: interpreter shutdown, or an exit flush under way."""
    return _exiting_pid == os.getpid() or getattr(threading, "_SHUTTING_DOWN", False) or not threading.main_thread().is_alive()


def wait_for_sends(deadline: float) -> None:
    """Wait, until ``deadline``, for the SDK's upload threads to finish the sends they are in."""
    while time.monotonic() < deadline and _sdk.upload_threads_sending():
        time.sleep(0.005)


def at_exit(reason: str = "exit", *, abrupt: bool = False, timeout: Optional[float] = None) -> None:
    """The process is leaving: report unfinished evaluations, then flush, bounded. Never raises.

    ``abrupt`` (``os._exit``, SIGTERM): no non-daemon thread will be joined after this.
    """
    global _exiting_pid
    _exiting_pid = os.getpid()
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


# --- the client registry patch ----------------------------------------------------------------


def _client_init(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    register(instance)
    return result


def _patch_client_module(module: Any) -> None:
    _sdk_patches.wrap(module.Client, "__init__", _client_init)
    for client in _sdk.known_clients():
        register(client)


def apply() -> None:
    """Register every ``langsmith.Client`` created from now on (and the SDK's cached one)."""
    if not _sdk_patches.start():
        return
    _sdk_patches.when_imported("langsmith.client", _patch_client_module)


def revert() -> None:
    _sdk_patches.unwrap_all()


from lsautofix.patches._wrapping import Patches  # noqa: E402  (after the module's own names)

_sdk_patches = Patches()
