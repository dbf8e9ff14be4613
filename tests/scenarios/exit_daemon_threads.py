"""Daemon threads that keep creating runs while the program exits, against a healthy endpoint.

Whatever they create after the exit flush is lost (as in plain Python); lsautofix must not blame
the endpoint for it.
"""

import threading
import time

from langsmith import traceable


@traceable(name="tick")
def tick(i: int) -> int:
    return i


def ticker() -> None:
    i = 0
    while True:
        tick(i)
        i += 1
        time.sleep(0.001)


@traceable(name="main")
def main() -> None:
    for _ in range(2):
        threading.Thread(target=ticker, daemon=True).start()
    time.sleep(0.2)


if __name__ == "__main__":
    main()
