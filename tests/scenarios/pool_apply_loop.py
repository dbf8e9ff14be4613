"""`pool.apply(handle, (i,))` in a loop: each call waits for the worker's answer.

Prints the loop's wall time. A worker that flushed its runs between tasks would put every upload
on this path (against a slow endpoint, each apply then costs a round trip).
"""

import multiprocessing as mp
import sys
import time

from langsmith import traceable


@traceable(name="handle")
def handle(i: int) -> int:
    return i


@traceable(name="parent")
def parent(method: str, n: int) -> float:
    with mp.get_context(method).Pool(1) as pool:
        pool.apply(handle, (-1,))  # the worker is up and has its client (and the endpoint's /info)
        started = time.monotonic()
        for i in range(n):
            pool.apply(handle, (i,))
        elapsed = time.monotonic() - started
        pool.close()
        pool.join()
    return elapsed


if __name__ == "__main__":
    print(f"loop took {parent(sys.argv[1], int(sys.argv[2])):.6f} s")
