"""dask.distributed (LocalCluster with worker processes): every child under the run that handed it over."""

from __future__ import annotations

import pytest
from conftest import run_script
from trees import assert_trees, received_shapes

pytest.importorskip("distributed")

from lsautofix import context

N = 8
SCRIPT = "engines_dask.py"
SPLIT = sorted([("parent", ())] + [("child", ())] * N)


def test_submit_map_compute_persist_and_dask_compute_nest_every_child_on_one_cluster(collector):
    kinds = ("submit", "map", "compute", "persist", "dask_compute")
    run_script(collector, SCRIPT, *kinds)
    assert_trees(collector.store, *[(f"parent_{kind}", ["child"] * N) for kind in kinds])


@pytest.mark.parametrize("mode", ["runner", "import"])  # env: the test above
def test_client_submit_nests_every_child(collector, mode):
    run_script(collector, SCRIPT, "submit", mode=mode)
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_cluster_started_inside_another_trace_does_not_adopt_the_children(collector):
    run_script(collector, SCRIPT, "started_inside")
    assert_trees(collector.store, "setup", ("parent", ["child"] * N))


def test_nanny_restart_between_two_halves_loses_no_runs(collector):
    run_script(collector, SCRIPT, "restart")
    assert_trees(collector.store, ("parent", ["child"] * N))


@pytest.mark.skipif(
    not hasattr(context, "register_infrastructure"), reason="needs context.register_infrastructure from the core"
)
def test_untraced_work_on_a_cluster_started_in_a_trace_carries_nothing(collector):
    run_script(collector, SCRIPT, "untraced")
    assert_trees(collector.store, "setup", *["child"] * N)


def test_worker_plugin_brings_lsautofix_to_workers_started_without_it(collector):
    run_script(collector, SCRIPT, "remote_plugin")
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_workers_without_lsautofix_ignore_the_annotation(collector):
    """The program still works; the children split as in plain Python."""
    proc = run_script(collector, SCRIPT, "remote")
    assert "[0, 1, 4, 9, 16, 25, 36, 49]" in proc.stdout
    assert sorted(received_shapes(collector.store)) == SPLIT


def test_disabled_dask_integration_splits_as_plain_python(collector):
    run_script(collector, SCRIPT, "submit", env={"LANGSMITH_AUTOFIX_DISABLE": "dask"})
    assert sorted(received_shapes(collector.store)) == SPLIT


def test_without_lsautofix_every_child_is_a_trace_of_its_own(collector):
    run_script(collector, SCRIPT, "submit", mode="off")
    assert sorted(received_shapes(collector.store)) == SPLIT
