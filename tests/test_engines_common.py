"""What the engine integrations share, without any engine: entering a snapshot across two calls, stopping workers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from langsmith import run_helpers

from lsautofix import context
from lsautofix.integrations import _common


@pytest.fixture(autouse=True)
def bound() -> None:
    context.bind_langsmith()


def _snapshot() -> dict:
    """A snapshot taken under a parent run that is never posted (no endpoint is involved)."""
    from langsmith.run_trees import RunTree

    parent = RunTree(name="parent", run_type="chain")
    with run_helpers.tracing_context(parent=parent):
        return {"snapshot": context.capture_remote(), "id": str(parent.id)}


def _in_fresh_thread(fn):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", fn()))
    thread.start()
    thread.join()
    return out["result"]


def test_enter_remote_sets_the_parent_until_leave_restores_none():
    found = _snapshot()

    def work():
        before = run_helpers.get_current_run_tree()
        entered = context.enter_remote(found["snapshot"])
        during = run_helpers.get_current_run_tree()
        context.leave(entered)
        return before, during, run_helpers.get_current_run_tree()

    before, during, after = _in_fresh_thread(work)
    assert before is None and after is None
    assert during is not None and str(during.id) == found["id"]


def test_await_under_reaches_only_its_own_task():
    found = _snapshot()

    async def inner():
        await asyncio.sleep(0)
        return run_helpers.get_current_run_tree()

    async def main():
        seen = await _common.await_under(found["snapshot"], inner())
        return seen, run_helpers.get_current_run_tree()

    seen, after = _in_fresh_thread(lambda: asyncio.run(main()))
    assert seen is not None and str(seen.id) == found["id"]
    assert after is None


_CATCHES_SIGTERM = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], "w").write("flushed"), sys.exit(0)))
print("ready", flush=True)
for _ in range(600):  # short sleeps: see tests/runner_cases/wait_for_signal.py
    time.sleep(0.1)
"""


def test_terminate_before_kill_lets_a_worker_finish_on_sigterm_and_returns_when_it_is_gone(tmp_path):
    marker = tmp_path / "marker"
    worker = subprocess.Popen([sys.executable, "-c", _CATCHES_SIGTERM, str(marker)], stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "ready"
    started = time.monotonic()
    _common.terminate_before_kill([worker.pid], timeout=10)
    assert time.monotonic() - started < 5
    assert worker.wait(5) == 0 and marker.read_text() == "flushed"


def test_terminate_before_kill_is_bounded_by_its_timeout(tmp_path):
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout.readline().strip() == "ready"
        started = time.monotonic()
        _common.terminate_before_kill([worker.pid], timeout=0.5)
        assert 0.4 < time.monotonic() - started < 3
        assert worker.poll() is None  # the engine's SIGKILL, not ours, ends it
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
