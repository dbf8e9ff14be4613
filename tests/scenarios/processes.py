"""Work sent to child processes from inside a traced parent: `processes.py START_METHOD KIND`."""

import multiprocessing as mp
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int = 0, j: int = 0) -> int:
    return i + j


def run_leaf(i: int) -> None:
    leaf(i)


def leaf_then_sys_exit() -> None:
    leaf(2)
    sys.exit(0)


def leaf_then_os_exit() -> None:
    leaf(3)
    os._exit(0)


class LeafProcess(mp.Process):
    def run(self) -> None:  # a subclass that overrides run
        leaf(1)


@traceable(name="inner")
def inner(i: int) -> None:
    """Runs in a child process and starts threads there."""
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(leaf, [i, i]))


def start_in_thread(ctx: mp.context.BaseContext) -> None:
    process = ctx.Process(target=inner, args=(7,))
    process.start()
    process.join()


@traceable(name="caller")
def caller(pool, n: int) -> None:
    for i in range(n):
        pool.apply(leaf, (i,))


def reused_states() -> str:
    """In the worker: the snapshots' states it keeps, and the child runs their parents still list."""
    import json

    from lsautofix import context

    mine = [state for pid, _, state in context._remote_states if pid == os.getpid() and state is not None]
    return json.dumps({"states": len(mine), "children": sum(len(s.args[1].child_runs) for s in mine)})


@traceable(name="parent")
def parent(method: str, kind: str) -> None:
    ctx = mp.get_context(method)
    if kind == "pool":  # every Pool method; the with-block ends in terminate()
        with ctx.Pool(2) as pool:
            pool.map(leaf, range(3))
            list(pool.imap(leaf, range(2)))
            list(pool.imap_unordered(leaf, range(2)))
            pool.starmap(leaf, [(1, 2), (3, 4)])
            pool.apply(leaf, (1,))
            pool.apply_async(leaf, (2,)).get()
            pool.map_async(leaf, range(2)).get()
            pool.starmap_async(leaf, [(5, 6)]).get()
    elif kind == "interleaved":  # two callers share one worker, their tasks alternating
        with ctx.Pool(1) as pool:
            threads = [threading.Thread(target=caller, args=(pool, 12)) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print(pool.apply(reused_states))
    elif kind == "pool_close":
        pool = ctx.Pool(2)
        pool.map(leaf, range(4))
        pool.close()
        pool.join()
    elif kind == "executor":
        with ProcessPoolExecutor(2, mp_context=ctx) as executor:
            executor.submit(leaf, 1).result()
            list(executor.map(leaf, range(3)))
    elif kind == "process":
        for process in (ctx.Process(target=run_leaf, args=(1,)), LeafProcess()):
            process.start()
            process.join()
    elif kind == "exits":
        for target in (leaf_then_sys_exit, leaf_then_os_exit):
            process = ctx.Process(target=target)
            process.start()
            process.join()
            assert process.exitcode == 0, process.exitcode
    elif kind == "nested":  # thread -> process -> threads
        thread = threading.Thread(target=start_in_thread, args=(ctx,))
        thread.start()
        thread.join()
    else:
        raise SystemExit(f"unknown kind {kind}")


if __name__ == "__main__":
    parent(sys.argv[1], sys.argv[2])
