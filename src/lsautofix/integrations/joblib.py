"""joblib and loky: each ``Parallel`` call and each executor ``submit`` carries its submitter's run.

- ``Parallel.__call__`` takes the tracing state once per call, in the caller's thread; every
  batch it dispatches (``Parallel._dispatch``, also from joblib's callback threads, which carry
  nothing) carries it as a plain attribute of its ``BatchedCalls``: the state itself for the
  threading backend, else a snapshot, pickled as the object's state. ``BatchedCalls.__call__``
  enters it wherever the batch runs: a thread, loky, ``multiprocessing`` or a Dask worker.
- loky's ``ProcessPoolExecutor.submit`` (``get_reusable_executor``), the standalone package and
  joblib's vendored copy, sends ``RemoteCall(snapshot, fn)`` like ``concurrent.futures``. Two
  parents on one reusable executor each get their own children; the workers carry nothing.
- Nothing lost: loky SIGKILLs its workers when joblib aborts on a task's error (and on
  ``shutdown(kill_workers=True)``). Before it does, each worker gets SIGTERM, which lsautofix
  takes in every process that traces: a bounded flush, then death by SIGTERM; workers that never
  traced die at once. Workers that stop normally (idle timeout, sentinel at exit) flush at exit as
  every process does. No flush is on a task's path.
- loky starts workers with a spawn-like launcher of its own: its preparation data carries a
  stowaway that arms lsautofix there (as ``LANGSMITH_AUTOFIX=1`` would), so ``import lsautofix``
  in the program is enough; it installs when the worker first imports langsmith.
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


_STATE = "lsautofix_state"  # the call's same-process tracing state (threading backend)


def _parallel_call(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Take the caller's tracing state once per ``Parallel(...)(iterable)`` call."""
    if _patches.active:
        instance.__dict__[_STATE] = context.capture()
        instance.__dict__.pop(_common.CARRIER, None)  # the snapshot, made from it on first need
    return wrapped(*args, **kwargs)


def _parallel_dispatch(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Attach the call's tracing state to a batch: as a snapshot when it leaves this process.

    ``_dispatch`` also runs in the backend's callback threads, whose context is not the caller's
    (and carries nothing): the state comes from the call, never from the dispatching thread.
    """
    state = instance.__dict__.get(_STATE)
    if state is None or not _patches.active or not args or not hasattr(args[0], "__dict__"):
        return wrapped(*args, **kwargs)
    batch = args[0]
    if getattr(getattr(instance, "_backend", None), "uses_threads", False):
        batch.__dict__[_STATE] = state
    else:
        if _common.CARRIER not in instance.__dict__:
            instance.__dict__[_common.CARRIER] = state(context.capture_remote)
        batch.__dict__[_common.CARRIER] = instance.__dict__[_common.CARRIER]
    return wrapped(*args, **kwargs)


def _batch_call(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Run the batch under its call's tracing state, in this process or in another one."""
    if _patches.active:
        state = instance.__dict__.get(_STATE)
        if state is not None:
            return state(wrapped, *args, **kwargs)
        snapshot = instance.__dict__.get(_common.CARRIER)
        if snapshot is not None:
            return context.run_remote(snapshot, wrapped, *args, **kwargs)
    return wrapped(*args, **kwargs)


def _batch_reduce(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    """Pickle the snapshot as the batch's state: a worker without lsautofix just ignores it.

    The state also holds the spawn stowaway, unpickled before the batch can be called: a worker
    where lsautofix is only armed (it installs when langsmith is first imported) installs it
    then, so ``BatchedCalls.__call__`` is patched even when the task imports langsmith only
    inside its body (2 children in 1000 were roots). Where lsautofix is missing the stowaway's
    import fails quietly and leaves None.
    """
    reduced = wrapped(*args, **kwargs)
    snapshot = instance.__dict__.get(_common.CARRIER)
    if snapshot is None or not isinstance(reduced, tuple):
        return reduced
    from lsautofix.patches.processes import _Stowaway

    state = {"lsautofix_install": _Stowaway(), _common.CARRIER: snapshot}
    if len(reduced) == 2:
        return (*reduced, state)
    if len(reduced) >= 3 and reduced[2] is None:
        return (*reduced[:2], state, *reduced[3:])
    return reduced


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
    _patches.wrap(module._ExecutorManagerThread, "kill_workers", _kill_workers)


_ARM_SOURCE = (
    "try:\n"
    "    import lsautofix._lifecycle as _lsautofix_lifecycle\n"
    "    _lsautofix_lifecycle.arm()\n"
    "except Exception:\n"
    "    pass\n"
)


class _Arming:
    """Rides in loky's preparation data; unpickling it arms lsautofix in the worker.

    Armed, not installed: lsautofix installs when the worker first imports langsmith (a traced
    task's module does, before the task runs). Installing at once put wrapt and lsautofix in
    every loky worker, traced or not; with 15% more objects for the garbage collector to walk,
    an untraced joblib workload of many small items took 3% more CPU.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (_ARM_SOURCE,))


def _preparation_data(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    data = wrapped(*args, **kwargs)
    if _patches.active and isinstance(data, dict):
        data["lsautofix"] = _Arming()  # loky's prepare() reads the keys it knows, and ignores the rest
    return data


def _patch_spawn(module: Any) -> None:
    _patches.wrap(module, "get_preparation_data", _preparation_data)


def apply() -> None:
    """Patch joblib and loky when (and if) they are imported."""
    if not _patches.start():
        return
    for package in _LOKY_PACKAGES:  # loky's own workers and manager thread carry nothing
        executor = f"{package}.process_executor"
        context.register_infrastructure(f"{executor}:_process_worker", f"{executor}:_ExecutorManagerThread")
    _patches.when_imported("joblib.parallel", _patch_parallel)
    for package in _LOKY_PACKAGES:
        _patches.when_imported(f"{package}.process_executor", _patch_executor)
        _patches.when_imported(f"{package}.backend.spawn", _patch_spawn)


def revert() -> None:
    _patches.unwrap_all()
