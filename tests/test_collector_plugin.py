"""The collector under the SDK's evaluation tools: the langsmith pytest plugin with pytest-xdist,
``evaluate``, and reading feedback back; the real SDK, real processes, real HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsautofix_collector import Collector

# The collector's own behaviour: .ci/run tests it once per SDK line (see pyproject's markers).
pytestmark = pytest.mark.per_sdk

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "examples" / "langsmith_pytest"
#: Answers that are part of how the SDK works, not a missing endpoint: read-before-create of an
#: example, and two xdist workers racing to create the same dataset or experiment.
EXPECTED_4XX = {("GET", "/examples", 404), ("POST", "/datasets", 409), ("POST", "/sessions", 409)}


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def sdk_env(collector: Collector, **extra: str) -> dict[str, str]:
    # PYTEST_*: this suite may itself run under xdist; the suite under test starts its own workers
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX", "PYTEST_"))}
    return {**env, **collector.env(project="plugin-tests"), **extra}


def unexpected_answers(collector: Collector) -> list[tuple[str, str, int]]:
    def kind(method: str, path: str, status: int) -> tuple[str, str, int]:
        return method, "/" + path.strip("/").split("/")[0], status

    return [r for r in collector.store.requests() if r[2] >= 400 and kind(*r) not in EXPECTED_4XX]


def run_python(collector: Collector, cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=sdk_env(collector), capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc


def test_pytest_plugin_under_xdist_ends_cleanly_with_every_row_and_feedback(
    collector: Collector, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    if shutil.which("git") is None:
        pytest.skip("git is needed: the plugin tags the dataset with the commit and branch")
    repo = tmp_path / "repo"
    shutil.copytree(SUITE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    for step in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "suite"]):
        subprocess.run([*git, *step], cwd=repo, check=True, capture_output=True)

    # Hypothesis's plugin (this venv's, unused there) would cost each pytest process 1.2 s.
    proc = run_python(
        collector, repo, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-n", "2", "."
    )
    assert "8 passed" in proc.stdout
    assert "Exception ignored" not in proc.stderr and "LangSmith" not in proc.stderr, proc.stderr

    store = collector.store
    assert store.unknown_requests() == [] and unexpected_answers(collector) == [], store.requests()
    (dataset,) = [d for d in store.datasets().values() if d["name"] == "lsautofix-example-answers"]
    assert dataset["example_count"] == 8
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    assert set(store.dataset_tags(dataset["id"])) == {f"git:commit:{commit.stdout.strip()}", "git:branch:main"}
    (experiment,) = [p for p in store.projects().values() if p.get("reference_dataset_id") == dataset["id"]]
    rows = [r for r in store.runs_in_project(experiment["id"]) if r["parent_run_id"] is None]
    assert len(rows) == 8 and {r["reference_example_id"] for r in rows} == set(store.examples())
    assert all(r["end_time"] and r["outputs"] for r in rows)
    feedback = store.feedback()
    assert Counter(f["key"] for f in feedback) == {"pass": 8, "exact": 8}
    assert {f["run_id"] for f in feedback} == {r["id"] for r in rows}
    assert store.duplicates() == [] and store.consistency_errors() == []


def test_list_and_read_feedback_validate_for_feedback_without_a_trace_id(collector: Collector, tmp_path: Path) -> None:
    script = tmp_path / "feedback.py"
    script.write_text(textwrap.dedent("""
        import uuid
        from langsmith import Client, traceable

        client = Client()
        run_id = uuid.uuid4()
        traceable(lambda: 1, name="rated")(langsmith_extra={"run_id": run_id})
        client.flush()
        made = client.create_feedback(run_id, key="helpful", score=1)  # no trace_id
        client.flush()
        listed = list(client.list_feedback(run_ids=[run_id]))
        read = client.read_feedback(made.id)
        print(len(listed), listed[0].key, listed[0].trace_id, read.run_id == run_id)
    """))
    proc = run_python(collector, tmp_path, str(script))
    assert proc.stdout.split() == ["1", "helpful", "None", "True"], proc.stdout + proc.stderr
    assert unexpected_answers(collector) == []


def test_evaluate_with_summary_evaluators_and_repetitions_uses_only_known_endpoints(
    collector: Collector, tmp_path: Path
) -> None:
    script = tmp_path / "evaluate.py"
    script.write_text(textwrap.dedent("""
        from langsmith import Client, evaluate

        client = Client()
        dataset = client.create_dataset("sums")
        client.create_examples(
            dataset_id=dataset.id,
            examples=[{"inputs": {"a": i, "b": 1}, "outputs": {"sum": i + 1}, "split": "test"} for i in range(4)],
        )

        def add(inputs: dict) -> dict:
            return {"sum": inputs["a"] + inputs["b"]}

        def correct(outputs: dict, reference_outputs: dict) -> bool:
            return outputs["sum"] == reference_outputs["sum"]

        def accuracy(outputs: list, reference_outputs: list) -> float:
            return sum(o["sum"] == r["sum"] for o, r in zip(outputs, reference_outputs)) / len(outputs)

        results = evaluate(
            add, data=client.list_examples(dataset_name="sums", splits=["test"]), evaluators=[correct],
            summary_evaluators=[accuracy], num_repetitions=2, client=client,
        )
        rows = list(results)
        client.update_example(rows[0]["example"].id, metadata={"checked": True})
        print("ROWS", len(rows), all(r["evaluation_results"]["results"][0].score for r in rows))
    """))
    proc = run_python(collector, tmp_path, str(script))
    assert "ROWS 8 True" in proc.stdout, proc.stdout + proc.stderr
    store = collector.store
    assert store.unknown_requests() == [] and unexpected_answers(collector) == [], store.requests()
    keys = Counter(f["key"] for f in store.feedback())
    assert keys["correct"] == 8 and keys["accuracy"] >= 1
    updated = [e for e in store.examples().values() if (e["metadata"] or {}).get("checked")]
    assert len(updated) == 1 and updated[0]["metadata"]["dataset_split"] == ["test"]
