"""Faults in the user's own work surface exactly as without lsautofix, and nothing hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from conftest import SCENARIOS, clean_environ, command, run_script

METHODS = ("fork", "spawn", "forkserver")


@pytest.mark.parametrize("method", METHODS)
def test_exceptions_cancellation_and_broken_pools_pass_through_unchanged(collector, method):
    plain = run_script(collector, "user_faults.py", method, mode="off").stdout
    collector.reset()
    ours = run_script(collector, "user_faults.py", method, mode="env").stdout
    assert ours == plain
    assert "thread submit: UserError: bad 1 frames=['parent', 'fails']" in ours
    assert "process killed: BrokenProcessPool" in ours and "process os._exit: BrokenProcessPool" in ours
    assert "task cancelled: CancelledError" in ours  # the message's args differ by Python version


def _interrupt(collector, method: str, mode: str) -> tuple[int, str, float]:
    env = clean_environ(collector.env())
    if mode == "env":
        env["LANGSMITH_AUTOFIX"] = "1"
    proc = subprocess.Popen(
        command("interrupt.py", [method], "off"), env=env, cwd=SCENARIOS, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    time.sleep(0.5)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    try:
        _, err = proc.communicate(timeout=20)  # a hang is retried: see below
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, "hung", time.monotonic() - start
    return proc.returncode, err.strip().splitlines()[-1], time.monotonic() - start


def _interrupt_unless_cpython_hangs(collector, method: str, mode: str) -> tuple[int, str, float]:
    """The first of three tries that CPython's own Pool race did not hang.

    Ctrl-C to the whole group kills workers of KeyboardInterrupt while the pool's handler thread
    replaces them, and CPython's Pool then hangs in ``terminate()`` now and then with or without
    lsautofix (fork, 3.11: 2 of 20 runs plain, 2 of 20 installed). Three hangs in a row is a hang.
    A run not over in 20 s counts as hung: one that ends takes a few seconds, and lsautofix's must
    end within 15.
    """
    for _ in range(3):
        result = _interrupt(collector, method, mode)
        if result[1] != "hung":
            return result
    return result


@pytest.mark.parametrize("method", METHODS)
def test_keyboard_interrupt_during_pool_map_surfaces_and_nothing_hangs(collector, method):
    ours = _interrupt_unless_cpython_hangs(collector, method, "env")
    assert ours[1] == "KeyboardInterrupt" and ours[0] == -signal.SIGINT, ours
    assert ours[2] < 15, ours
    plain = _interrupt_unless_cpython_hangs(collector, method, "off")
    assert ours[:2] == plain[:2]
