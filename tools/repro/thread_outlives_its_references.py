"""A thread started under tracing state outlives its last reference until the cyclic GC runs.

    python tools/repro/thread_outlives_its_references.py                      # plain: freed
    LANGSMITH_AUTOFIX=1 python tools/repro/thread_outlives_its_references.py  # lsautofix: alive

Plain Python frees a finished ``Thread`` as soon as the last reference goes (reference counting).
With lsautofix, ``Thread.start`` (src/lsautofix/patches/threads.py, ``_make_start``) stores
``self._bootstrap_inner = functools.partial(captured.run, type(self)._bootstrap_inner, self)`` on
the instance: thread -> its __dict__ -> the partial -> thread, a reference cycle. Everything the
thread references (its target, its arguments, an executor's pipes and processes) lives on until
the cyclic GC happens to collect that generation, and weak references to the thread (a
``WeakKeyDictionary`` such as ``concurrent.futures.process._threads_wakeups``) keep their entry.
No network, no tracing: any tracing context (here a project name) makes lsautofix carry it.
"""

import gc
import sys
import threading
import weakref

import langsmith  # lsautofix applies its patches when langsmith is imported

gc.disable()  # only reference counting frees objects here, as between two runs of the collector

with langsmith.tracing_context(project_name="repro"):
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()

ref = weakref.ref(thread)
del thread
alive = ref() is not None
print(f"finished thread still alive after its last reference went: {alive}")
if alive:
    print("referrers:", [type(r).__name__ for r in gc.get_referrers(ref()) if r is not globals()])
sys.exit(1 if alive else 0)
