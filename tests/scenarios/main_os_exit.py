"""The main program leaves through os._exit: today every run it made is lost."""

import os

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent() -> None:
    for i in range(3):
        leaf(i)


if __name__ == "__main__":
    parent()
    os._exit(0)
