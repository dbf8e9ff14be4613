"""A traced parent fanning traced children out through Ray (a local `ray.init()`): `engines_ray.py KIND...`.

KIND: tasks (8 remote function calls), actor (8 calls of a method of 2 actors), async_actor
(the same on an async actor), nested (a traced remote function that fans out remote calls
itself), two_parents (two traced parents in turn on the same workers), untraced (calls made
outside any trace, after traced ones). Several kinds run in turn on one cluster, each parent
named after its kind (`parent_tasks`, `parent_b_two_parents`, ...); a single kind names them
`parent` and `parent_b`. The run ends with ray.shutdown() right after the last result.
"""

import sys

import ray
from langsmith import traceable

N = 8


@traceable(name="child")
def child(i: int) -> int:
    return i * i


@ray.remote
def child_task(i: int) -> int:
    return child(i)


@ray.remote
@traceable(name="middle")
def middle_task(i: int) -> list:
    return ray.get([child_task.remote(j) for j in range(i)])


@ray.remote
class Worker:
    def work(self, i: int) -> int:
        return child(i)


@ray.remote
class AsyncWorker:
    async def work(self, i: int) -> int:
        return child(i)


def fan_out(kind: str) -> list:
    if kind in ("tasks", "two_parents", "untraced"):
        return ray.get([child_task.remote(i) for i in range(N)])
    if kind in ("actor", "async_actor"):
        cls = Worker if kind == "actor" else AsyncWorker
        actors = [cls.remote(), cls.remote()]
        return ray.get([actors[i % 2].work.remote(i) for i in range(N)])
    if kind == "nested":
        return ray.get([middle_task.remote(N // 2), middle_task.remote(N // 2)])
    raise SystemExit(f"unknown kind {kind}")


def run_kind(kind: str, suffix: str) -> None:
    print(traceable(name="parent" + suffix)(fan_out)(kind))
    if kind == "two_parents":
        print(traceable(name="parent_b" + suffix)(fan_out)(kind))
    if kind == "untraced":
        print(fan_out(kind))


def main() -> None:
    kinds = sys.argv[1:]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    for kind in kinds:
        run_kind(kind, f"_{kind}" if len(kinds) > 1 else "")
    ray.shutdown()


if __name__ == "__main__":
    main()
