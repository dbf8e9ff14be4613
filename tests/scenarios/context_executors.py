"""Executors that already copy context (langsmith's and langchain_core's) keep working."""

from langsmith import traceable
from langsmith.utils import ContextThreadPoolExecutor


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent() -> None:
    with ContextThreadPoolExecutor(2) as pool:
        pool.submit(leaf, 1).result()
        list(pool.map(leaf, [2, 3]))
    try:
        from langchain_core.runnables.config import ContextThreadPoolExecutor as LCExecutor
    except ImportError:
        for i in (4, 5):
            leaf(i)  # keep the tree's shape the same without langchain_core
        return
    with LCExecutor(2) as pool:
        pool.submit(leaf, 4).result()
        list(pool.map(leaf, [5]))


if __name__ == "__main__":
    parent()
