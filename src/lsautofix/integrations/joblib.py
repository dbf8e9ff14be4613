"""joblib and loky: each ``Parallel`` call and each executor ``submit`` carries its submitter's run.

- ``Parallel.__call__`` takes the snapshot once per call, in the caller's thread; every batch it
  dispatches (``Parallel._dispatch``, also from joblib's callback threads) carries it as a plain
  attribute of its ``BatchedCalls``, pickled as the object's state. ``BatchedCalls.__call__``
  enters it wherever the batch runs: loky, ``multiprocessing`` or a Dask worker. Backends that
  run batches in this process (threading, sequential) are left to the thread patches.
- loky's ``ProcessPoolExecutor.submit`` (``get_reusable_executor``), the standalone package and
  joblib's vendored copy, sends ``RemoteCall(snapshot, fn)`` like ``concurrent.futures``. Two
  parents on one reusable executor each get their own children; the workers carry nothing.
- Nothing lost: loky SIGKILLs its workers when joblib aborts on a task's error (and on
  ``shutdown(kill_workers=True)``). Before it does, each worker gets SIGTERM, which lsautofix's
  handler in the worker turns into a bounded flush followed by death by SIGTERM; workers that
  never traced die at once. Workers that stop normally (idle timeout, sentinel at exit) flush at
  exit as every process does. No flush is on a task's path.
- loky starts workers with a spawn-like launcher of its own: its preparation data carries the
  same stowaway as ``multiprocessing.spawn``'s, so workers install lsautofix before any task.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from lsautofix import context
from lsautofix.integrations import _common
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()

#: loky's two copies: the standalone package and the one joblib vendors.
_LOKY_PACKAGES = ("loky", "joblib.externals.loky")


# --- joblib.Parallel ----------------------------------------------------------------------------


def _parallel_call(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Take the caller's snapshot once per ``Parallel(...)(iterable)`` call."""
    if _patches.active:
        instance.__dict__[_common.CARRIER] = context.capture_remote()
    return wrapped(*args, **kwargs)


def _parallel_dispatch(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Attach the call's snapshot to a batch bound for another process.

    ``_dispatch`` also runs in the backend's callback threads, whose context is not the caller's:
    the snapshot comes from the call, never from the dispatching thread.
    """
    snapshot = instance.__dict__.get(_common.CARRIER)
    if snapshot is not None and _patches.active and args:
        backend = getattr(instance, "_backend", None)
        if not getattr(backend, "uses_threads", False):
            try:
                args[0].__dict__[_common.CARRIER] = snapshot
            except AttributeError:  # not a BatchedCalls (another library's batch): left alone
                pass
    return wrapped(*args, **kwargs)


def _batch_call(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    snapshot = instance.__dict__.get(_common.CARRIER)
    if snapshot is None or not _patches.active:
        return wrapped(*args, **kwargs)
    return context.run_remote(snapshot, wrapped, *args, **kwargs)


def _batch_reduce(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Pickle the snapshot as the batch's state: a worker without lsautofix just ignores it."""
    reduced = wrapped(*args, **kwargs)
    snapshot = instance.__dict__.get(_common.CARRIER)
    if snapshot is None or not isinstance(reduced, tuple):
        return reduced
    if len(reduced) == 2:
        return (*reduced, {_common.CARRIER: snapshot})
    if len(reduced) >= 3 and reduced[2] is None:
        return (*reduced[:2], {_common.CARRIER: snapshot}, *reduced[3:])
    return reduced


def _make_methods(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Give joblib's pool queue the ``_poll`` of the ``SimpleQueue`` it replaces.

    lsautofix's pool workers flush when their task queue is empty and catch SIGTERM
    (``Pool.terminate()``, which joblib's multiprocessing backend calls after every call) only
    when they can poll that queue; without it, every run of those workers was lost.
    """
    result = wrapped(*args, **kwargs)
    reader = getattr(instance, "_reader", None)
    if _patches.active and reader is not None and not hasattr(instance, "_poll"):
        instance._poll = reader.poll
    return result


def _patch_pool(module: Any) -> None:
    _patches.wrap(module.CustomizablePicklingQueue, "_make_methods", _make_methods)


def _patch_parallel(module: Any) -> None:
    _patches.wrap(module.Parallel, "__call__", _parallel_call)
    _patches.wrap(module.Parallel, "_dispatch", _parallel_dispatch)
    _patches.wrap(module.BatchedCalls, "__call__", _batch_call)
    _patches.wrap(module.BatchedCalls, "__reduce__", _batch_reduce)


# --- loky ---------------------------------------------------------------------------------------


def _is_joblib_batch(fn: Any) -> bool:
    parallel = sys.modules.get("joblib.parallel")
    return parallel is not None and isinstance(fn, parallel.BatchedCalls)


def _executor_submit(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """``submit(fn, *args)``: send ``fn`` with the submitter's snapshot, if there is one."""
    if not _patches.active or not args or _is_joblib_batch(args[0]):
        return wrapped(*args, **kwargs)  # joblib's batches carry their call's snapshot
    snapshot = context.capture_remote()
    if snapshot is None:
        return wrapped(*args, **kwargs)
    from lsautofix.patches.processes import RemoteCall

    return wrapped(RemoteCall(snapshot, args[0]), *args[1:], **kwargs)


_worker_prepared = False


def _call_item(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Runs in a loky worker, once per task: the first one makes SIGTERM flush in this worker."""
    global _worker_prepared
    if not _worker_prepared and _patches.active:
        _worker_prepared = True
        try:
            _common.flush_on_sigterm()
        except Exception:
            logger.debug("lsautofix: could not prepare the loky worker", exc_info=True)
    return wrapped(*args, **kwargs)


def _kill_workers(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Before loky SIGKILLs its workers, let them flush (SIGTERM, bounded), then kill as before."""
    if _patches.active:
        try:
            _common.terminate_before_kill(list(getattr(instance, "processes", {}).values()))
        except Exception:
            logger.debug("lsautofix: could not stop the loky workers gently", exc_info=True)
    return wrapped(*args, **kwargs)


def _patch_executor(module: Any) -> None:
    _patches.wrap(module.ProcessPoolExecutor, "submit", _executor_submit)
    _patches.wrap(module._CallItem, "__call__", _call_item)
    _patches.wrap(module._ExecutorManagerThread, "kill_workers", _kill_workers)
    _common.register_infrastructure(module._process_worker, module._ExecutorManagerThread)


def _patch_spawn(module: Any) -> None:
    from lsautofix.patches import processes

    _patches.wrap(module, "get_preparation_data", processes._preparation_data)


def apply() -> None:
    """Patch joblib and loky when (and if) they are imported."""
    if not _patches.start():
        return
    _patches.when_imported("joblib.parallel", _patch_parallel)
    _patches.when_imported("joblib.pool", _patch_pool)
    for package in _LOKY_PACKAGES:
        _patches.when_imported(f"{package}.process_executor", _patch_executor)
        _patches.when_imported(f"{package}.backend.spawn", _patch_spawn)


def revert() -> None:
    _patches.unwrap_all()
