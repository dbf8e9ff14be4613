"""gevent and eventlet programs: threads are green there, and lsautofix must not stop them.

lsautofix's SIGTERM watcher is a thread blocked on a pipe; under gevent's monkey-patching it was a
greenlet whose blocking read stopped the whole process (the program never ended, and SIGTERM no
longer ended it). Green programs now keep SIGTERM's default action; threads, executors and the
exit flush work as elsewhere.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from conftest import command, run_script
from test_no_harm_exit import _environ
from trees import assert_trees

LEAVES = 8  # green_threads.py: map 5, submit 1, Thread 1, Timer 1


def _timed(collector, *args: str, mode: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_script(collector, "green_threads.py", *args, mode=mode, timeout=60)
    return proc, time.monotonic() - started


def test_a_gevent_program_runs_and_ends_as_in_plain_python_with_its_threads_nested(collector, mode):
    pytest.importorskip("gevent")
    plain, plain_s = _timed(collector, "gevent", mode="off")
    collector.reset()
    fixed, fixed_s = _timed(collector, "gevent", mode=mode)
    assert fixed.stdout == plain.stdout == "[0, 1, 2, 3, 4, 5]\n"
    assert fixed_s < plain_s + 3.0, (plain_s, fixed_s)
    assert_trees(collector.store, ("parent", ["leaf"] * LEAVES))


def test_a_gevent_program_keeps_sigterms_default_action(collector):
    pytest.importorskip("gevent")
    for mode in ("off", "env"):
        proc = subprocess.Popen(
            command("green_threads.py", ["gevent", "wait"]),
            env=_environ(collector, mode),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline(), proc.stdout.readline()]
            assert lines[1] == "ready\n", lines
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == -signal.SIGTERM, mode
        finally:
            proc.kill()
            proc.communicate()


def test_an_eventlet_program_runs_and_ends_as_in_plain_python(collector):
    """The SDK's own flush fails under eventlet (its green ``PriorityQueue`` has no
    ``all_tasks_done``), so runs may be lost with or without lsautofix: it must change nothing
    else, and lose nothing plain Python delivers."""
    pytest.importorskip("eventlet")
    plain, plain_s = _timed(collector, "eventlet", mode="off")
    plain_runs = len(collector.store.runs())
    collector.reset()
    fixed, fixed_s = _timed(collector, "eventlet", mode="env")
    assert fixed.stdout == plain.stdout == "[0, 1, 2, 3, 4, 5]\n"
    assert fixed_s < plain_s + 3.0, (plain_s, fixed_s)
    assert len(collector.store.runs()) >= plain_runs
