"""What the engine integrations share: the snapshot they carry, infrastructure, worker shutdown.

The snapshot is :func:`lsautofix.context.capture_remote`'s, treated as opaque: carried as plain
data (a batch attribute, a Dask annotation, a Celery header, a Ray keyword) so that a worker
without lsautofix ignores it instead of failing to unpickle it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterable
from typing import Any

from lsautofix import config, context

logger = logging.getLogger("lsautofix")

#: The attribute, annotation, header or keyword under which a unit of work carries its snapshot.
CARRIER = "lsautofix_parent"


async def await_under(snapshot: dict[str, Any], awaitable: Any) -> Any:
    """Await ``awaitable`` with ``snapshot`` entered in the current task's context, then leave it.

    For an engine that runs each call as an asyncio task of its own (an async Ray actor's
    method): the snapshot reaches nothing outside that task.
    """
    entered = context.enter_remote(snapshot)
    try:
        return await awaitable
    finally:
        context.leave(entered)


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``, deepest last (psutil when present, else ``/proc``)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    children: dict[int, list[int]] = {}
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
    except OSError:
        return []
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def terminate_before_kill(processes: Iterable[Any], timeout: float | None = None) -> None:
    """SIGTERM these worker processes (``Process`` objects or pids) and their descendants; wait, bounded.

    For an engine about to SIGKILL its workers: a worker lsautofix runs in flushes its runs on
    SIGTERM and then dies of it; a worker that does not trace dies at once, as it would of the
    SIGKILL, which the engine sends next to whatever is left. Only a worker with a SIGTERM handler
    of its own can make this wait the whole bound.
    """
    from multiprocessing.connection import wait

    if timeout is None:
        timeout = config.settings().flush_timeout + 1.0  # the flush waits up to 1 s for the main thread
    sentinels, others = [], []
    for process in processes:
        pid = process if isinstance(process, int) else getattr(process, "pid", None)
        if pid is None:
            continue
        tree = descendants(pid)[::-1]  # deepest first, as the engines kill them
        for member in (*tree, pid):
            try:
                os.kill(member, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                continue
            if member == pid and getattr(process, "sentinel", None) is not None:
                sentinels.append(process.sentinel)
            else:
                others.append(member)
    deadline = time.monotonic() + timeout
    while sentinels and time.monotonic() < deadline:
        for ready in wait(sentinels, max(0.0, deadline - time.monotonic())):
            sentinels.remove(ready)
    delay = 0.001
    while others and time.monotonic() < deadline:  # not our children: no handle to wait on
        others = [pid for pid in others if _alive(pid)]
        if others:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie does not: it has exited, its parent has yet to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
