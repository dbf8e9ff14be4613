"""joblib and loky: every child under its own parent, nothing lost when joblib aborts and loky SIGKILLs."""

from __future__ import annotations

import pytest
from conftest import run_script
from trees import assert_trees, received_shapes

pytest.importorskip("joblib")
pytest.importorskip("loky")

from lsautofix import context

N = 8
SCRIPT = "engines_joblib.py"


def test_parallel_loky_nests_every_child(collector, mode):
    run_script(collector, SCRIPT, "parallel", mode=mode)
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_children_importing_langsmith_only_when_they_run_nest(collector, mode):
    """The batch installs lsautofix in a worker that was only armed, before the batch runs."""
    run_script(collector, SCRIPT, "lazy", mode=mode)
    assert_trees(collector.store, ("parent", ["child"] * N))


@pytest.mark.parametrize("kind", ["generator", "multiprocessing", "threading", "submit"])
def test_other_backends_generators_and_loky_submit_nest(collector, kind):
    run_script(collector, SCRIPT, kind)
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_abort_on_a_childs_error_loses_no_runs(collector, mode):
    """joblib aborts and loky SIGKILLs its workers: their runs are flushed first."""
    proc = run_script(collector, SCRIPT, "raises", mode=mode)
    assert "raised: child 7 failed" in proc.stdout
    assert_trees(collector.store, ("parent", ["child"] * (N - 1) + ["failing_child"]))


def test_two_parents_on_one_reusable_executor_each_get_their_children(collector):
    run_script(collector, SCRIPT, "reusable")
    assert_trees(collector.store, ("parent_a", ["child"] * (N // 2)), ("parent_b", ["child"] * (N // 2)))


@pytest.mark.skipif(
    not hasattr(context, "register_infrastructure"), reason="needs context.register_infrastructure from the core"
)
def test_untraced_work_on_workers_started_in_a_trace_carries_nothing(collector):
    run_script(collector, SCRIPT, "untraced")
    assert_trees(collector.store, ("parent_a", ["child"] * (N // 2)), *["child"] * (N // 2))


def test_disabled_joblib_integration_splits_as_plain_python(collector):
    run_script(collector, SCRIPT, "parallel", env={"LANGSMITH_AUTOFIX_DISABLE": "joblib"})
    assert sorted(received_shapes(collector.store)) == sorted([("parent", ())] + [("child", ())] * N)


# --- without lsautofix: what the integration is for ----------------------------------------------


def test_without_lsautofix_every_child_is_a_trace_of_its_own(collector):
    run_script(collector, SCRIPT, "parallel", mode="off")
    assert sorted(received_shapes(collector.store)) == sorted([("parent", ())] + [("child", ())] * N)


def test_without_lsautofix_the_abort_loses_the_workers_runs(collector):
    run_script(collector, SCRIPT, "raises", mode="off")
    shapes = received_shapes(collector.store)
    assert ("parent", ()) in shapes
    assert len(collector.store.runs()) < N + 1


def test_doctor_counts_the_workers_runs(tmp_path):
    """`lsautofix doctor` on a joblib program: loky's workers write the ledger and report too."""
    import json
    import subprocess
    import sys

    from conftest import SCENARIOS, clean_environ

    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "lsautofix", "doctor", "--json", str(report), str(SCENARIOS / SCRIPT), "raises"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=SCENARIOS,
        env=clean_environ(),
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = json.loads(report.read_text())
    plain, fixed = found["runs"]["plain"], found["runs"]["lsautofix"]
    assert fixed["created"] == fixed["received"] == N + 1
    assert found["problems"]["lost_runs"]["lsautofix"] == 0 < found["problems"]["lost_runs"]["plain"]
    assert found["problems"]["split_traces"]["lsautofix"] == 0
    assert len([p for p in fixed["processes"] if not p["main"]]) == 2  # the two loky workers
    lost_by_workers = sum(len(p["lost"]) for p in plain["processes"] if not p["main"])
    assert lost_by_workers == found["problems"]["lost_runs"]["plain"]  # the workers' ledgers show whose
