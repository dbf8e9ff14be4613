"""Pool.terminate() while the workers are busy creating runs (their main threads deep in the SDK).

Usage: terminate_busy.py METHOD WORKERS SECONDS. The workers trace leaves as fast as they can;
once each has made 200, the parent lets them go on for SECONDS more and terminates the pool.
It prints how long terminate() and join() took. The run ledger (LSAUTOFIX_LEDGER) records every run each process created, so a test can compare
created with delivered.
"""

import multiprocessing as mp
import sys
import time

from langsmith import traceable

_ready = None


def _remember(queue) -> None:
    global _ready
    _ready = queue


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="busy")
def busy(worker: int) -> None:
    for i in range(10_000_000):
        leaf(i)
        if i == 200:
            _ready.put(worker)


@traceable(name="parent")
def parent(method: str, workers: int, seconds: float) -> None:
    context = mp.get_context(method)
    ready = context.Queue()
    pool = context.Pool(workers, initializer=_remember, initargs=(ready,))
    for w in range(workers):
        pool.apply_async(busy, (w,))
    for _ in range(workers):
        ready.get(timeout=60)
    time.sleep(seconds)  # the moment of terminate(), while every worker is mid-task
    started = time.monotonic()
    pool.terminate()
    pool.join()
    print(f"terminated in {time.monotonic() - started:.2f} s", flush=True)


if __name__ == "__main__":
    parent(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
