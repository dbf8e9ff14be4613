"""A gevent or eventlet program: ``threading`` monkey-patched first, then traced work on threads.

Usage: green_threads.py gevent|eventlet [wait]. Every thread is a greenlet (or green thread)
then. The traced parent uses a ThreadPoolExecutor (map and submit), a Thread and a Timer; each
leaf must land under it, and the program must print and end as in plain Python. With ``wait``,
after the trace it prints "ready" and sleeps (cooperatively) until a signal ends it.
"""

import sys

if sys.argv[1] == "gevent":
    from gevent import monkey

    monkey.patch_all()
else:
    import warnings

    warnings.simplefilter("ignore")  # eventlet announces its deprecation on import
    import eventlet

    eventlet.monkey_patch()

import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from langsmith import traceable  # noqa: E402


@traceable(name="leaf")
def leaf(i: int) -> int:
    time.sleep(0.01)  # a green sleep: the other greenlets run meanwhile
    return i


@traceable(name="parent")
def parent() -> list:
    with ThreadPoolExecutor(4) as executor:
        out = list(executor.map(leaf, range(5)))
        future = executor.submit(leaf, 5)
    thread = threading.Thread(target=leaf, args=(6,))
    thread.start()
    thread.join()
    timer = threading.Timer(0.01, leaf, args=(7,))
    timer.start()
    timer.join()
    return out + [future.result()]


print(parent(), flush=True)
if sys.argv[2:] == ["wait"]:
    print("ready", flush=True)
    time.sleep(60)
