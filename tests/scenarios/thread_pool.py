"""multiprocessing's ThreadPool (and multiprocessing.dummy.Pool) inside a traced function.

Every task method, with tasks running concurrently on several worker threads: each leaf must
land under the parent, and the program must print the same results as plain Python.
"""

import multiprocessing.dummy
from multiprocessing.pool import ThreadPool
import threading

from langsmith import traceable

barrier = threading.Barrier(3, timeout=10)


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i * i


@traceable(name="leaf")
def leaf2(a: int, b: int) -> int:
    return a + b


@traceable(name="leaf")
def meet(i: int) -> int:
    barrier.wait()  # three tasks of one map_async run on three threads at the same time
    return i


@traceable(name="parent")
def parent() -> list:
    out = []
    with ThreadPool(3) as pool:
        out.append(pool.map(leaf, range(4)))
        out.append(sorted(pool.imap(leaf, range(3))))
        out.append(sorted(pool.imap_unordered(leaf, range(3))))
        out.append(pool.starmap(leaf2, [(1, 2), (3, 4)]))
        out.append(pool.map_async(meet, range(3), chunksize=1).get(10))
        out.append(pool.apply(leaf, (7,)))
    with multiprocessing.dummy.Pool(2) as pool:
        out.append(pool.map(leaf, range(2)))
    return out


if __name__ == "__main__":
    print(parent())
