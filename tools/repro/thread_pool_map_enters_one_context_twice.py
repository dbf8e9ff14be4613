"""``ThreadPool.map`` under tracing state: several workers enter one captured Context at once.

    python tools/repro/thread_pool_map_enters_one_context_twice.py                      # plain: a list
    LANGSMITH_AUTOFIX=1 python tools/repro/thread_pool_map_enters_one_context_twice.py  # RuntimeError

CPython's test_multiprocessing_fork ``WithThreadsTestPool`` (``test_map``, ``test_map_async``,
``test_map_no_failfast``, ``test_imap``, ``test_imap_unordered`` and their
``_handle_iterable_exception`` variants) fail with lsautofix for this reason: ``RuntimeError:
cannot enter context: <_contextvars.Context object ...> is already entered``. The patched
``Pool._map_async``/``imap``/``imap_unordered`` (src/lsautofix/patches/processes.py,
``_with_snapshot``) capture the context once per call (``context.capture()``, one
``contextvars.Context`` copy) and submit every chunk as ``functools.partial(captured.run, fn)``;
a ``Context`` can be entered by one thread at a time, and the pool's threads run chunks at once.
``multiprocessing.dummy.Pool`` is the same ``ThreadPool``. (``apply_async`` captures per call and
is not affected.) No network: any tracing context (a project name) makes lsautofix wrap the tasks.
"""

import sys
import time
from multiprocessing.pool import ThreadPool

import langsmith  # lsautofix applies its patches when langsmith is imported


def slow_square(x: int) -> int:
    time.sleep(0.1)  # chunks overlap in time, as in any real pool
    return x * x


if __name__ == "__main__":
    with langsmith.tracing_context(project_name="repro"), ThreadPool(4) as pool:  # nothing is sent
        try:
            print(f"map: {pool.map(slow_square, range(8), chunksize=1)}")
        except RuntimeError as exc:
            print(f"map: RuntimeError: {exc}")
            sys.exit(1)
