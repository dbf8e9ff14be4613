"""os.fork() in a process that has already traced: the child's runs must arrive, once."""

import os

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent() -> None:
    leaf(0)  # the parent has queued runs (and maybe an upload in flight) when it forks
    pid = os.fork()
    if pid == 0:
        leaf(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


if __name__ == "__main__":
    parent()
