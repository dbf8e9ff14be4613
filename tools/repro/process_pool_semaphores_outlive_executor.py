"""A ProcessPoolExecutor's named semaphores outlive it: the resource tracker reports them leaked.

    python tools/repro/process_pool_semaphores_outlive_executor.py                      # plain: exit code 0
    LANGSMITH_AUTOFIX=1 python tools/repro/process_pool_semaphores_outlive_executor.py  # lsautofix: 1

CPython's test_concurrent_futures ``FailingInitializerResourcesTest.test_spawn`` and
``test_forkserver`` fail with lsautofix for this reason: after running an executor they stop
the resource tracker and assert its exit code is 0 (no named semaphore left registered, GH-104090).
An executor started under tracing state starts its ``_ExecutorManagerThread`` through the patched
``Thread.start`` (src/lsautofix/patches/threads.py, ``_make_start``), which stores
``functools.partial(captured.run, type(self)._bootstrap_inner, self)`` on the thread: a reference
cycle. The thread holds the executor's call queue, its locks and semaphores; in plain Python
they are freed (and their semaphores unregistered) when the executor goes, by reference
counting. With lsautofix they wait for the cyclic GC, so the tracker, stopped first, finds 5
semaphores still registered, warns, exits with 1, and the finalizers that run later at exit
print ``FileNotFoundError`` tracebacks (the tracker already unlinked them).

Counter-experiments: ``--gc`` (``gc.collect()`` before stopping the tracker) and
``LANGSMITH_AUTOFIX_DISABLE=threads`` both give exit code 0 with lsautofix.
"""

import gc
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import resource_tracker

import langsmith  # lsautofix applies its patches when langsmith is imported


def run_executor() -> None:
    spawn = multiprocessing.get_context("spawn")
    # Any tracing state (here a project name) makes lsautofix carry it; nothing is sent.
    with langsmith.tracing_context(project_name="repro"), ProcessPoolExecutor(1, mp_context=spawn) as executor:
        executor.submit(int, 1).result()


if __name__ == "__main__":
    run_executor()
    if "--gc" in sys.argv:
        gc.collect()
    tracker = resource_tracker._resource_tracker
    tracker._stop()
    # Python 3.12+ records the tracker's exit code (1: it found leaked resources); 3.10 and 3.11
    # only print its "leaked semaphore objects" warning, above.
    code = getattr(tracker, "_exitcode", None)
    print(f"resource tracker exit code: {code if code is not None else 'not recorded by this Python'}", flush=True)
    sys.exit(1 if code else 0)
