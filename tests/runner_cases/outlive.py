"""A thread that outlives the main body uses __main__: its globals, a class pickled by reference."""

import pickle
import sys
import threading
import time

import langsmith  # noqa: F401 - lsautofix applies its patches (Thread.start among them) on this import


class Checkpoint:
    def __init__(self, step):
        self.step = step


MARK = "set by the main body"


def later():
    time.sleep(0.3)
    main = sys.modules["__main__"]
    restored = pickle.loads(pickle.dumps(Checkpoint(3)))
    print("thread after main:", main.MARK, type(restored).__module__, type(restored).__qualname__, restored.step)


threading.Thread(target=later).start()
print("main body done")
