"""SIGTERM: a process that traces delivers its queued runs, then dies of SIGTERM as it would have.

SIGTERM's default action ends a process at once, and every run still queued is lost: ``docker
stop``, a Kubernetes pod stop, systemd, ``Pool.terminate()`` (and so the end of ``with Pool()``).
Once a process traces (its first client, made on its main thread) and SIGTERM still has its
default action, lsautofix takes it, in two layers:

- a Python handler, which holds the main thread where the signal found it, so none of the
  program's code runs after the signal (as with the default action). Inside code that may hold a
  lock the flush needs (the SDK's queue, its HTTP pool, logging, an import), it lets the thread
  go on to its first step outside that code and holds it there;
- the interpreter's own signal wakeup fd (``signal.set_wakeup_fd``), pointed at a pipe: CPython's
  C-level handler, run by the kernel on whichever thread it gives the signal to, writes the signal
  number there, which wakes lsautofix's watcher thread. A Python handler runs only between two
  bytecodes of the main thread; while the main thread is in a long C call (a numpy or model call,
  ``sum(range(10**9))``) or waits on a lock, only the pipe wakes the watcher. A program that sets
  its own wakeup fd (asyncio's ``add_signal_handler``, trio) gets it, and sees the value it would
  have seen without lsautofix; lsautofix takes the slot back when the program gives it up.

Whichever runs first restores the default action; the watcher (started when the process
armed, so nothing needs starting at the signal) flushes, bounded by ``LANGSMITH_AUTOFIX_FLUSH_TIMEOUT``,
and raises SIGTERM again: the exit status is the one the default action gives. The held main
thread ends the process itself a second after the timeout, whatever the flush is doing. With nothing
queued it dies at once, unless it was already leaving (a pool worker that got its sentinel): then
it first waits for the upload threads' last sends, which no count sees. A second SIGTERM kills at once. A handler the program installs replaces all of this; a process that never
traces keeps the default, and so does a program whose threads gevent or eventlet has made green
(the watcher must be a real thread). Fork children start with the default again and arm when they
trace.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Optional

from lsautofix import _forksafe, config, flushing
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()
_SIGNAL = signal.SIGTERM
#: Code that may hold a lock the flush needs (the SDK's queue and buffer, its HTTP pools, logging,
#: lsautofix's client registry). lsautofix's other frames are passed over like the standard
#: library's: a pool worker's whole life runs inside lsautofix's bootstrap wrapper. The import
#: system counts wherever it is on the stack (see :func:`_may_hold_locks`).
_HOLDERS = ("langsmith", "lsautofix.flushing", "lsautofix._sdk", "queue", "logging", "concurrent.futures", "urllib3",
            "requests", "http.client")  # fmt: skip
_WAKE = b"\0"  # what the handler writes to the pipe
_STOP_WAIT = 0.1  # seconds the flush waits for the main thread to stop before it starts anyway

#: The watcher's name in the kernel (15 characters at most): a parent that terminates this
#: process reads it from /proc to know that lsautofix took SIGTERM here.
_WATCHER_NAME = "lsautofix-sigtm"
_ESCALATE_AFTER = 0.2  # seconds a terminated child may stay unresponsive before it is looked at
_ESCALATE_SAMPLE = 0.15  # seconds between the two looks at its main thread
_ESCALATE_LOST = 2.0  # seconds after which a child that never answered SIGTERM is killed anyway

_armed_pid: Optional[int] = None
_pipe: Optional[tuple[int, int]] = None
_state_lock = threading.Lock()
_terminating = False
#: Whether the interpreter's wakeup fd is this process's pipe (see :func:`_take_wakeup_fd`); False
#: while the program has set its own.
_wakeup_ours = False
_original_set_wakeup_fd: Any = signal.set_wakeup_fd
_main_stopped = threading.Event()


def arm() -> None:
    """Take SIGTERM in this process, if it still has the default action and this is the main thread."""
    global _armed_pid, _pipe
    if not _patches.active or _armed_pid == os.getpid():
        return
    if threading.current_thread() is not threading.main_thread():
        return  # signal.signal() works only there; this process keeps the default action
    if flushing.green_threads():
        # The watcher would be a greenlet, and its blocking read would stop the whole process
        # (the program never ends). Green programs keep SIGTERM's default action.
        return
    try:
        if signal.getsignal(_SIGNAL) is not signal.SIG_DFL:
            return  # the program handles SIGTERM itself
        read_end, write_end = os.pipe()
    except (ValueError, OSError, AttributeError):
        return
    os.set_blocking(write_end, False)  # a full pipe must never block a signal handler
    # Both are set before the handler is: a SIGTERM that comes at once must find the pipe to write.
    _pipe, _armed_pid = (read_end, write_end), os.getpid()
    try:
        signal.signal(_SIGNAL, _handler)
    except (ValueError, OSError):
        _disarm(close=True)
        _armed_pid = None
        return
    _take_wakeup_fd()
    # ctypes is imported here, on the main thread, not by the watcher: a fork made while the watcher
    # was importing it left ctypes' module lock held for ever in the child.
    _libc_signal()
    watcher = threading.Thread(target=_watch, args=(read_end,), name="lsautofix-sigterm", daemon=True)
    flushing.start_quietly(watcher)


def _watch(read_end: int) -> None:
    """The thread that flushes when SIGTERM comes: woken through the wakeup fd, or by the handler.

    It exists before the signal, so nothing has to be started then (Python 3.12 refuses new
    threads once ``threading._shutdown`` began, where a pool worker that got its sentinel may be).
    """
    _name_os_thread(_WATCHER_NAME)
    while True:
        try:
            data = os.read(read_end, 65536)
        except OSError:
            return
        if not data or os.getpid() != _armed_pid:
            return  # disarmed (the pipe was closed), or a fork child's copy
        # The wakeup fd carries the number of every signal that has a Python handler (SIGINT's
        # too), and SIGTERM's also once the program has installed its own handler (gunicorn's
        # master stops its workers gracefully in it); the handler writes a zero byte.
        if _WAKE not in data and (int(_SIGNAL) not in data or signal.getsignal(_SIGNAL) is not _handler):
            continue
        _begin()  # if the handler has not already: it may run only later, or never (a C call)
        _flush_then_die()  # the watcher is the one that flushes, whoever saw the signal first
        return


def _handler(signum: int, frame: Any) -> None:
    """The Python-level handler, on the main thread: wake the watcher and hold this thread."""
    if not _patches.active or os.getpid() != _armed_pid:
        _die()  # behave as the default action would
    if _begin() and _pipe is not None:
        try:
            os.write(_pipe[1], _WAKE)  # the wakeup fd may be the program's now: the watcher flushes
        except OSError:
            pass
    if not _may_hold_locks(frame):
        _hold_main_thread()
        return

    def hold_when_clear(frame: Any, event: str, arg: Any) -> None:
        if not _may_hold_locks(frame):
            sys.setprofile(None)
            _hold_main_thread()

    sys.setprofile(hold_when_clear)  # this thread only: its first call or return outside the holders


def _hold_main_thread() -> None:
    """Stop here until the flush has ended the process, as the default action would have ended it.

    The main thread is also the flush's watchdog: past the flush timeout (and a second), it ends
    the process itself, whatever the flush is doing.
    """
    _main_stopped.set()
    deadline = time.monotonic() + config.settings().flush_timeout + 1.0
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(remaining, 1.0))
    _die()


def _begin() -> bool:
    """Once per process: the first sign of SIGTERM. Restores the default action (a second SIGTERM
    ends the process at once); False if it had already begun."""
    global _terminating
    with _state_lock:
        if _terminating:
            return False
        _terminating = True
    _set_default()
    return True


def _flush_then_die() -> None:
    try:
        # A process already leaving (a pool worker that got its sentinel as ``terminate()`` came)
        # may have an upload thread's last send in flight, which no count sees: the flush waits
        # for it too. Otherwise, with nothing queued, the process dies at once.
        leaving = flushing.leaving()
        if leaving or flushing.total_pending():
            timeout = config.settings().flush_timeout
            deadline = time.monotonic() + timeout
            if leaving:
                flushing.wait_for_sends(deadline)
            else:
                _main_stopped.wait(min(_STOP_WAIT, timeout))  # a run the main thread was enqueueing is in
            flushing.at_exit("SIGTERM", abrupt=True, timeout=max(0.0, deadline - time.monotonic()))
    finally:
        _die()


def _set_default() -> None:
    """SIGTERM's default action again. ``signal.signal`` is refused outside the main thread; libc's is not."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(_SIGNAL, signal.SIG_DFL)
        return
    libc_signal = _libc_signal()
    if libc_signal is None:  # pragma: no cover - no ctypes: the flush still runs; death comes by SIGKILL
        logger.debug("lsautofix: cannot restore SIGTERM's default action from this thread")
        return
    libc_signal(int(_SIGNAL), 0)  # 0 is SIG_DFL


