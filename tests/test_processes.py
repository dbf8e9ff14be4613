"""The parent run follows work into child processes, and no worker loses a run."""

from __future__ import annotations

import sys

import pytest

from conftest import run_script
from trees import assert_trees, received_shapes

METHODS = ("fork", "spawn", "forkserver")
POOL_LEAVES = 3 + 2 + 2 + 2 + 1 + 1 + 2 + 1  # map, imap, imap_unordered, starmap, apply, apply_async, map_async, starmap_async


@pytest.mark.parametrize("method", METHODS)
def test_every_pool_method_nests_and_terminate_loses_no_runs(collector, mode, method):
    run_script(collector, "processes.py", method, "pool", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * POOL_LEAVES))


@pytest.mark.parametrize("method", METHODS)
def test_pool_close_join_delivers_every_run(collector, method):
    run_script(collector, "processes.py", method, "pool_close")
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


@pytest.mark.parametrize("method", METHODS)
def test_process_pool_executor_submit_and_map_nest(collector, method):
    run_script(collector, "processes.py", method, "executor")
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


@pytest.mark.parametrize("method", METHODS)
def test_process_target_and_subclass_nest(collector, method):
    run_script(collector, "processes.py", method, "process")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


@pytest.mark.parametrize("method", METHODS)
def test_child_leaving_by_sys_exit_or_os_exit_flushes(collector, method):
    run_script(collector, "processes.py", method, "exits")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


@pytest.mark.parametrize("method", METHODS)
def test_threads_in_processes_in_threads_keep_one_tree(collector, method):
    run_script(collector, "processes.py", method, "nested")
    assert_trees(collector.store, ("parent", [("inner", ["leaf", "leaf"])]))


def test_raw_fork_child_runs_arrive_once(collector):
    run_script(collector, "raw_fork.py")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


def test_main_program_leaving_by_os_exit_loses_nothing(collector, mode):
    run_script(collector, "main_os_exit.py", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * 3))


# --- without lsautofix: the failures these fixes are for ------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_without_lsautofix_pool_loses_or_splits_runs(collector, method):
    run_script(collector, "processes.py", method, "pool", mode="off")
    shapes = received_shapes(collector.store)
    assert shapes != [("parent", tuple([("leaf", ())] * POOL_LEAVES))]


def test_without_lsautofix_spawned_process_splits(collector):
    run_script(collector, "processes.py", "spawn", "process", mode="off")
    shapes = received_shapes(collector.store)
    # The parent arrives childless; whatever the children delivered is a trace of its own.
    assert ("parent", ()) in shapes
    assert all(shape == ("leaf", ()) for shape in shapes if shape[0] != "parent")


def test_without_lsautofix_main_os_exit_loses_every_run(collector):
    run_script(collector, "main_os_exit.py", mode="off")
    assert collector.store.runs() == {}


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_without_lsautofix_forked_process_loses_its_runs(collector):
    run_script(collector, "processes.py", "fork", "process", mode="off")
    names = sorted(r["name"] for r in collector.store.runs().values())
    assert names.count("leaf") < 2
