"""Every fork child gets a thread it did not start: lsautofix's fork hook starts an upload thread.

    python tools/repro/fork_child_starts_thread.py                      # plain: 1 thread in the child
    LANGSMITH_AUTOFIX=1 python tools/repro/fork_child_starts_thread.py  # lsautofix: 2

CPython's test_threading ``ThreadJoinOnShutdown.test_clear_threads_states_after_fork`` fails with
lsautofix for this reason: it forks and expects ``len(sys._current_frames()) == 1`` in the child.
lsautofix registers ``os.register_at_fork(after_in_child=_after_fork_in_child)``
(src/lsautofix/flushing.py, ``register_hooks``); for every client the parent created,
``_reset_client_after_fork`` gives the child a fresh queue and starts a new
``tracing_control_thread_func`` thread at once (``start_quietly(threading.Thread(...))``), whether
or not the child will ever trace. Plain Python's child has only the thread that forked.
No network: a client is created, no run is sent.
"""

import logging
import os
import sys
import time
import warnings

import langsmith  # lsautofix applies its patches when langsmith is imported
from langsmith.schemas import LangSmithInfo

logging.getLogger("langsmith").setLevel(logging.ERROR)  # its notes on the empty info, in both modes
# A client, as any traced function creates one; it sends nothing (and, given its info, asks nothing).
client = langsmith.Client(api_url="http://127.0.0.1:9", api_key="repro", info=LangSmithInfo())
warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "fork() while multi-threaded" (both modes)

pid = os.fork()
if pid == 0:
    time.sleep(0.2)  # let a thread started by a fork hook show up
    os._exit(len(sys._current_frames()))
_, status = os.waitpid(pid, 0)
threads = os.waitstatus_to_exitcode(status)
print(f"threads running in the fork child: {threads}")
sys.exit(0 if threads == 1 else 1)
