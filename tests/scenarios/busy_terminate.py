"""`with Pool()` ends while every worker is inside a long C call.

`busy_terminate.py METHOD SECONDS gil|nogil`: each worker runs traced tasks first (so it traces,
and lsautofix has taken SIGTERM there), then one C call of about SECONDS: `sum(range(n))`, which
holds the GIL (no Python runs in the worker, in any thread, until it returns), or
`hashlib.pbkdf2_hmac`, which releases it. Once both workers are in it, the `with` block ends,
which terminates the pool. Prints how long the terminate took.
"""

import hashlib
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


def crunch(how: str, seconds: float) -> object:
    _ready.put(1)  # a SimpleQueue writes on this thread: the parent knows before the call starts
    if how == "gil":
        return sum(range(int(seconds * 8e7)))
    return hashlib.pbkdf2_hmac("sha256", b"x", b"y", int(seconds * 4e6))


@traceable(name="parent")
def parent(method: str, seconds: float, how: str) -> float:
    ctx = mp.get_context(method)
    ready = ctx.SimpleQueue()
    with ctx.Pool(2, initializer=_remember, initargs=(ready,)) as pool:
        pool.map(leaf, range(4), chunksize=1)
        pool.starmap_async(crunch, [(how, seconds)] * 2, chunksize=1)
        ready.get()
        ready.get()
        started = time.monotonic()
    return time.monotonic() - started


if __name__ == "__main__":
    method, seconds, how = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    print(f"terminate took {parent(method, seconds, how):.2f} s")