_libc_signal_fn: Any = None


def _libc_signal() -> Any:
    """libc's ``signal()``, resolved once (by :func:`arm`, before the signal: then an import could
    wait for ever on a lock the held main thread has), or None without ctypes."""
    global _libc_signal_fn
    if _libc_signal_fn is None:
        try:
            import ctypes

            fn = ctypes.CDLL(None, use_errno=True).signal
            fn.restype = ctypes.c_void_p
            fn.argtypes = (ctypes.c_int, ctypes.c_void_p)
            _libc_signal_fn = fn
        except Exception:
            logger.debug("lsautofix: no ctypes for libc's signal()", exc_info=True)
    return _libc_signal_fn


def _die() -> None:
    """Raise SIGTERM with its default action: the process ends as if it had never been handled."""
    _set_default()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {_SIGNAL})
    signal.pthread_kill(threading.get_ident(), _SIGNAL)
    time.sleep(1.0)  # pragma: no cover - the signal ends the process before this returns
    os.kill(os.getpid(), signal.SIGKILL)  # pragma: no cover


def _may_hold_locks(frame: Any) -> bool:
    """Whether the interrupted main thread is in code of :data:`_HOLDERS`, or inside an import.

    Walks outwards from the innermost frame over the standard library's frames and lsautofix's
    own; the first other frame decides: one of the holders (yes) or the user's code (no: the SDK
    holds no lock while it runs the user's function). An import decides from any depth: the
    import system holds the global import lock around every finder's ``find_spec`` (a finder's
    frames are not the standard library's: wrapt's post-import hooks) and the module's lock while
    its body runs, and a flush that imports anything would wait on them for ever.
    """
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    decided = None
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name.startswith("importlib.") or name == "importlib":
            return True
        if decided is None:
            if any(name == h or name.startswith(h + ".") for h in _HOLDERS):
                return True
            top = name.partition(".")[0]
            if top not in stdlib and top != "lsautofix":
                decided = False
        frame = frame.f_back
    return bool(decided)


