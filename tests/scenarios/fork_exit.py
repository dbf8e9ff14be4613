"""A pre-fork server's pattern: the parent traces, then forks children that leave through sys.exit.

`fork_exit.py traced|quiet|threads`: each child either traces and exits, exits without tracing,
or reports the threads it has. Prints one line per child; the parent fails if a child does not
end within 20 s (they hung in interpreter finalization before).
"""

import os
import sys
import threading
import time

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="child_work")
def child_work(i: int) -> None:
    leaf(i)


@traceable(name="parent")
def parent() -> None:
    leaf(0)


def child(kind: str, i: int) -> None:
    if kind == "traced":
        child_work(i)
    elif kind == "threads":
        # one write: the two children's lines must not interleave
        os.write(1, f"child threads: {sorted(t.name for t in threading.enumerate())}\n".encode())
    sys.exit(0)


if __name__ == "__main__":
    kind = sys.argv[1]
    parent()
    pids = []
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            child(kind, i)
        pids.append(pid)
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
