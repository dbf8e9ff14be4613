"""Runs created late in a program's exit: by a non-daemon thread still working, an atexit handler,
and a weakref.finalize callback. Plain Python (and the exit flush run too early) lose them.
"""

import atexit
import threading
import time
import weakref

from langsmith import traceable


@traceable(name="late")
def late(where: str) -> str:
    return where


class Resource:
    pass


resource = Resource()
weakref.finalize(resource, late, "finalizer")  # runs at exit, from atexit


def worker() -> None:
    time.sleep(0.5)  # still working when the main thread finishes
    for i in range(3):
        late(f"thread-{i}")


@traceable(name="main")
def main() -> None:
    threading.Thread(target=worker).start()


atexit.register(late, "atexit")

if __name__ == "__main__":
    main()