def _name_os_thread(name: str) -> None:
    """Name this thread in the kernel (Linux), where ``ps -L`` and a parent reading /proc see it."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(name)
    except OSError:
        pass


# --- the parent: a terminated child that cannot answer ------------------------------------------
#
# A child whose main thread is in a C call that holds the GIL (``sum(range(10**9))``) runs no
# Python at all, in any thread, until the call returns: neither the handler nor the watcher can
# flush, and SIGTERM stays caught. Plain Python's default action would have ended it at once, so
# ``Process.terminate()`` (and ``Pool.terminate()``, ``with Pool()``) checks such a child after
# :data:`_ESCALATE_AFTER` and, if lsautofix's watcher is there, SIGTERM still caught and its main
# thread running on a CPU all along, kills it with SIGKILL: what it held is lost, as without
# lsautofix, and its exit code is -9, not -15. A child that still has not answered after
# :data:`_ESCALATE_LOST` is killed the same way: a lost run is better than ``terminate()`` waiting
# for ever on a watcher that cannot wake for a reason not foreseen here. One that answered has
# SIGTERM's default action again (its watcher is flushing) and is left alone, however long that takes.


def _has_watcher(pid: int) -> bool:
    """Whether lsautofix took SIGTERM in ``pid`` (its watcher thread is named in /proc; Linux)."""
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/comm") as comm:
                if comm.read().strip() == _WATCHER_NAME:
                    return True
    except OSError:
        pass
    return False


def _catches_sigterm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    except (OSError, StopIteration, IndexError):
        return False
    return bool(int(caught, 16) >> (int(_SIGNAL) - 1) & 1)


def _main_thread_cpu(pid: int) -> Optional[tuple[str, int]]:
    """The main thread's state letter and CPU time in clock ticks (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return fields[0], int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def _escalate(pidfd: int, pid: int) -> None:
    """Kill a terminated child that cannot answer SIGTERM (see the comment above).

    A child that answered has the default action again; one whose main thread is running and
    burning CPU between two looks is in a C call that holds the GIL; one that merely runs slowly
    under load answers within :data:`_ESCALATE_LOST`.
    """
    import select

    started = time.monotonic()
    try:
        if _wait_for_exit(pidfd, _ESCALATE_AFTER):
            return
        first = _main_thread_cpu(pid)
        if _wait_for_exit(pidfd, _ESCALATE_SAMPLE):
            return
        second = _main_thread_cpu(pid)
        busy = first is not None and second is not None and first[0] == second[0] == "R"
        busy = busy and (second[1] - first[1]) / (os.sysconf("SC_CLK_TCK") or 100) >= _ESCALATE_SAMPLE / 4
        while not busy:
            if not _catches_sigterm(pid):
                return  # it answered: its watcher flushes, bounded by the flush timeout
            remaining = _ESCALATE_LOST - (time.monotonic() - started)
            if remaining <= 0:
                break
            if _wait_for_exit(pidfd, min(remaining, 0.1)):
                return
        if _catches_sigterm(pid) and _has_watcher(pid):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # the pidfd cannot name a reused pid
    except (OSError, select.error):
        pass
    finally:
        os.close(pidfd)


def _wait_for_exit(pidfd: int, timeout: float) -> bool:
    """Whether the child behind ``pidfd`` ended within ``timeout`` seconds (a pidfd polls readable then)."""
    import select

    readable, _, _ = select.select([pidfd], [], [], timeout)
    return bool(readable)


