"""A small agent that fans work out to threads and to a process pool.

Plain Python loses part of this trace: the thread-pool steps become traces of their own, and the
process-pool steps are split off or never delivered. `lsautofix doctor examples/threads_and_pool.py`
shows both runs side by side.
"""

import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable


@traceable(name="fetch", run_type="tool")
def fetch(url: str) -> str:
    return f"<html>{url}</html>"


@traceable(name="score", run_type="chain")
def score(text: str) -> int:
    return len(text)


@traceable(name="research", run_type="chain")
def research(topic: str) -> int:
    urls = [f"https://example.com/{topic}/{i}" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        pages = list(pool.map(fetch, urls))
    with mp.get_context("spawn").Pool(2) as pool:
        scores = pool.map(score, pages)
    return sum(scores)


if __name__ == "__main__":
    print("total score:", research("tracing"))
