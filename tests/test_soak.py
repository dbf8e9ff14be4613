"""Load: 10,000 traced tasks through a 4-worker Pool and 10,000 through threads, under one parent."""

from __future__ import annotations

import re

import pytest

from conftest import run_script

pytestmark = pytest.mark.soak  # .ci/run: on 3.10, 3.11 and 3.13 (see pyproject's markers)

N = 10_000


def bad_requests(store) -> list:
    return [r for r in store.requests() if r[2] >= 300][:20]


def test_soak_delivers_every_run_once_and_retains_nothing(collector):
    proc = run_script(collector, "soak.py", str(N), "fork", timeout=600)
    store = collector.store
    runs = store.runs()
    assert len(runs) == 2 * N + 1, f"{len(runs)} runs; non-2xx requests: {bad_requests(store)}; stderr:\n{proc.stderr[-4000:]}"
    assert store.duplicates() == [] and store.orphans() == [] and store.consistency_errors() == []
    (parent,) = store.roots()
    assert len(store.traces()) == 1
    assert all(r["parent_run_id"] == parent["id"] for r in runs.values() if r["id"] != parent["id"])
    # Nothing proportional to the task count is left alive in the parent afterwards.
    after = dict(re.findall(r"(\w+)=(\d+)", proc.stdout.split("after:")[1]))
    assert int(after["runtrees"]) == 0, proc.stdout
    assert int(after["clients"]) == 1, proc.stdout
    assert int(after["contexts"]) < 50, proc.stdout
