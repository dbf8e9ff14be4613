"""A task called with a keyword argument named ``self`` or ``fn`` fails with lsautofix.

    python tools/repro/task_keyword_named_self_or_fn.py                      # plain: every call works
    LANGSMITH_AUTOFIX=1 python tools/repro/task_keyword_named_self_or_fn.py  # lsautofix: TypeError

CPython's test_concurrent_futures ``ProcessPool*ProcessPoolExecutorTest.test_submit_keyword``
(fork, forkserver, spawn) fails with lsautofix for this reason: it submits
``capture(1, self=2, fn=3)``. lsautofix wraps each process task in ``RemoteCall``
(src/lsautofix/patches/processes.py), whose ``__call__(self, *args, **kwargs)`` then calls
``context.run_remote(snapshot, fn, *args, **kwargs)`` (src/lsautofix/context.py): a task keyword
named ``self``, ``fn`` or ``snapshot`` collides with those parameters. ``ThreadPool`` tasks go
through ``LocalContext.run(self, fn, *args, **kwargs)`` (context.py), with the same collision.
Positional-only parameters (``def __call__(self, /, *args, **kwargs)``) keep every keyword the
task's. No network: any tracing context (a project name) makes lsautofix wrap the task.
"""

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.pool import ThreadPool

import langsmith  # lsautofix applies its patches when langsmith is imported


def capture(*args, **kwargs):
    return args, kwargs


def process_pool_executor():
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as executor:
        return executor.submit(capture, 1, self=2, fn=3).result(timeout=30)


def process_pool():
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply_async(capture, (1,), {"self": 2}).get(timeout=30)


def thread_pool():
    with ThreadPool(1) as pool:
        return pool.apply_async(capture, (1,), {"fn": 2}).get(timeout=30)


def main():
    failures = 0
    with langsmith.tracing_context(project_name="repro"):  # any tracing state; nothing is sent
        for call in (process_pool_executor, process_pool, thread_pool):
            try:
                print(f"{call.__name__}: {call()}")
            except TypeError as exc:  # what the collision raises
                failures += 1
                print(f"{call.__name__}: {type(exc).__name__}: {exc}")
    return failures


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
