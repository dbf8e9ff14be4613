"""Fire-and-forget on a warm, shared executor: its threads exist before the traced handler runs.

The handler submits a job and returns; by the time the job runs, nothing in the handler's frames
holds its run any more. The job must still land under the handler.
"""

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable

pool = ThreadPoolExecutor(2)
gate = threading.Event()


@traceable(name="job")
def job(i: int) -> int:
    gate.wait(10)
    return i


@traceable(name="handler")
def handler(i: int) -> None:
    pool.submit(job, i)


if __name__ == "__main__":
    list(pool.map(abs, range(-4, 0)))  # warm: both worker threads started, outside any trace
    handler(1)
    handler(2)
    gc.collect()  # the handlers' runs are gone from every frame; only the queued jobs hold them
    gate.set()
    pool.shutdown(wait=True)
