"""Python 3.10's test tear-downs spin for seconds on threads that lsautofix keeps alive.

    python3.10 tools/repro/threading_cleanup_spins_on_310.py                      # plain: 0.00 s
    LANGSMITH_AUTOFIX=1 python3.10 tools/repro/threading_cleanup_spins_on_310.py  # lsautofix: seconds

On Python 3.10 many CPython tests take 6 to 27 s longer with lsautofix without failing
(test_concurrent_futures: 149 s of tests plain, 613 s with lsautofix; test_threading's
ExceptHookTests 1.8 s and 22.5 s). Their ``tearDown`` calls ``threading_helper.threading_cleanup``
(3.10's ``Lib/test/support/threading_helper.py``), which loops up to 100 times, each time
``sleep(0.01)`` and ``support.gc_collect()``, until the thread count and ``threading._dangling``
equal what they were at ``setUp``. A finished thread started under tracing state is not freed
when its last reference goes: the patched ``Thread.start`` (src/lsautofix/patches/threads.py,
``_make_start``) made it part of a reference cycle. So the first iteration finds it in
``_dangling``, prints it, and the loop variable of that print (``for thread in dangling_threads``)
then keeps the last thread printed alive for every remaining iteration: when that is one of ours,
all 100 iterations run (three full collections each: about 60 ms here). Plain
Python freed the thread by reference counting before the tear-down. 3.13's threading_cleanup
compares only the thread count, so it is not affected (the cycle is: see
thread_outlives_its_references.py). Whether the last thread printed is ours depends on the
WeakSet's order, so the time varies from run to run; the threads started here make it likely.
No network: any tracing context (a project name) makes lsautofix carry the context.
"""

import sys
import threading
import time

import langsmith  # lsautofix applies its patches when langsmith is imported
from test.support import threading_helper

if __name__ == "__main__":
    key = threading_helper.threading_setup()
    with langsmith.tracing_context(project_name="repro"):  # any tracing state; nothing is sent
        threads = [threading.Thread(target=time.sleep, args=(0.01,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        del threads, thread
    started = time.monotonic()
    threading_helper.threading_cleanup(*key)  # its "Dangling thread" warnings go to stderr
    took = time.monotonic() - started
    print(f"threading_cleanup took {took:.2f} s (Python {sys.version.split()[0]})")
    sys.exit(1 if took > 1 else 0)
