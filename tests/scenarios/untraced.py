"""Ordinary concurrent work, with or without tracing; prints results and the threads left running."""

import asyncio
import contextvars
import multiprocessing as mp
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

if len(sys.argv) > 1 and sys.argv[1] == "no-langsmith":
    sys.modules["langsmith"] = None  # type: ignore[assignment]  # as if it were not installed
    try:
        import langsmith  # noqa: F401
    except ImportError:
        ABSENT = True  # printed by the main process only: spawn workers import this module too

    def traceable(fn=None, **_):
        return fn if fn is not None else (lambda f: f)
else:
    from langsmith import traceable

var = contextvars.ContextVar("var", default="unset")


@traceable
def square(x):
    return x * x


def read_var(_=None):
    return var.get()


@traceable
def main():
    var.set("main")
    out = []
    with ThreadPoolExecutor(2) as pool:
        out.append(list(pool.map(square, range(4))))
        out.append(pool.submit(read_var).result())  # threads do not inherit context in plain Python
    t = threading.Thread(target=lambda: out.append(("thread", read_var())))
    t.start()
    t.join()
    with mp.get_context("spawn").Pool(2) as p:
        out.append(p.map(square, range(4)))
    with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as ex:
        out.append(ex.submit(square, 3).result())

    async def coro():
        return await asyncio.create_task(asyncio.sleep(0, "slept"))

    out.append(asyncio.run(coro()))
    return out


if __name__ == "__main__":
    if globals().get("ABSENT"):
        print("langsmith: absent")
    print(main())
    print("lsautofix threads:", sorted(t.name for t in threading.enumerate() if "lsautofix" in t.name))
