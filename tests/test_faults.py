"""Endpoint faults never hang exit beyond the flush timeout, and a passing fault loses nothing."""

from __future__ import annotations

import pytest

from conftest import run_script, run_script_timed
from faults import FaultProxy, HangingEndpoint, refused_url
from trees import assert_trees

TIMEOUT = 2.0
#: After the program's last line: the flush timeout, then the interpreter's own teardown with the
#: SDK loaded, 0.3 s here and 0.8-0.9 s with this machine's two cores oversubscribed (1.7 s once
#: under a third xdist worker). What this catches is a hang (plain Python still hung at 40 s).
EXIT_BUDGET = TIMEOUT + 2.0
#: The traced work itself (5 calls; with ``pool``, 2 fork workers that flush on terminate(), bounded
#: by the timeout too). Generous for a loaded machine: it takes 0.2 s (2.3 s with pool) here.
WORK_BUDGET = 3.0


def _timed(collector, url, *args):
    """The run, the seconds its traced work took and the seconds from its last line to exit.

    Start-up is left out: seconds under CI's parallel tests, and no part of the promise.
    """
    proc, (work, exit_) = run_script_timed(
        collector, "short_trace.py", *args, marks=("started", "result ok"),
        env={"LANGSMITH_ENDPOINT": url, "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": str(TIMEOUT)},
    )  # fmt: skip
    return proc, work, exit_


@pytest.mark.parametrize("pool", [False, True], ids=["main", "pool"])
def test_hanging_endpoint_delays_exit_by_at_most_the_timeout(collector, pool):
    hang = HangingEndpoint()
    try:
        proc, work, exit_ = _timed(collector, hang.url, "5", *(["pool"] if pool else []))
    finally:
        hang.close()
    assert proc.returncode == 0 and "result ok" in proc.stdout, proc.stderr
    assert exit_ < EXIT_BUDGET, exit_
    assert work < WORK_BUDGET + (TIMEOUT if pool else 0), work
    assert "not delivered" in proc.stderr  # the user is told what was lost


def test_refused_endpoint_exits_promptly_and_says_what_was_lost(collector):
    proc, work, exit_ = _timed(collector, refused_url(), "5")
    assert proc.returncode == 0 and "result ok" in proc.stdout
    assert exit_ < EXIT_BUDGET and work < WORK_BUDGET, (work, exit_)


@pytest.mark.parametrize("status", [500, 429])
def test_endpoint_answering_errors_does_not_change_the_program(collector, status):
    proxy = FaultProxy(collector.url, status=status)
    try:
        proc, work, exit_ = _timed(collector, proxy.url, "3")
    finally:
        proxy.close()
    assert proc.returncode == 0 and proc.stdout.split() == ["started", "result", "ok"]
    assert exit_ < EXIT_BUDGET and work < WORK_BUDGET, (work, exit_)


def test_slow_endpoint_delivers_everything(collector):
    proxy = FaultProxy(collector.url, delay=0.3)
    try:
        proc, _, _ = _timed(collector, proxy.url, "4")
    finally:
        proxy.close()
    assert proc.returncode == 0
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


def test_outage_that_ends_after_a_few_seconds_loses_nothing(collector):
    proxy = FaultProxy(collector.url, status=503, fail_for=1.5)
    try:
        proc = run_script(collector, "short_trace.py", "4", env={"LANGSMITH_ENDPOINT": proxy.url, "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": "20"})
    finally:
        proxy.close()
    assert proc.returncode == 0 and proxy.failed > 0
    assert_trees(collector.store, ("parent", ["leaf"] * 4))
