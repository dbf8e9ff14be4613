"""Soak: N traced tasks through a 4-worker Pool and N through a thread pool, under one parent.

Prints the parent's memory (RSS) and live object counts before and after, and after a second
identical round, so a test can see that nothing is retained.
"""

import gc
import multiprocessing as mp
import sys
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def live(kind: str) -> int:
    return sum(1 for o in gc.get_objects() if type(o).__name__ == kind)


@traceable(name="parent")
def parent(n: int, method: str) -> None:
    with mp.get_context(method).Pool(4) as pool:
        assert sum(pool.map(leaf, range(n), chunksize=64)) == n * (n - 1) // 2
    with ThreadPoolExecutor(8) as threads:
        assert sum(threads.map(leaf, range(n))) == n * (n - 1) // 2


def measure() -> str:
    gc.collect()
    return f"rss_kb={rss_kb()} contexts={live('Context')} runtrees={live('RunTree')} clients={live('Client')}"


if __name__ == "__main__":
    n, method = int(sys.argv[1]), sys.argv[2]
    parent(n, method)
    print("after:", measure(), flush=True)
