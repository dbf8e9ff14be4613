"""Spawn children that load the SDK only if their work does: `spawn_lazy_sdk.py METHOD`.

The main module imports langsmith only under `__main__`, so a spawn child, which re-imports it as
`__mp_main__`, has the SDK only if a task imports it. A traced parent runs, on one Pool: a map of
tasks that never import it but pass a value through a multiprocessing Queue, whose feeder thread
they start (each reports whether its worker had the SDK loaded), then a map of tasks
that import it and trace (a child run, with a thread of its own started inside it); on a new Pool,
tasks whose thread, not the task, imports it first; then a Process whose target imports it inside
an asyncio coroutine. Prints the untraced tasks' reports.
"""

import sys
import threading

N = 4


def untraced(i: int) -> tuple[int, bool]:
    import multiprocessing

    queue = multiprocessing.Queue()  # put() starts the queue's feeder thread: no one's work
    queue.put(i * i)
    square = queue.get()
    queue.close()
    queue.join_thread()
    return square, "langsmith" in sys.modules


def leaf(i: int) -> int:
    return i * i


def lazy(i: int) -> int:
    from langsmith import traceable

    def work(j: int) -> int:
        out = []
        thread = threading.Thread(target=lambda: out.append(traceable(name="leaf")(leaf)(j)))
        thread.start()
        thread.join()
        return out[0]

    return traceable(name="child")(work)(i)


def lazy_in_thread(i: int) -> int:
    """The SDK is first imported by a thread this task starts."""

    def in_thread(out: list) -> None:
        from langsmith import traceable

        out.append(traceable(name="thread_child")(leaf)(i))

    out: list = []
    thread = threading.Thread(target=in_thread, args=(out,))
    thread.start()
    thread.join()
    return out[0]


def lazy_async_process() -> None:
    import asyncio

    from langsmith import traceable

    async def step() -> int:
        await asyncio.sleep(0)
        return 1

    asyncio.run(traceable(name="process_child")(step)())


def main() -> None:
    import multiprocessing

    from langsmith import traceable

    ctx = multiprocessing.get_context(sys.argv[1])

    @traceable(name="parent")
    def parent() -> list:
        with ctx.Pool(2) as pool:
            reports = pool.map(untraced, range(N))
            pool.map(lazy, range(N))
        with ctx.Pool(1) as pool:
            pool.map(lazy_in_thread, range(2))
        process = ctx.Process(target=lazy_async_process)
        process.start()
        process.join()
        return reports

    print(parent())


if __name__ == "__main__":
    main()
