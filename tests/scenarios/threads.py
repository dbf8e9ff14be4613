"""Every way of starting work on a thread, from inside one traced parent (a user's code, unchanged)."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable


@traceable(name="leaf")
def leaf(kind: str, i: int = 0) -> str:
    return f"{kind}-{i}"


class Worker(threading.Thread):
    def run(self) -> None:  # a subclass that overrides run
        leaf("subclass")


async def in_loop() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, leaf, "run_in_executor_default")
    with ThreadPoolExecutor(2) as pool:
        await loop.run_in_executor(pool, leaf, "run_in_executor_pool")


@traceable(name="parent")
def parent() -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(leaf, ["map"] * 8, range(8)))
        list(pool.map(leaf, (k for k in ["map_generator"] * 2)))
        pool.submit(leaf, "submit").result()
        pool.submit(leaf, "submit_kw", i=3).result()
    thread = threading.Thread(target=leaf, args=("thread",))
    thread.start()
    thread.join()
    worker = Worker()
    worker.start()
    worker.join()
    Worker().run()  # run() without start(): runs here, in the caller's context
    timer = threading.Timer(0.001, leaf, args=("timer",))
    timer.start()
    timer.join()
    asyncio.run(in_loop())


if __name__ == "__main__":
    parent()
