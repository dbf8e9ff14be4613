"""The doctor's run ledger: one JSON line per run a process *creates* or *ends*, written as it happens.

``lsautofix doctor`` sets ``LSAUTOFIX_LEDGER=<dir>`` in the programs it runs; the ``.pth`` line
then calls :func:`install` (with or without lsautofix active), which wraps
``langsmith.Client.create_run`` and ``update_run``. Every run the SDK creates goes through them:
``RunTree.post`` and ``patch`` call them for ``@traceable``, ``trace()`` and ``langchain_core``'s
tracer, on langsmith 0.14 and 0.15. Comparing the ledger with what the collector received gives
the runs lost per process, and tells a run the program never ended from one whose end was lost.
A create record names the thread that created the run (runs attached to a long-ended parent come
from long-lived threads) and the library that made it (LangChain runs get LangChain-shaped hints).

Each record is one ``os.write`` to ``<dir>/<pid>.jsonl`` opened with ``O_APPEND``: nothing is
buffered, so a record survives ``os._exit``, SIGTERM and SIGKILL, and a forked child (which gets
a new pid) writes its own file. The ledger never raises into the caller.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from typing import Any

_directory: str | None = None
_fd: int | None = None
_fd_pid: int | None = None
_lock = threading.Lock()
_installed = False
logger = logging.getLogger("lsautofix")


def install(directory: str) -> None:
    """Record every run created in this process (and its children) under ``directory``; idempotent."""
    global _installed, _directory
    with _lock:
        if _installed:
            return
        _installed = True
        _directory = directory
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)
    import wrapt

    wrapt.register_post_import_hook(_wrap_client, "langsmith.client")


def _wrap_client(module: Any) -> None:
    try:
        import wrapt

        wrapt.wrap_function_wrapper(module, "Client.create_run", _create_run)
        wrapt.wrap_function_wrapper(module, "Client.update_run", _update_run)
    except Exception:  # pragma: no cover - defensive: the doctor reports "ledger missing"
        logger.debug("lsautofix: the run ledger could not wrap create_run", exc_info=True)


def _after_fork() -> None:
    """The child has a new pid: forget the parent's file (and a lock another thread may hold)."""
    global _fd, _fd_pid, _lock
    _lock = threading.Lock()
    old, _fd, _fd_pid = _fd, None, None
    if old is not None:
        try:
            os.close(old)
        except OSError:
            pass


def _text(value: Any) -> str | None:
    """A run id as the collector stores it (canonical UUID text); ``None`` stays ``None``."""
    if value is None:
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return str(value)


def _create_run(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    if not kwargs.get("is_run_ops_buffer_flush"):
        try:
            _record(args, kwargs)
        except Exception:  # the ledger must never break tracing
            logger.debug("lsautofix: the run ledger could not record a run", exc_info=True)
    return result


def _update_run(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    result = wrapped(*args, **kwargs)
    if kwargs.get("end_time") is not None and not kwargs.get("is_run_ops_buffer_flush"):
        try:
            run_id = kwargs.get("run_id", args[0] if args else None)
            write((json.dumps({"op": "end", "id": _text(run_id), "pid": os.getpid()}) + "\n").encode())
        except Exception:  # the ledger must never break tracing
            logger.debug("lsautofix: the run ledger could not record a run's end", exc_info=True)
    return result


def _library(extra: Any) -> str | None:
    """``langchain-core`` for runs LangChain's tracer made (it stamps ``extra.runtime.library``)."""
    runtime = extra.get("runtime") if isinstance(extra, dict) else None
    library = runtime.get("library") if isinstance(runtime, dict) else None
    return library if isinstance(library, str) else None


def _record(args: tuple, kwargs: dict) -> None:
    name = kwargs.get("name", args[0] if args else None)
    thread = threading.current_thread()
    record = {
        "op": "create",
        "id": _text(kwargs.get("id")),
        "name": None if name is None else str(name),
        "trace_id": _text(kwargs.get("trace_id")),
        "parent_run_id": _text(kwargs.get("parent_run_id")),
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "thread": thread.name,
        "thread_id": thread.ident,
        "library": _library(kwargs.get("extra")),
        "ended": kwargs.get("end_time") is not None,
    }
    write((json.dumps(record) + "\n").encode())


def write(data: bytes) -> None:
    """Append ``data`` to this process's ledger file, opening it first if the pid changed."""
    global _fd, _fd_pid
    if _directory is None:
        return
    pid = os.getpid()
    with _lock:
        if _fd is None or _fd_pid != pid:
            path = os.path.join(_directory, f"{pid}.jsonl")
            _fd = os.open(path, os.O_APPEND | os.O_CREAT | os.O_WRONLY, 0o600)
            _fd_pid = pid
        fd = _fd
    os.write(fd, data)


def read(directory: str, *, ends: bool = False) -> list[dict[str, Any]]:
    """Every create record in ``directory`` (the doctor's side), and with ``ends`` the end records
    too (``{"op": "end", "id": ...}``); a torn last line is skipped."""
    records: list[dict[str, Any]] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return records
    for name in names:
        if not name.endswith(".jsonl"):
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                for line in handle:
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(item, dict) and (ends or item.get("op", "create") == "create"):
                        records.append(item)
        except OSError:
            continue
    return records
