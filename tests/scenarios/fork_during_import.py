"""A fork made while one of lsautofix's threads may be importing: the children must still leave.

After a fork, a module another thread was importing stays locked for ever in the child (the
lock's owner does not exist there). The parent traces (tracing's first steps start lsautofix's
threads), and every import those threads make is held until the forks are done: a child whose
exit imports anything that thread was importing hangs. The first child leaves without tracing,
the second traces first. Prints one line per child and whether a thread of lsautofix's imported.
"""

import importlib.abc
import os
import sys
import threading
import time

from langsmith import traceable

entered = threading.Event()
release = threading.Event()


class HoldImportsOfLsautofixThreads(importlib.abc.MetaPathFinder):
    """Holds the body of any module a thread of lsautofix's imports until ``release``: meanwhile
    that module's lock is held, as while a real import runs (only that lock: a finder itself runs
    under the global import lock, so the wait is in the loader)."""

    def find_spec(self, name, path=None, target=None):
        if not threading.current_thread().name.startswith("lsautofix"):
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None and spec.loader is not None:
                    spec.loader = HeldLoader(spec.loader)
                    return spec
        return None


class HeldLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        entered.set()
        release.wait(30)
        self.loader.exec_module(module)


@traceable(name="child_work")
def child_work() -> None:
    pass


@traceable(name="parent")
def parent() -> None:
    pass


if __name__ == "__main__":
    finder = HoldImportsOfLsautofixThreads()
    sys.meta_path.insert(0, finder)
    parent()
    entered.wait(1.0)  # long enough for a thread started by the first run to reach an import
    print(f"a thread of lsautofix's imported: {entered.is_set()}", flush=True)
    pids = []
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            sys.meta_path.remove(finder)  # the child's own imports are not held
            if i == 1:
                child_work()
            sys.exit(0)
        pids.append(pid)
    release.set()
    deadline = time.monotonic() + 20
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(f"child exit status {os.waitstatus_to_exitcode(status)}", flush=True)
                break
            if time.monotonic() > deadline:
                print("child hung", flush=True)
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)
