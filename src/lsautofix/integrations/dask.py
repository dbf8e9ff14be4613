"""dask.distributed: every task a client hands over carries its submitter's run, as an annotation.

- ``Client.submit``, ``map``, ``compute``, ``persist`` and ``get`` (what ``dask.compute`` calls
  with a distributed client) take the snapshot in the caller's thread and hand it over with
  ``dask.annotate``: the client merges it into the graph's annotations, the scheduler keeps it
  per task and sends it to the worker with the task. It is plain data: a worker without
  lsautofix ignores it, and task keys (so caching, names and the dashboard) do not change.
- On the worker, ``Worker.execute`` runs each task whose annotations carry a snapshot in an
  asyncio task of its own whose context has the snapshot entered; the worker hands that context
  to the executor thread (``run_in_executor_with_context``), so thread, async and process-pool
  tasks all see it. Tasks without one run exactly as before.
- Workers on one machine (``LocalCluster``): nannies start them with ``multiprocessing`` spawn,
  so they inherit ``LANGSMITH_AUTOFIX`` or the spawn stowaway and install lsautofix at start.
  Remote workers: ``client.register_plugin(LangSmithAutofix())`` installs it on every worker,
  present and future, and flushes on the worker's teardown.
- Nothing lost: a worker closed by ``Client.close``/``LocalCluster.close`` or restarted by its
  nanny leaves through the normal exit of its process, where lsautofix flushes (bounded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from lsautofix import context
from lsautofix.integrations import _common
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()

#: What dask.distributed starts for itself: worker processes (through AsyncProcess), the threads
#: that watch them, the client's and the cluster's event loop thread, a worker's task threads.
_INFRASTRUCTURE = (
    "distributed.process:AsyncProcess._run",
    "distributed.process:AsyncProcess._watch_message_queue",
    "distributed.process:AsyncProcess._watch_process",
    "distributed.utils:_CollectErrorThread.__init__.<locals>.wrapper",
    "distributed.threadpoolexecutor:_worker",
)

#: The Client methods that hand work over; ``get`` is what ``dask.compute`` calls with a client.
_CLIENT_METHODS = ("submit", "map", "compute", "persist", "get")


def _hand_over(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Run the client method with the caller's snapshot among the graph's annotations."""
    if not _patches.active:
        return wrapped(*args, **kwargs)
    snapshot = context.capture_remote()
    if snapshot is None:
        return wrapped(*args, **kwargs)
    import dask

    if dask.get_annotations().get(_common.CARRIER) == snapshot:  # compute() calling get(), say
        return wrapped(*args, **kwargs)
    with dask.annotate(**{_common.CARRIER: snapshot}):
        return wrapped(*args, **kwargs)


def _task_snapshot(worker: Any, key: Any) -> Any:
    try:
        annotations = worker.state.tasks[key].annotations
    except (AttributeError, KeyError, TypeError):
        return None
    return annotations.get(_common.CARRIER) if annotations else None


def _execute(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``Worker.execute(key)``: a task that carries a snapshot runs under it."""
    key = args[0] if args else kwargs.get("key")
    snapshot = _task_snapshot(instance, key) if _patches.active else None
    if snapshot is None:
        return wrapped(*args, **kwargs)
    return _execute_under(snapshot, wrapped(*args, **kwargs))


async def _execute_under(snapshot: dict[str, Any], coroutine: Any) -> Any:
    """Await ``coroutine`` in an asyncio task whose context has the snapshot entered.

    ``execute`` copies its context to the thread that runs the task; a task of its own keeps
    the snapshot out of every other context. Cancelling this one cancels that task too.
    ``entered`` holds the parent run until the task is done: the SDK's context holds it weakly.
    """
    import asyncio

    entered = context.remote_state(snapshot)  # the SDK is imported now if it was not yet
    if entered is None:
        return await coroutine
    return await entered(asyncio.ensure_future, coroutine)


def _patch_client(module: Any) -> None:
    for name in _CLIENT_METHODS:
        if name in module.Client.__dict__:
            _patches.wrap(module.Client, name, _hand_over)


def _patch_worker(module: Any) -> None:
    _patches.wrap(module.Worker, "execute", _execute)


def apply() -> None:
    """Patch the client and the worker when (and if) dask.distributed is imported."""
    if not _patches.start():
        return
    context.register_infrastructure(*_INFRASTRUCTURE)
    _patches.when_imported("distributed.client", _patch_client)
    _patches.when_imported("distributed.worker", _patch_worker)


def revert() -> None:
    _patches.unwrap_all()


def __getattr__(name: str) -> Any:
    """``LangSmithAutofix``, the worker plugin, without importing distributed before it is asked for."""
    if name == "LangSmithAutofix":
        from lsautofix.integrations._dask_plugin import LangSmithAutofix

        return LangSmithAutofix
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
