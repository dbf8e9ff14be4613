"""Faults in the user's own work, inside a traced parent; prints one line per case.

Run with and without lsautofix: the lines must be identical (type, message, user frames).
"""

import asyncio
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from langsmith import traceable


class UserError(Exception):
    pass


def fails(x):
    raise UserError(f"bad {x}")


def sleeps(x):
    time.sleep(x)
    return x


def kill_self(_):
    os.kill(os.getpid(), signal.SIGKILL)


def exits(_):
    os._exit(3)


def returns(x):
    return {"value": x, "list": [x, x]}


def user_frames(exc):
    return [f.name for f in traceback.extract_tb(exc.__traceback__) if f.filename == __file__]


def describe(exc):
    return f"{type(exc).__name__}: {exc} frames={user_frames(exc)}"


@traceable(name="parent")
def parent(method: str) -> list:
    out = []
    ctx = mp.get_context(method)
    with ThreadPoolExecutor(2) as pool:
        try:
            pool.submit(fails, 1).result()
        except UserError as e:
            out.append("thread submit: " + describe(e))
        out.append(f"thread map result: {list(pool.map(returns, [1, 2]))}")
        blocker = threading.Event()
        pool.submit(blocker.wait, 5)
        pool.submit(blocker.wait, 5)
        queued = pool.submit(returns, 0)
        out.append(f"thread cancel queued: {queued.cancel()} cancelled={queued.cancelled()}")
        blocker.set()
    with ctx.Pool(2) as p:
        try:
            p.map(fails, [1])
        except UserError as e:
            out.append(f"pool map: {type(e).__name__}: {e}")
        out.append(f"pool apply result: {p.apply(returns, (5,))}")
    with ProcessPoolExecutor(1, mp_context=ctx) as ex:
        try:
            ex.submit(fails, 2).result()
        except UserError as e:
            out.append(f"process submit: {type(e).__name__}: {e}")
    ex = ProcessPoolExecutor(1, mp_context=ctx)
    try:
        ex.submit(kill_self, 0).result()
    except BrokenProcessPool as e:
        out.append(f"process killed: {type(e).__name__}")
    ex.shutdown()
    ex = ProcessPoolExecutor(1, mp_context=ctx)
    try:
        ex.submit(exits, 0).result()
    except BrokenProcessPool as e:
        out.append(f"process os._exit: {type(e).__name__}")
    ex.shutdown()

    async def cancelled():
        task = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel("stop")
        try:
            await task
        except asyncio.CancelledError as e:
            return f"task cancelled: {type(e).__name__} {e.args}"

    out.append(asyncio.run(cancelled()))
    return out


if __name__ == "__main__":
    for line in parent(sys.argv[1] if len(sys.argv) > 1 else "fork"):
        print(line)
