"""A parent with N traced children, then exit: `short_trace.py [N] [pool]` (pool: children in a fork Pool)."""

import multiprocessing as mp
import sys

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent(n: int, pool: bool) -> None:
    if pool:
        with mp.get_context("fork").Pool(2) as p:
            p.map(leaf, range(n))
    else:
        for i in range(n):
            leaf(i)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    print("started", flush=True)  # tests time the work and the exit from here, start-up excluded
    parent(n, len(sys.argv) > 2 and sys.argv[2] == "pool")
    print("result ok", flush=True)
