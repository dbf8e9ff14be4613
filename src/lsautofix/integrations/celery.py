"""Celery: the submitter's run travels in the task message's headers, as OpenTelemetry's does.

- ``before_task_publish`` (sent by ``apply_async``/``delay``/``send_task`` and every canvas, in the
  publishing thread) adds the snapshot to the message headers: JSON, so any serializer and
  broker carries it, and a worker without lsautofix ignores it.
- ``task_prerun`` enters it in the thread that runs the task and ``task_postrun`` leaves it:
  prefork children, solo and thread pools alike. A task without it runs as before; so do eager
  tasks (``apply()``, ``task_always_eager``), which already run in the caller's context.
- Workers get lsautofix from ``LANGSMITH_AUTOFIX=1`` on the worker's command line (or by
  inheriting it); prefork children are forks of the worker and inherit it.
- Nothing lost: prefork children leave through ``os._exit`` when the pool closes (warm shutdown)
  or recycles them (``worker_max_tasks_per_child``), and lsautofix flushes there. A child that
  has traced also flushes on SIGTERM (``revoke(terminate=True)``, a terminated pool) before
  dying of it: Celery gives its children SIGTERM's default action, which lsautofix takes in
  every process that traces. No flush is on a task's path.
"""

from __future__ import annotations

import logging
from typing import Any

from lsautofix import context
from lsautofix.integrations import _common
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()
_UID = "lsautofix"
#: What task_prerun entered, by task id, until task_postrun leaves it.
_entered: dict[Any, context.Entered] = {}


def _publish(sender: Any = None, headers: Any = None, **kwargs: Any) -> None:
    """``before_task_publish``: the publishing thread's snapshot goes into the message headers."""
    if not _patches.active or not isinstance(headers, dict) or _common.CARRIER in headers:
        return
    try:
        snapshot = context.capture_remote()
        if snapshot is not None:
            headers[_common.CARRIER] = snapshot
    except Exception:
        logger.debug("lsautofix: could not add the tracing context to a Celery message", exc_info=True)


def _request_snapshot(request: Any) -> Any:
    """Protocol 2 merges custom headers into the request; some versions nest them under ``headers``."""
    snapshot = getattr(request, _common.CARRIER, None)
    if snapshot is None:
        nested = getattr(request, "headers", None)
        if isinstance(nested, dict):
            snapshot = nested.get(_common.CARRIER)
    return snapshot if isinstance(snapshot, dict) else None


def _prerun(sender: Any = None, task_id: Any = None, task: Any = None, **kwargs: Any) -> None:
    """``task_prerun``: enter the publisher's snapshot in the thread about to run the task."""
    if not _patches.active or task is None:
        return
    try:
        snapshot = _request_snapshot(getattr(task, "request", None))
        if snapshot is not None:
            _entered[task_id] = context.enter_remote(snapshot)
    except Exception:
        logger.debug("lsautofix: could not enter a Celery task's tracing context", exc_info=True)


def _postrun(sender: Any = None, task_id: Any = None, **kwargs: Any) -> None:
    """``task_postrun``: leave what ``task_prerun`` entered (sent whether the task failed or not)."""
    entered = _entered.pop(task_id, None)
    if entered is not None:
        context.leave(entered)


_HANDLERS = (("before_task_publish", _publish), ("task_prerun", _prerun), ("task_postrun", _postrun))


def _connect(signals: Any) -> None:
    for name, handler in _HANDLERS:
        getattr(signals, name).connect(handler, weak=False, dispatch_uid=f"{_UID}.{name}")


def apply() -> None:
    """Connect the signal handlers when (and if) Celery is imported."""
    if not _patches.start():
        return
    _patches.when_imported("celery.signals", _connect)


def revert() -> None:
    _patches.unwrap_all()
    import sys

    signals = sys.modules.get("celery.signals")
    if signals is not None:
        for name, handler in _HANDLERS:
            getattr(signals, name).disconnect(handler, dispatch_uid=f"{_UID}.{name}")
