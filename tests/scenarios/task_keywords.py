"""Tasks whose keyword arguments are named like lsautofix's own parameters (self, fn, snapshot).

Prints every result; a test compares the output with plain Python's.
"""

import multiprocessing as mp
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.pool import ThreadPool

from langsmith import traceable


@traceable(name="leaf")
def leaf(**kwargs: int) -> list:
    return sorted(kwargs.items())


@traceable(name="parent")
def parent(method: str) -> None:
    names = {"self": 1, "fn": 2, "snapshot": 3, "args": 4, "kwargs": 5}
    with ThreadPoolExecutor(1) as pool:
        print(pool.submit(leaf, **names).result())
    with ThreadPool(1) as pool:
        print(pool.apply(leaf, kwds=names))
    with mp.get_context(method).Pool(1) as pool:
        print(pool.apply(leaf, kwds=names))
    with ProcessPoolExecutor(1, mp_context=mp.get_context(method)) as pool:
        print(pool.submit(leaf, **names).result())
    box = []
    thread = threading.Thread(target=lambda **kw: box.append(leaf(**kw)), kwargs=names)
    thread.start()
    thread.join()
    print(box)


if __name__ == "__main__":
    parent(sys.argv[1])
