"""Threads and executors keep their parent run, under every activation path."""

from __future__ import annotations

from conftest import run_script
from trees import assert_trees, received_shapes

THREAD_KINDS = (
    ["map"] * 8
    + ["map_generator"] * 2
    + ["submit", "submit_kw", "thread", "subclass", "subclass", "timer"]
    + ["run_in_executor_default", "run_in_executor_pool"]
)


def test_every_thread_kind_stays_in_one_trace(collector, mode):
    run_script(collector, "threads.py", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * len(THREAD_KINDS)))
    outputs = sorted(r["outputs"]["output"].rsplit("-", 1)[0] for r in collector.store.runs().values() if r["name"] == "leaf")
    assert outputs == sorted(THREAD_KINDS)


def test_without_lsautofix_threads_split_the_trace(collector):
    run_script(collector, "threads.py", mode="off")
    shapes = received_shapes(collector.store)
    # Only the subclass's run() called directly stays under the parent; every thread splits off.
    assert len(shapes) == len(THREAD_KINDS)
    assert shapes.count(("leaf", ())) == len(THREAD_KINDS) - 1


def test_fire_and_forget_task_lands_under_returned_parent(collector, mode):
    run_script(collector, "fire_and_forget.py", mode=mode)
    assert_trees(collector.store, ("parent", ["late_child", "late_child"]))


def test_context_copying_executors_keep_working(collector, mode):
    run_script(collector, "context_executors.py", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * 5))


def test_use_daemon_short_script_loses_nothing(collector, mode):
    run_script(collector, "daemon_exit.py", mode=mode, env={"LANGSMITH_USE_DAEMON": "true"})
    assert_trees(collector.store, ("parent", ["leaf"] * 4))
