"""install() / uninstall(): idempotent, exact restore, safe from several threads."""

from __future__ import annotations

import asyncio
import concurrent.futures.process
import concurrent.futures.thread
import multiprocessing.pool
import multiprocessing.process
import multiprocessing.spawn
import os
import threading

import pytest

import lsautofix
from lsautofix import _lifecycle

TARGETS = [
    (threading.Thread, "start"),
    (concurrent.futures.thread.ThreadPoolExecutor, "submit"),
    (concurrent.futures.thread._WorkItem, "__init__"),
    (concurrent.futures.process.ProcessPoolExecutor, "submit"),
    (multiprocessing.process.BaseProcess, "start"),
    (multiprocessing.process.BaseProcess, "_bootstrap"),
    (multiprocessing.pool.Pool, "apply_async"),
    (multiprocessing.pool.Pool, "_map_async"),
    (multiprocessing.pool.Pool, "imap"),
    (multiprocessing.pool.Pool, "imap_unordered"),
    (multiprocessing.spawn, "get_preparation_data"),
    (os, "_exit"),
    (asyncio, "create_task"),
    (asyncio.tasks, "create_task"),
]


#: Attributes a class inherits and lsautofix puts on the class itself: absent again after uninstall.
INHERITED = [(concurrent.futures.thread.ThreadPoolExecutor, "map")]
_ABSENT = object()


def _client_daemon_slot() -> object:
    from langsmith.client import Client

    return vars(Client)["_use_daemon_threads"]


def _current() -> list[object]:
    import signal

    found = [vars(owner)[name] if isinstance(owner, type) else getattr(owner, name) for owner, name in TARGETS]
    found += [vars(owner).get(name, _ABSENT) for owner, name in INHERITED]
    return [*found, _client_daemon_slot(), signal.getsignal(signal.SIGTERM)]


@pytest.fixture
def pristine():
    """Start from the unpatched state, and leave it so."""
    lsautofix.uninstall()
    originals = _current()
    yield originals
    lsautofix.uninstall()


def test_uninstall_restores_the_exact_originals(pristine):
    lsautofix.install()
    assert lsautofix.is_installed()
    patched = _current()
    assert any(a is not b for a, b in zip(patched, pristine))
    lsautofix.uninstall()
    assert not lsautofix.is_installed()
    assert all(a is b for a, b in zip(_current(), pristine))
    assert "map" not in vars(concurrent.futures.thread.ThreadPoolExecutor)


def test_uninstall_gives_sigterm_back_its_default_action(pristine):
    import signal

    from langsmith import Client

    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    lsautofix.install()
    Client(api_url="http://127.0.0.1:9", api_key="unused", auto_batch_tracing=False)  # this process now traces
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    lsautofix.uninstall()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_install_twice_is_one_install(pristine):
    lsautofix.install()
    first = _current()
    lsautofix.install()
    assert all(a is b for a, b in zip(_current(), first))


def test_install_uninstall_a_thousand_times_leaves_the_originals(pristine):
    for _ in range(1000):
        lsautofix.install()
        lsautofix.uninstall()
    assert all(a is b for a, b in zip(_current(), pristine))


def test_install_and_uninstall_from_many_threads(pristine):
    barrier = threading.Barrier(8)

    def churn() -> None:
        barrier.wait()
        for _ in range(100):
            lsautofix.install()
            lsautofix.uninstall()

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not _lifecycle.is_installed()
    assert all(a is b for a, b in zip(_current(), pristine))


def test_another_wrapper_installed_after_us_keeps_working(pristine):
    import wrapt

    calls = []

    def theirs(wrapped, instance, args, kwargs):
        calls.append("theirs")
        return wrapped(*args, **kwargs)

    lsautofix.install()
    work_item = concurrent.futures.thread._WorkItem  # where lsautofix records a task's state
    wrapt.wrap_function_wrapper(work_item, "__init__", theirs)
    lsautofix.uninstall()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(lambda: 42).result() == 42
    assert calls == ["theirs"]
    # Ours stays in their chain, as a pass-through; theirs is left alone.
    init = vars(work_item)["__init__"]
    assert isinstance(init, wrapt.FunctionWrapper)
    work_item.__init__ = init.__wrapped__.__wrapped__


def test_untraced_work_runs_in_the_threads_own_context(pristine):
    """Create no context where none existed: untraced submits are not wrapped at all."""
    import contextvars

    lsautofix.install()
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(var.set, 5).result()
        assert pool.submit(var.get).result() == 5  # same worker thread, same context as before


def test_an_executor_task_is_recorded_by_the_work_item_and_submit_is_the_original(pristine):
    """On 3.10 to 3.13 the state is taken in ``_WorkItem.__init__``: no frame is added to ``submit``."""
    from lsautofix.patches import threads

    original_submit = vars(concurrent.futures.thread.ThreadPoolExecutor)["submit"]
    original_init = vars(concurrent.futures.thread._WorkItem)["__init__"]
    assert threads._is_known_work_item_init(original_init)
    lsautofix.install()
    assert vars(concurrent.futures.thread.ThreadPoolExecutor)["submit"] is original_submit
    init = vars(concurrent.futures.thread._WorkItem)["__init__"]
    assert init is not original_init and init.__wrapped__ is original_init


def test_a_work_item_of_another_shape_gets_submit_wrapped_instead():
    from lsautofix.patches import threads

    class FutureWorkItem:  # as on a Python whose submit resolves the task first
        def __init__(self, future, task):
            self.future = future
            self.task = task

    class Extra:
        def __init__(self, future, fn, args, kwargs):
            self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs
            self.extra = None

    assert not threads._is_known_work_item_init(FutureWorkItem.__init__)
    assert not threads._is_known_work_item_init(Extra.__init__)
    assert not threads._is_known_work_item_init(None)