def _process_terminate(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    popen = getattr(instance, "_popen", None)
    pid = getattr(popen, "pid", None)
    pidfd = None
    alive = pid and getattr(popen, "returncode", 0) is None
    if _patches.active and alive and hasattr(os, "pidfd_open") and _has_watcher(pid):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
    result = wrapped(*args, **kwargs)
    if pidfd is not None:
        thread = threading.Thread(target=_escalate, args=(pidfd, pid), name="lsautofix-terminate", daemon=True)
        try:
            flushing.start_quietly(thread)
        except RuntimeError:
            os.close(pidfd)
    return result


def _patch_process(module: Any) -> None:
    _patches.wrap(module.BaseProcess, "terminate", _process_terminate)


# --- fork: a child starts with the default action ---------------------------------------------


def _before_fork() -> None:
    if _armed_pid == os.getpid():  # no SIGTERM between the fork and the child's reset
        signal.pthread_sigmask(signal.SIG_BLOCK, {_SIGNAL})


def _after_fork_in_parent() -> None:
    if _armed_pid == os.getpid():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {_SIGNAL})


def _after_fork_in_child() -> None:
    """Undo what the parent armed: its handler, and the wakeup fd writing to the parent's pipe."""
    global _armed_pid, _pipe, _terminating, _main_stopped, _state_lock
    if _armed_pid is None:
        return
    _disarm(close=True)
    _armed_pid, _terminating = None, False
    _main_stopped, _state_lock = threading.Event(), threading.Lock()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {_SIGNAL})


def _disarm(close: bool) -> None:
    """Back to the default action, if ours is still the handler (a program's own is left alone),
    and the wakeup fd back to unset, if it is still ours."""
    global _pipe
    if threading.current_thread() is threading.main_thread():
        _give_back_wakeup_fd()
        if signal.getsignal(_SIGNAL) is _handler:
            signal.signal(_SIGNAL, signal.SIG_DFL)
    if close and _pipe is not None:
        for fd in _pipe:
            try:
                os.close(fd)
            except OSError:
                pass
        _pipe = None


# --- the wakeup fd: lsautofix's while the program has none ------------------------------------


def _take_wakeup_fd() -> None:
    """Point the interpreter's wakeup fd at the pipe, if the program has not set one (main thread)."""
    global _wakeup_ours
    if _pipe is None:
        return
    try:
        previous = _original_set_wakeup_fd(_pipe[1], warn_on_full_buffer=False)
    except (ValueError, OSError, TypeError):
        logger.debug("lsautofix: no wakeup fd for SIGTERM; the handler runs between bytecodes only")
        return
    if previous not in (-1, _pipe[1]):
        _original_set_wakeup_fd(previous)  # the program's (set before lsautofix armed): keep it
        return
    _wakeup_ours = True


def _give_back_wakeup_fd() -> None:
    """Unset the wakeup fd if it is lsautofix's (main thread)."""
    global _wakeup_ours
    if not _wakeup_ours:
        return
    _wakeup_ours = False
    try:
        previous = _original_set_wakeup_fd(-1)
        if _pipe is None or previous != _pipe[1]:
            _original_set_wakeup_fd(previous)
    except (ValueError, OSError):
        pass


def _set_wakeup_fd(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``signal.set_wakeup_fd``: the program's call sees what it would see without lsautofix.

    Setting one while lsautofix's is in place replaces it and returns -1; unsetting the program's
    returns it and lets lsautofix take the slot again.
    """
    global _wakeup_ours
    armed = _patches.active and _armed_pid == os.getpid() and _pipe is not None and not _terminating
    previous = wrapped(*args, **kwargs)
    if not armed:
        return previous
    if _wakeup_ours:
        _wakeup_ours = False
        if previous == _pipe[1]:
            previous = -1
    fd = args[0] if args else kwargs.get("fd")
    if fd == -1:
        _take_wakeup_fd()
    return previous


def apply() -> None:
    if not _patches.start():
        return
    if arm not in flushing.on_tracing:
        flushing.on_tracing.append(arm)
    _patches.when_imported("multiprocessing.process", _patch_process)
    _patches.wrap(signal, "set_wakeup_fd", _set_wakeup_fd)
    _forksafe.add(_forksafe.before, _before_fork)
    _forksafe.add(_forksafe.after_in_parent, _after_fork_in_parent)
    _forksafe.add(_forksafe.after_in_child, _after_fork_in_child)
    if flushing.has_clients():  # installed after the process began tracing
        arm()


def revert() -> None:
    """Give SIGTERM back its default action (from the main thread; elsewhere the handler stands down)."""
    global _armed_pid
    _patches.unwrap_all()
    while arm in flushing.on_tracing:
        flushing.on_tracing.remove(arm)
    if _armed_pid == os.getpid() and not _terminating:
        _disarm(close=True)
        _armed_pid = None
