"""A batch job that scores documents in a fork-started process pool.

Plain Python loses every run the workers create: a forked worker inherits the parent's tracing
client, but not the thread that uploads its queue, and ``Pool.__exit__`` terminates the workers
anyway. `lsautofix doctor examples/pool_fork.py` shows the runs that never arrive.
"""

import multiprocessing as mp

from langsmith import traceable


@traceable(name="embed", run_type="embedding")
def embed(text: str) -> list[float]:
    return [float(ord(c)) for c in text[:4]]


@traceable(name="score", run_type="chain")
def score(text: str) -> float:
    return sum(embed(text)) / 100


@traceable(name="batch", run_type="chain")
def batch(docs: list[str]) -> float:
    with mp.get_context("fork").Pool(2) as pool:
        scores = pool.map(score, docs)
    return max(scores)


if __name__ == "__main__":
    print("best score:", batch(["alpha", "beta", "gamma", "delta"]))
