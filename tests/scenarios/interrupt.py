"""Ctrl-C while a traced parent waits in Pool.map."""

import multiprocessing as mp
import sys
import time

from langsmith import traceable


def slow(x):
    time.sleep(30)
    return x


@traceable(name="parent")
def parent(method: str) -> None:
    with mp.get_context(method).Pool(2) as pool:
        print("started", flush=True)
        pool.map(slow, range(4))


if __name__ == "__main__":
    parent(sys.argv[1])
