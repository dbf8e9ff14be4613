"""A traced program whose threads push and pop Python frames without pause when SIGTERM comes.

`sigterm_churn.py THREADS`: traces one job, starts THREADS threads that recurse and return in a
loop and start short threads (frame stacks and the list of thread states change all the time), prints "ready" and waits. The test sends SIGTERM:
the process must die of it (exit status -15) after delivering the job, as plain Python dies of it.
Reading every thread's frames from a signal handler while they change (faulthandler's
all_threads dump) crashed such a process now and then with SIGSEGV.
"""

import sys
import threading
import time

from langsmith import traceable


@traceable(name="job")
def job() -> int:
    return 1


def churn(depth: int) -> int:
    return 0 if depth == 0 else 1 + churn(depth - 1)


def spin() -> None:
    while True:
        churn(30)
        worker = threading.Thread(target=churn, args=(30,))  # thread states made and freed too
        worker.start()
        worker.join()


if __name__ == "__main__":
    job()
    for _ in range(int(sys.argv[1])):
        threading.Thread(target=spin, daemon=True).start()
    print("ready", flush=True)
    time.sleep(120)
