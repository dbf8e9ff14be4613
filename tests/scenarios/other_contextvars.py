"""Context variables that are not tracing's behave as in plain Python, traced or not.

Prints what the program observes; a test compares the output with plain Python's.
- decimal: a thread that raises its precision must not change the main thread's.
- a per-worker cache in a ContextVar persists across the tasks one worker thread runs.
- a value set in the submitter does not leak into executor tasks or new threads.
Then the same cache where the submitter's context holds nothing but the SDK's tracing values
(a traced function called in an empty context), through ``map`` and through ``submit`` with and
without keywords, and what an untraced task sees afterwards on the same workers.
"""

import contextvars
import decimal
import threading
from concurrent.futures import ThreadPoolExecutor

from langsmith import traceable

session: contextvars.ContextVar = contextvars.ContextVar("session", default=None)
opened = []
request_id: contextvars.ContextVar = contextvars.ContextVar("request_id", default="none")


def get_session() -> str:
    if session.get() is None:
        session.set(f"session-{threading.get_ident()}")
        opened.append(1)
    return session.get()


@traceable(name="work")
def work(i: int) -> str:
    return request_id.get()


def task(i: int) -> str:
    get_session()  # outside the traced function, which runs in a copy of the context (the SDK's choice)
    return work(i)


both_workers = threading.Barrier(2)


def first_task(i: int) -> str:
    """The first round's: its first two tasks meet, so that the executor starts both workers.

    Without it, a worker that finishes its task before the next submit takes that one too, and
    one worker may run everything (plain Python as well, under load)."""
    if i < 2:
        both_workers.wait(timeout=30)
    return task(i)


def raise_precision() -> None:
    decimal.getcontext().prec = 40


@traceable(name="parent")
def parent() -> None:
    decimal.getcontext().prec = 12
    request_id.set("parent-request")
    thread = threading.Thread(target=raise_precision)
    thread.start()
    thread.join()
    print("main precision after thread:", decimal.getcontext().prec)
    seen = []
    with ThreadPoolExecutor(2) as pool:
        for round_ in range(4):
            seen.extend(pool.map(first_task if round_ == 0 else task, range(4)))
    print("sessions opened for 16 tasks on 2 workers:", len(opened))
    print("request ids seen in tasks:", sorted(set(seen)))
    box = []
    thread = threading.Thread(target=lambda: box.append(request_id.get()))
    thread.start()
    thread.join()
    print("request id seen in a new thread:", box)


clean_opened = []
clean_session: contextvars.ContextVar = contextvars.ContextVar("clean_session", default=None)
clean_workers = threading.Barrier(2)


def clean_task(i: int) -> str:
    if i < 2 and len(clean_opened) < 2:
        clean_workers.wait(timeout=30)  # as first_task: both workers start
    if clean_session.get() is None:
        clean_session.set(f"session-{threading.get_ident()}")
        clean_opened.append(1)
    return work(i)


@traceable(name="clean_parent")
def clean_parent(pool: ThreadPoolExecutor) -> None:
    for _ in range(4):
        list(pool.map(clean_task, range(4)))


solo_opened = []
solo_session: contextvars.ContextVar = contextvars.ContextVar("solo_session", default=None)


def solo_task(i: int) -> str:
    if solo_session.get() is None:
        solo_session.set(f"session-{threading.get_ident()}")
        solo_opened.append(1)
    return work(i)


@traceable(name="solo_parent")
def solo_parent(pool: ThreadPoolExecutor) -> None:
    for i in range(3):
        pool.submit(solo_task, i).result()
    for i in range(3):
        pool.submit(solo_task, i=i).result()


def untraced_probe() -> tuple:
    from langsmith.run_helpers import get_current_run_tree

    return get_current_run_tree() is None, clean_session.get() is not None, solo_session.get() is not None


def clean() -> None:
    with ThreadPoolExecutor(2) as pool:
        clean_parent(pool)
        print("sessions opened for 16 tasks on 2 workers, tracing values alone:", len(clean_opened))
        probes = {pool.submit(untraced_probe).result() for _ in range(4)}
        print("later untraced tasks (no run, session kept):", sorted(probes))
    with ThreadPoolExecutor(1) as pool:
        solo_parent(pool)
        print("sessions opened for 6 submitted tasks on 1 worker, tracing values alone:", len(solo_opened))
        print("a later untraced task (no run, sessions):", pool.submit(untraced_probe).result())


if __name__ == "__main__":
    parent()
    contextvars.Context().run(clean)
