"""Workers started inside a traced request must not carry it into later, untraced work.

`stale_context.py executor|pool|anyio`: an executor (or a fork Pool, or anyio's worker threads,
which FastAPI runs sync endpoints on) is first used inside a traced request, so its workers start
there. Later, outside any trace, more tasks run on the same workers: their runs must be roots, and
the request's run must be freed once it has ended (anyio's idle threads live 10 s).
"""

import gc
import multiprocessing as mp
import sys
import weakref
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable
from langsmith.run_helpers import get_current_run_tree

pool = None
request_runs = []


@traceable(name="task")
def task(i: int) -> int:
    return i


@traceable(name="request")
def request(kind: str) -> None:
    global pool
    request_runs.append(weakref.ref(get_current_run_tree()))
    if kind == "executor":
        pool = ThreadPoolExecutor(2)
        list(pool.map(task, range(2)))
    else:
        pool = mp.get_context("fork").Pool(2)
        pool.map(task, range(2))


@traceable(name="request")
async def async_request() -> None:
    import anyio.to_thread

    request_runs.append(weakref.ref(get_current_run_tree()))
    for i in range(2):
        await anyio.to_thread.run_sync(task, i)


async def anyio_main() -> None:
    import anyio.to_thread

    await async_request()
    for i in range(3):
        await anyio.to_thread.run_sync(task, i)  # untraced: three roots, on the same idle thread
    gc.collect()
    print("request run freed:", request_runs[0]() is None)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "anyio":
        import asyncio

        asyncio.run(anyio_main())
        sys.exit(0)
    request(kind)
    if kind == "executor":
        list(pool.map(task, range(3)))  # untraced: three roots
    else:
        pool.map(task, range(3))
    gc.collect()
    print("request run freed:", request_runs[0]() is None)
    if kind == "executor":
        pool.shutdown()
    else:
        pool.close()
        pool.join()
