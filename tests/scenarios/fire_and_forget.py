"""A traced function submits work and returns before the work runs."""

import threading
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable

gate = threading.Event()
pool = ThreadPoolExecutor(2)


@traceable(name="late_child")
def late_child() -> None:
    gate.wait(10)


@traceable(name="parent")
def parent() -> None:
    pool.submit(late_child)
    pool.submit(late_child)


if __name__ == "__main__":
    parent()
    import gc

    gc.collect()  # the parent run is gone from the caller's frames; only the tasks hold it
    gate.set()
    pool.shutdown(wait=True)
