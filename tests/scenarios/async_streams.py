"""Streaming async code, written as the docs write it, with no manual hand-off of the parent.

`async_streams.py KIND`: generators (a traced async generator streaming from another),
runnables (a RunnableLambda streaming to a child runnable), mixed, gather (concurrent consumers),
tasks (tasks created inside a traced async generator).
"""

import asyncio
import sys

from langsmith import trace, traceable


@traceable(name="leaf")
async def leaf(i: int) -> int:
    await asyncio.sleep(0)
    return i


@traceable(name="inner_stream")
async def inner_stream(n: int):
    with trace("span_in_generator"):
        for i in range(n):
            yield await leaf(i)


@traceable(name="outer_stream")
async def outer_stream(n: int):
    async for item in inner_stream(n):
        yield item


@traceable(name="tasks_stream")
async def tasks_stream(n: int):
    tasks = [asyncio.create_task(leaf(i)) for i in range(n)]
    for task in tasks:
        yield await task


async def generators() -> None:
    @traceable(name="main")
    async def main() -> list:
        return [x async for x in outer_stream(3)]

    await main()


async def gather() -> None:
    @traceable(name="main")
    async def main() -> list:
        async def consume(n: int) -> list:
            return [x async for x in outer_stream(n)]

        return await asyncio.gather(consume(2), consume(2))

    await main()


async def tasks() -> None:
    @traceable(name="main")
    async def main() -> list:
        return [x async for x in tasks_stream(3)]

    await main()


async def runnables(mixed: bool) -> None:
    from langchain_core.runnables import RunnableLambda

    async def child_fn(x: int):
        for i in range(x):
            yield i

    child = RunnableLambda(child_fn).with_config(run_name="child_runnable")

    async def parent_fn(x: int):
        async for chunk in child.astream(x):
            if mixed:
                yield await leaf(chunk)
            else:
                yield chunk

    parent = RunnableLambda(parent_fn).with_config(run_name="parent_runnable")
    if mixed:

        @traceable(name="main")
        async def main() -> list:
            return [c async for c in parent.astream(2)]

        await main()
    else:
        [c async for c in parent.astream(2)]


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind in ("runnables", "mixed"):
        asyncio.run(runnables(kind == "mixed"))
    else:
        asyncio.run({"generators": generators, "gather": gather, "tasks": tasks}[kind]())
