"""Long-lived consumer threads started inside a traced start_service().

`consumer_threads.py [detached]`: the service starts two consumers and returns; jobs arrive later
from outside any trace. By default the consumers carry start_service's run for their whole life
(lsautofix's documented choice: a fire-and-forget thread must keep its parent), so every job
nests under that long-ended run. `detached` starts them inside tracing_context(parent=False), the
README's recipe for a worker that handles unrelated jobs: each job is then a trace of its own.
"""

import queue
import sys
import threading

from langsmith import traceable, tracing_context

jobs: "queue.Queue" = queue.Queue()


@traceable(name="job")
def handle(item: int) -> int:
    return item


def consume() -> None:
    while (item := jobs.get()) is not None:
        handle(item)


@traceable(name="start_service")
def start_service(detached: bool) -> list:
    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        if detached:
            with tracing_context(parent=False):
                thread.start()
        else:
            thread.start()
    return threads


if __name__ == "__main__":
    threads = start_service(len(sys.argv) > 1 and sys.argv[1] == "detached")
    for item in range(4):
        jobs.put(item)
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
