"""Evaluations: no experiment silently loses runs."""

from __future__ import annotations

import asyncio
import re
import warnings

import pytest

from conftest import SCENARIOS, run_script
from lsautofix import UnconsumedEvaluationWarning

N = 8  # examples in the scenario's dataset
CALL_LINE = next(
    i for i, line in enumerate((SCENARIOS / "evaluation.py").read_text().splitlines(), 1)
    if "await aevaluate" in line and "results = " in line
)


def _result_line(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith("experiment:"))
    return re.sub(r"-[0-9a-f]{8}\b", "", line)


def _experiment(collector, prefix: str) -> dict:
    found = [p for p in collector.store.projects().values() if str(p.get("name", "")).startswith(prefix)]
    assert len(found) == 1, collector.store.projects()
    return found[0]


def test_unconsumed_aevaluate_warns_once_with_where_and_how_to_fix(collector):
    proc = run_script(collector, "evaluation.py", "unconsumed")
    name = _experiment(collector, "unconsumed")["name"]
    assert proc.stderr.count("UnconsumedEvaluationWarning") == 1, proc.stderr
    warning = next(line for line in proc.stderr.splitlines() if "UnconsumedEvaluationWarning" in line)
    assert f"evaluation.py:{CALL_LINE}: UnconsumedEvaluationWarning" in warning
    assert repr(name) in warning and f"0 of {N} examples" in warning
    assert "async for _ in results" in warning and "blocking=True" in warning


def test_without_lsautofix_unconsumed_aevaluate_loses_everything_silently(collector):
    proc = run_script(collector, "evaluation.py", "unconsumed", mode="off")
    experiment = _experiment(collector, "unconsumed")
    assert collector.store.runs_in_project(experiment["id"]) == []
    assert "Unconsumed" not in proc.stderr


def test_the_warning_is_silenced_by_standard_filters(collector):
    proc = run_script(
        collector, "evaluation.py", "unconsumed", env={"PYTHONWARNINGS": "ignore::RuntimeWarning"}
    )
    assert "UnconsumedEvaluationWarning" not in proc.stderr


@pytest.mark.parametrize("kind", ["consumed", "sync"])
def test_consumed_evaluation_is_unchanged_and_silent(collector, kind):
    plain = run_script(collector, "evaluation.py", kind, mode="off")
    plain_runs = len(collector.store.runs_in_project(_experiment(collector, kind)["id"]))
    collector.reset()
    ours = run_script(collector, "evaluation.py", kind)
    assert "UnconsumedEvaluationWarning" not in ours.stderr
    assert _result_line(ours.stdout) == _result_line(plain.stdout) == f"experiment: {kind} rows: {N}"
    runs = collector.store.runs_in_project(_experiment(collector, kind)["id"])
    assert len(runs) == plain_runs == N
    assert len(collector.store.feedback()) == N
    assert collector.store.duplicates() == []


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_aevaluate_in_pool_workers_delivers_every_run(collector, method):
    proc = run_script(collector, "evaluation.py", "pool", method)
    assert f"rows: {N}" in proc.stdout
    target_runs = collector.store.runs_in_project("pool-experiment")
    assert len(target_runs) == N
    evaluator_runs = [r for r in collector.store.runs().values() if r not in target_runs]
    assert len(evaluator_runs) == N
    assert len(collector.store.feedback()) == N
    assert collector.store.duplicates() == [] and collector.store.consistency_errors() == []


# --- in this process: pytest.warns, and every entry point -------------------------------------


@pytest.fixture
def client(collector, monkeypatch):
    import lsautofix

    for key, value in collector.env().items():
        monkeypatch.setenv(key, value)
    lsautofix.install()
    from langsmith import Client

    c = Client(api_url=collector.url, api_key=collector.api_key)
    dataset = c.create_dataset("inproc")
    c.create_examples(inputs=[{"x": i} for i in range(3)], outputs=[{"y": i} for i in range(3)], dataset_id=dataset.id)
    yield c
    c.flush()


async def _target(inputs: dict) -> dict:
    await asyncio.sleep(0.01)
    return {"y": inputs["x"]}


def _entry_points(client):
    import langsmith
    import langsmith.evaluation

    return {
        "langsmith.aevaluate": langsmith.aevaluate,
        "langsmith.evaluation.aevaluate": langsmith.evaluation.aevaluate,
        "Client.aevaluate": client.aevaluate,
    }


@pytest.mark.parametrize("entry", ["langsmith.aevaluate", "langsmith.evaluation.aevaluate", "Client.aevaluate"])
def test_every_entry_point_warns_when_dropped(client, entry):
    aevaluate = _entry_points(client)[entry]

    async def main() -> None:
        kwargs = {} if entry == "Client.aevaluate" else {"client": client}
        await aevaluate(_target, data="inproc", blocking=False, **kwargs)

    with pytest.warns(UnconsumedEvaluationWarning, match=r"0 of 3 examples") as record:
        asyncio.run(main())
    assert len([w for w in record if w.category is UnconsumedEvaluationWarning]) == 1
    assert record[0].filename == __file__


def test_blocking_evaluation_never_warns(client):
    async def main() -> None:
        results = await client.aevaluate(_target, data="inproc")
        assert len([r async for r in results]) == 3

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnconsumedEvaluationWarning)
        asyncio.run(main())
