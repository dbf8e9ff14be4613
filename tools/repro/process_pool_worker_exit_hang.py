"""ProcessPoolExecutor (fork): a worker hangs at exit on a wakeup left by an earlier executor.

    python tools/repro/process_pool_worker_exit_hang.py                      # plain: "done"
    LANGSMITH_AUTOFIX=1 python tools/repro/process_pool_worker_exit_hang.py  # lsautofix: hangs

CPython's test_concurrent_futures ``ExecutorDeadlockTest.test_shutdown_deadlock_pickle`` (fork)
hangs with lsautofix for this reason. ``concurrent.futures.process`` registers every executor's
manager thread in ``_threads_wakeups``, a WeakKeyDictionary, and a leaving process calls each
registered wakeup in ``_python_exit`` (run by ``threading._shutdown``, which a multiprocessing
worker runs too). In plain Python the entry of an executor that was shut down goes with its
manager ``Thread`` object, freed by reference counting once the executor is gone. With lsautofix
the manager thread, started under tracing state, is kept alive by the reference cycle
``thread.__dict__['_bootstrap_inner'] -> functools.partial(..., self)`` set by the patched
``Thread.start`` (src/lsautofix/patches/threads.py ``_make_start``) until the cyclic GC runs. So
the next fork executor's workers inherit the earlier entry and, leaving, call its ``wakeup()``.

The earlier executor here uses the wakeup of the test before it (``test_gh105829...``'s
``MockWakeup``), whose ``wakeup()`` puts into a one-slot queue left full: the worker blocks there
forever, and ``shutdown()`` (the ``with`` block's end) waits for it forever. With CPython's own
``_ThreadWakeup`` the extra call is harmless (closed pipe: a no-op); the lifetime change is not.

Counter-experiments: ``--gc`` (a ``gc.collect()`` after the first executor) and
``LANGSMITH_AUTOFIX_DISABLE=threads`` both make the lsautofix run end like the plain one.
"""

import faulthandler
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import process as cfp

import langsmith  # lsautofix applies its patches when langsmith is imported


class MockWakeup(cfp._ThreadWakeup):
    """test_deadlock.py's MockWakeup: wakeup() waits while its one-slot queue is full."""

    def __init__(self):
        super().__init__()
        self._dummy_queue = queue.Queue(maxsize=1)

    def wakeup(self):
        self._dummy_queue.put(None, block=True)
        super().wakeup()

    def clear(self):
        super().clear()
        try:
            while True:
                self._dummy_queue.get_nowait()
        except queue.Empty:
            pass


def main():
    if sys.version_info < (3, 12):
        # MockWakeup needs the wakeup handling of 3.12+ (gh-105829); older executors deadlock on it
        # in both modes, and their test suites have no such test.
        print("this reproduction needs Python 3.12 or later")
        return False
    fork = multiprocessing.get_context("fork")
    with langsmith.tracing_context(project_name="repro"):  # any tracing state; nothing is sent
        original, cfp._ThreadWakeup = cfp._ThreadWakeup, MockWakeup
        try:
            with ProcessPoolExecutor(max_workers=2, mp_context=fork) as executor:
                list(executor.map(int, range(100)))
        finally:
            cfp._ThreadWakeup = original
        del executor
        if "--gc" in sys.argv:  # the counter-experiment: collect the cycle, and the hang is gone
            gc.collect()
        print(f"executors still registered in _threads_wakeups: {len(cfp._threads_wakeups)}", flush=True)

        # Each worker prints its stacks on SIGUSR1. (Not faulthandler.dump_traceback_later: a fork
        # child must not arm or cancel it while the parent's is armed.)
        executor = ProcessPoolExecutor(
            max_workers=2, mp_context=fork, initializer=faulthandler.register, initargs=(signal.SIGUSR1,)
        )
        executor.submit(id, 42).result()
        workers = list(executor._processes.values())
        finished = threading.Event()

        def watchdog():
            if finished.wait(10):
                return
            print("shutdown() still waits after 10 s; the workers' stacks:", flush=True)
            for worker in workers:
                if worker.is_alive():
                    os.kill(worker.pid, signal.SIGUSR1)
                    time.sleep(0.5)  # one at a time: both write to the same stderr
            for worker in workers:  # end the hang, so that this script ends
                worker.kill()

        threading.Thread(target=watchdog, daemon=True).start()
        started = time.monotonic()
        executor.shutdown(wait=True)
        finished.set()
        took = time.monotonic() - started
    hung = took > 9
    print(f"shutdown() returned after {took:.1f} s" + (" because the hung workers were killed" if hung else ""))
    # This process would hang the same way at its own exit (its _python_exit calls the same stale
    # wakeup). The cyclic GC is what frees the stale entry, in the one mode where there is one:
    gc.collect()
    print(f"after gc.collect(): {len(cfp._threads_wakeups)} executors registered", flush=True)
    return hung


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
