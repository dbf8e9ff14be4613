"""Endpoint faults never hang exit beyond the flush timeout, and a passing fault loses nothing."""

from __future__ import annotations

import time

import pytest

from conftest import run_script
from faults import FaultProxy, HangingEndpoint, refused_url
from trees import assert_trees

TIMEOUT = 2.0
BUDGET = TIMEOUT + 1.0 + 3.0  # flush timeout + the promised second + interpreter and SDK start-up


def _timed(collector, url, *args, mode="env"):
    start = time.monotonic()
    proc = run_script(
        collector, "short_trace.py", *args, mode=mode, check=False, timeout=60,
        env={"LANGSMITH_ENDPOINT": url, "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": str(TIMEOUT)},
    )
    return proc, time.monotonic() - start


@pytest.mark.parametrize("pool", [False, True], ids=["main", "pool"])
def test_hanging_endpoint_delays_exit_by_at_most_the_timeout(collector, pool):
    hang = HangingEndpoint()
    try:
        proc, elapsed = _timed(collector, hang.url, "5", *(["pool"] if pool else []))
    finally:
        hang.close()
    assert proc.returncode == 0 and "result ok" in proc.stdout, proc.stderr
    assert elapsed < BUDGET + (TIMEOUT if pool else 0), elapsed
    assert "not delivered" in proc.stderr  # the user is told what was lost


def test_refused_endpoint_exits_promptly_and_says_what_was_lost(collector):
    proc, elapsed = _timed(collector, refused_url(), "5")
    assert proc.returncode == 0 and "result ok" in proc.stdout
    assert elapsed < BUDGET, elapsed


@pytest.mark.parametrize("status", [500, 429])
def test_endpoint_answering_errors_does_not_change_the_program(collector, status):
    proxy = FaultProxy(collector.url, status=status)
    try:
        proc, elapsed = _timed(collector, proxy.url, "3")
    finally:
        proxy.close()
    assert proc.returncode == 0 and proc.stdout.strip() == "result ok"
    assert elapsed < BUDGET, elapsed


def test_slow_endpoint_delivers_everything(collector):
    proxy = FaultProxy(collector.url, delay=0.3)
    try:
        proc, _ = _timed(collector, proxy.url, "4")
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
