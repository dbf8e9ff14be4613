"""Threads and executors behave as in plain Python, plus the trace (issue: do no harm).

Each scenario is a user program run plain and with lsautofix against the collector: lsautofix may
change where runs land, and nothing else the program observes.
"""

from __future__ import annotations

import pytest

from conftest import run_script
from trees import assert_trees

THREAD_POOL_LEAVES = 4 + 3 + 3 + 2 + 3 + 1 + 2


def test_thread_pool_tasks_nest_and_run_as_in_plain_python(collector, mode):
    plain = run_script(collector, "thread_pool.py", mode="off")
    collector.reset()
    fixed = run_script(collector, "thread_pool.py", mode=mode)
    assert fixed.stdout == plain.stdout and fixed.stderr == plain.stderr
    assert_trees(collector.store, ("parent", ["leaf"] * THREAD_POOL_LEAVES))


def test_fire_and_forget_on_a_warm_executor_keeps_its_returned_parent(collector, mode):
    run_script(collector, "warm_executor.py", mode=mode)
    assert_trees(collector.store, ("handler", ["job"]), ("handler", ["job"]))


@pytest.mark.parametrize("kind", ["executor", "pool", "anyio"])
def test_workers_started_in_a_request_do_not_carry_it_into_later_untraced_work(collector, kind):
    if kind == "anyio":
        pytest.importorskip("anyio")
    proc = run_script(collector, "stale_context.py", kind)
    assert "request run freed: True" in proc.stdout, proc.stdout
    assert_trees(collector.store, ("request", ["task", "task"]), "task", "task", "task")


def test_other_context_variables_behave_as_in_plain_python(collector, mode):
    plain = run_script(collector, "other_contextvars.py", mode="off")
    collector.reset()
    fixed = run_script(collector, "other_contextvars.py", mode=mode)
    assert fixed.stdout == plain.stdout, f"plain:\n{plain.stdout}\nlsautofix:\n{fixed.stdout}"
    assert "main precision after thread: 12" in fixed.stdout
    assert "sessions opened for 16 tasks on 2 workers: 2" in fixed.stdout
    assert "request ids seen in tasks: ['none']" in fixed.stdout
    assert "sessions opened for 16 tasks on 2 workers, tracing values alone: 2" in fixed.stdout
    assert "later untraced tasks (no run, session kept): [(True, True, False)]" in fixed.stdout
    assert "sessions opened for 6 submitted tasks on 1 worker, tracing values alone: 1" in fixed.stdout
    assert "a later untraced task (no run, sessions): (True, False, True)" in fixed.stdout
    assert_trees(
        collector.store, ("parent", ["work"] * 16), ("clean_parent", ["work"] * 16), ("solo_parent", ["work"] * 6)
    )


def test_consumer_threads_started_under_a_run_keep_it_for_life(collector):
    # The documented choice (README, "Threads that outlive their run"): a thread carries its
    # starter's run for its whole life, so a fire-and-forget thread nests even after its parent
    # returned; a consumer loop therefore nests every job under start_service.
    run_script(collector, "consumer_threads.py")
    assert_trees(collector.store, ("start_service", ["job"] * 4))


def test_consumer_threads_started_detached_make_a_trace_per_job(collector):
    run_script(collector, "consumer_threads.py", "detached")
    assert_trees(collector.store, "start_service", "job", "job", "job", "job")


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_task_keywords_named_like_our_parameters_reach_the_task(collector, method):
    plain = run_script(collector, "task_keywords.py", method, mode="off")
    collector.reset()
    fixed = run_script(collector, "task_keywords.py", method)
    assert fixed.stdout == plain.stdout and fixed.stderr == plain.stderr
    assert fixed.stdout.count("('self', 1)") == 5
    assert_trees(collector.store, ("parent", ["leaf"] * 5))
