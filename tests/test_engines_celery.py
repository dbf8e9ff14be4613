"""Celery (Redis broker, prefork worker): the parent travels in the message headers; nothing is lost.

The scenario starts and stops its own redis-server (127.0.0.1, a free port) and worker.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import run_script
from trees import assert_trees, received_shapes

pytest.importorskip("celery")
pytest.importorskip("redis")
if shutil.which("redis-server") is None:
    pytest.skip("redis-server is not installed", allow_module_level=True)

N = 8
SCRIPT = "engines_celery.py"
SPLIT = sorted([("parent", ())] + [("child", ())] * N)


@pytest.mark.parametrize("mode", ["env", "runner"])  # `import lsautofix` does not reach a worker it starts
def test_delay_nests_every_child_and_warm_shutdown_loses_nothing(collector, mode):
    run_script(collector, SCRIPT, "delay", mode=mode)
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_group_nests_every_child(collector):
    run_script(collector, SCRIPT, "group")
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_worker_max_tasks_per_child_loses_no_runs(collector):
    run_script(collector, SCRIPT, "max_tasks")
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_a_gevent_pool_worker_nests_every_child_and_stops_as_plain(collector):
    """`--pool=gevent`: the worker's threads are green, so lsautofix leaves its SIGTERM alone
    (Celery handles it anyway) and its exit flush still delivers every run."""
    pytest.importorskip("gevent")
    plain = run_script(collector, SCRIPT, "gevent", mode="off")
    assert sorted(received_shapes(collector.store)) == SPLIT
    collector.reset()
    fixed = run_script(collector, SCRIPT, "gevent")
    assert fixed.stdout == plain.stdout and "worker exit status 0" in fixed.stdout, fixed.stdout
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_tasks_sent_outside_any_trace_carry_nothing(collector):
    run_script(collector, SCRIPT, "untraced")
    assert_trees(collector.store, *["child"] * N)


def test_a_worker_without_lsautofix_ignores_the_header(collector):
    """`import lsautofix` in the producer only: the worker it starts has no lsautofix; all still works."""
    proc = run_script(collector, SCRIPT, "delay", mode="import")
    assert "[0, 1, 4, 9, 16, 25, 36, 49]" in proc.stdout
    assert sorted(received_shapes(collector.store)) == SPLIT


def test_disabled_celery_integration_splits_as_plain_python(collector):
    run_script(collector, SCRIPT, "delay", env={"LANGSMITH_AUTOFIX_DISABLE": "celery"})
    assert sorted(received_shapes(collector.store)) == SPLIT


def test_without_lsautofix_every_child_is_a_trace_of_its_own(collector):
    run_script(collector, SCRIPT, "delay", mode="off")
    assert sorted(received_shapes(collector.store)) == SPLIT


def test_without_lsautofix_recycled_children_lose_their_runs(collector):
    run_script(collector, SCRIPT, "max_tasks", mode="off")
    assert len(collector.store.runs()) < N + 1
