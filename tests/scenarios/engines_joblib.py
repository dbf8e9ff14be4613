"""A traced parent fanning traced children out through joblib and loky: `engines_joblib.py KIND`.

KIND: parallel (loky backend), lazy (children that import langsmith only when they run),
generator (return_as="generator"), multiprocessing, threading,
raises (one child raises after the others are done: joblib aborts and loky SIGKILLs its
workers), reusable (two parents in turn on one reusable loky executor, started by the first),
submit (loky's executor submit and map), untraced (work handed over outside any trace, on
workers started inside one).
"""

import os
import sys
import tempfile
import time

from joblib import Parallel, delayed
from langsmith import traceable
from loky import get_reusable_executor

N = 8


@traceable(name="child")
def child(i: int) -> int:
    return i * i


def _square(i: int) -> int:
    return i * i


def lazy_child(i: int) -> int:
    """Imports langsmith only when it runs: a fresh worker has not imported it before the task."""
    from langsmith import traceable as lazy_traceable

    return lazy_traceable(name="child")(_square)(i)


@traceable(name="failing_child")
def failing_child(i: int) -> int:
    raise ValueError(f"child {i} failed")


def child_then_mark(i: int, marks: str) -> int:
    """The child's run is over (and queued for upload) when its mark appears."""
    result = child(i)
    open(os.path.join(marks, str(i)), "w").close()
    return result


def fail_after_others(i: int, marks: str) -> int:
    """Raise only once every other child has finished, so the run count is exact."""
    deadline = time.monotonic() + 60
    while len(os.listdir(marks)) < N - 1 and time.monotonic() < deadline:
        time.sleep(0.01)  # waiting for the other children to finish, not for any upload
    return failing_child(i)


@traceable(name="parent")
def parent(kind: str) -> object:
    if kind in ("parallel", "multiprocessing", "threading"):
        backend = "loky" if kind == "parallel" else kind
        return Parallel(n_jobs=2, backend=backend)(delayed(child)(i) for i in range(N))
    if kind == "lazy":
        return Parallel(n_jobs=2)(delayed(lazy_child)(i) for i in range(N))
    if kind == "generator":
        return sum(Parallel(n_jobs=2, return_as="generator")(delayed(child)(i) for i in range(N)))
    if kind == "raises":
        marks = tempfile.mkdtemp()
        tasks = [delayed(child_then_mark)(i, marks) for i in range(N - 1)] + [delayed(fail_after_others)(N - 1, marks)]
        try:
            Parallel(n_jobs=2)(tasks)
        except ValueError as e:
            return f"raised: {e}"
        return "did not raise"
    if kind == "submit":
        executor = get_reusable_executor(max_workers=2)
        futures = [executor.submit(child, i) for i in range(N // 2)]
        return [f.result() for f in futures] + list(executor.map(child, range(N // 2)))
    raise SystemExit(f"unknown kind {kind}")


@traceable(name="parent_a")
def parent_a() -> list:
    executor = get_reusable_executor(max_workers=2)  # its workers start inside this trace
    return [f.result() for f in [executor.submit(child, i) for i in range(N // 2)]]


@traceable(name="parent_b")
def parent_b() -> list:
    executor = get_reusable_executor(max_workers=2)
    return [f.result() for f in [executor.submit(child, i) for i in range(N // 2)]]


def main() -> None:
    kind = sys.argv[1]
    if kind == "reusable":
        print(parent_a(), parent_b())
    elif kind == "untraced":
        parent_a()
        executor = get_reusable_executor(max_workers=2)
        print([f.result() for f in [executor.submit(child, i) for i in range(N // 2)]])
    else:
        print(parent(kind))


if __name__ == "__main__":
    main()
