"""The embedded collector: the real SDK over real HTTP, the store's queries, and the wire format."""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from lsautofix_collector import (
    Collector,
    RemoteHostError,
    RunStore,
    TreeNode,
    duration_ms,
    parse_multipart,
    parse_time,
)
from lsautofix_collector.wire import RequestError, decompress_zstd

# The collector's own behaviour: .ci/run tests it once per SDK line (see pyproject's markers).
pytestmark = pytest.mark.per_sdk

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def run_sdk_script(collector: Collector, tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose SDK points at ``collector``; it must exit 0."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env.update(collector.env(project="collector-tests"))
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc


def request(
    collector: Collector,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    key: str | None = "",
) -> tuple[int, Any]:
    """One request with the collector's API key (``key``: another one; ``None``: no key at all)."""
    conn = http.client.HTTPConnection(collector.url.split("//")[1], timeout=10)
    sent = {**(headers or {})}
    if key is not None:
        sent["x-api-key"] = key or collector.api_key
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


# --- the real SDK, end to end ------------------------------------------------------------------

PARENT_AND_CHILDREN = """
    import sys, time
    from langsmith import traceable
    from langsmith.run_trees import get_cached_client

    if "wait-for-zstd" in sys.argv:
        # The SDK compresses only once its background thread has read /info; runs made
        # before that go out as plain multipart. Wait, so this test sees the zstd path.
        client, deadline = get_cached_client(), time.monotonic() + 10
        while getattr(client, "compressed_traces", None) is None and time.monotonic() < deadline:
            time.sleep(0.01)

    @traceable
    def child(i: int) -> int:
        return i * 2

    @traceable(run_type="chain")
    def parent() -> list:
        return [child(i) for i in range(3)]

    parent()
    # Plain SDK, no lsautofix: without this, runs still queued at exit are lost now and then (seen
    # on 3.12, where no thread may start during shutdown).
    get_cached_client().flush()
"""

INGEST_PATHS = {
    "zstd": ({"zstd": True}, "/runs/multipart", "zstd"),
    "plain-multipart": ({"zstd": False}, "/runs/multipart", ""),
    "batch-json": ({"multipart": False}, "/runs/batch", ""),
}


@pytest.mark.parametrize("way", list(INGEST_PATHS))
def test_traced_parent_and_three_children_arrive_as_one_consistent_tree(tmp_path: Path, way: str) -> None:
    options, path, encoding = INGEST_PATHS[way]
    with Collector(**options) as collector:
        run_sdk_script(collector, tmp_path, PARENT_AND_CHILDREN, *(["wait-for-zstd"] if encoding else []))
        store = collector.store

    assert {(i["path"], i["encoding"]) for i in store.ingests()} == {(path, encoding)}
    runs = store.runs()
    assert len(runs) == 4
    assert store.duplicates() == [] and store.orphans() == [] and store.consistency_errors() == []
    assert len(store.traces()) == 1
    (root,) = store.roots()
    assert root["name"] == "parent" and root["trace_id"] == root["id"]
    kids = store.children(root["id"])
    assert [k["name"] for k in kids] == ["child"] * 3
    assert [k["inputs"] for k in kids] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert [k["outputs"] for k in kids] == [{"output": 0}, {"output": 2}, {"output": 4}]
    assert root["outputs"] == {"output": [0, 2, 4]}
    assert all(r["end_time"] and r["session_name"] == "collector-tests" for r in runs.values())
    assert [r["id"] for r in store.runs_in_project("collector-tests")] == [root["id"]] + [k["id"] for k in kids]
    assert [p["name"] for p in store.projects().values()] == ["collector-tests"]
    lines = store.tree(root["id"]).render().splitlines()
    assert re.fullmatch(r"parent \[chain\] \d+\.\d ms", lines[0])
    assert re.fullmatch(r"└── child \[chain\] ×3 \d+\.\d(–\d+\.\d)? ms", lines[1]) and len(lines) == 2
    summary = store.summary()
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["runs"], summary["traces"], summary["roots"], summary["consistency_errors"]) == (4, 1, 1, 0)


def test_client_create_run_and_update_run_use_the_single_run_endpoints(collector: Collector, tmp_path: Path) -> None:
    run_sdk_script(
        collector,
        tmp_path,
        """
        import datetime, sys, uuid
        from langsmith import Client

        client = Client()
        run_id = uuid.UUID(sys.argv[1])
        now = datetime.datetime.now(datetime.timezone.utc)
        client.create_run("manual", {"q": 1}, "llm", id=run_id, start_time=now)
        client.update_run(run_id, outputs={"a": 2}, end_time=now + datetime.timedelta(milliseconds=5))
        client.flush()
        """,
        run_id := str(uuid.uuid4()),
    )
    store = collector.store
    assert ("POST", "/runs", 202) in store.requests()
    assert ("PATCH", f"/runs/{run_id}", 202) in store.requests()
    run = store.run(run_id)
    assert (run["name"], run["run_type"], run["inputs"], run["outputs"]) == ("manual", "llm", {"q": 1}, {"a": 2})
    # LangSmith fills these server-side when the SDK leaves them out; so does the collector.
    assert run["trace_id"] == run_id and run["dotted_order"].endswith("Z" + run_id)
    assert duration_ms(run) == pytest.approx(5.0)
    assert store.consistency_errors() == []


def test_aevaluate_over_a_dataset_creates_the_experiment_runs_and_feedback(
    collector: Collector, tmp_path: Path
) -> None:
    proc = run_sdk_script(
        collector,
        tmp_path,
        """
        import asyncio
        from langsmith import Client
        from langsmith.evaluation import aevaluate

        client = Client()
        dataset = client.create_dataset("numbers")
        client.create_examples(
            dataset_id=dataset.id,
            examples=[{"inputs": {"x": i}, "outputs": {"y": 2 * i}} for i in range(3)],
        )

        async def double(inputs: dict) -> dict:
            return {"y": inputs["x"] * 2}

        def exact(outputs: dict, reference_outputs: dict) -> bool:
            return outputs["y"] == reference_outputs["y"]

        results = asyncio.run(aevaluate(double, data="numbers", evaluators=[exact], client=client))
        print("EXPERIMENT=" + results.experiment_name)
        """,
    )
    store = collector.store
    experiment = re.search(r"EXPERIMENT=(\S+)", proc.stdout).group(1)  # type: ignore[union-attr]
    assert all(status < 400 for _, _, status in store.requests()), store.requests()
    (dataset,) = store.datasets().values()
    assert dataset["name"] == "numbers" and dataset["example_count"] == 3
    (project,) = [p for p in store.projects().values() if p["name"] == experiment]
    assert project["reference_dataset_id"] == dataset["id"]
    assert project["extra"]["metadata"]["dataset_splits"] == ["base"]  # the closing update_project
    targets = store.runs_in_project(experiment)
    assert len(targets) == 3 and all(r["parent_run_id"] is None and r["end_time"] for r in targets)
    assert sorted(r["outputs"]["y"] for r in targets) == [0, 2, 4]
    assert {r["reference_example_id"] for r in targets} == set(store.examples())
    feedback = store.feedback()
    assert sorted(f["key"] for f in feedback) == ["exact"] * 3 and all(f["score"] in (1, True) for f in feedback)
    assert {f["run_id"] for f in feedback} == {r["id"] for r in targets}
    assert store.duplicates() == [] and store.consistency_errors() == []


# --- the store's queries on hand-built runs ------------------------------------------------------

T0 = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)


def make_run(
    name: str, parent: dict[str, Any] | None = None, *, offset_ms: float = 0, took_ms: float | None = 10
) -> dict[str, Any]:
    run_id = str(uuid.uuid4())
    start = T0 + timedelta(milliseconds=offset_ms)
    segment = start.strftime("%Y%m%dT%H%M%S%fZ") + run_id
    return {
        "id": run_id,
        "name": name,
        "run_type": "chain",
        "trace_id": parent["trace_id"] if parent else run_id,
        "parent_run_id": parent["id"] if parent else None,
        "dotted_order": f"{parent['dotted_order']}.{segment}" if parent else segment,
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "end_time": (start + timedelta(milliseconds=took_ms)).isoformat() if took_ms is not None else None,
        "session_name": "p",
    }


def store_with(*runs: dict[str, Any]) -> RunStore:
    store = RunStore()
    store.add_run_ops([dict(r) for r in runs], [])
    return store


def test_a_consistent_tree_has_no_errors_and_renders_indented() -> None:
    root = make_run("root")
    a = make_run("a", root, offset_ms=1)
    b = make_run("b", root, offset_ms=2, took_ms=2.5)
    leaf = make_run("leaf", a, offset_ms=1.5, took_ms=0.25)
    store = store_with(leaf, b, root, a)
    assert store.consistency_errors() == [] and store.orphans() == [] and store.duplicates() == []
    assert [r["name"] for r in store.children(root["id"])] == ["a", "b"]
    tree = store.tree(root["id"])
    assert isinstance(tree, TreeNode) and tree.run["id"] == root["id"]
    assert tree.render() == (
        "root [chain] 10.0 ms\n├── a [chain] 10.0 ms\n│   └── leaf [chain] 0.2 ms\n└── b [chain] 2.5 ms"
    )
    assert [t.run["name"] for t in store_with(make_run("later", offset_ms=50), root).trees()] == ["root", "later"]


def test_like_siblings_are_drawn_once_with_a_count_and_a_duration_range() -> None:
    from lsautofix_collector.render import render_trees

    root = make_run("root", took_ms=100)
    scores = [make_run("score", root, offset_ms=1 + i, took_ms=0.5 + i) for i in range(24)]
    failed = make_run("score", root, offset_ms=30, took_ms=1)
    failed["error"] = "boom"
    inner = [make_run("llm", s, offset_ms=1 + i, took_ms=0.1) for i, s in enumerate(scores)]
    store = store_with(root, *scores, failed, *inner, make_run("root", offset_ms=200, took_ms=100))
    assert store.tree(root["id"]).render().splitlines() == [
        "root [chain] 100.0 ms",
        "├── score [chain] ×24 0.5–23.5 ms",
        "│   └── llm [chain] ×24 0.1 ms",
        "└── score [chain] 1.0 ms ERROR",
    ]
    marked = {scores[3]["id"]}
    text = render_trees(
        store.trees(), title="traces", key=lambda n: n.run["id"] in marked, more="... 1 more trace", collapse=True
    )
    assert text.splitlines()[:4] == ["traces", "├── root [chain] 100.0 ms", "│   ├── score [chain] ×23 0.5–23.5 ms",
                                     "│   │   └── llm [chain] ×23 0.1 ms"]  # fmt: skip
    assert text.splitlines()[-2:] == ["├── root [chain] 100.0 ms", "└── ... 1 more trace"]
    assert len(render_trees(store.trees(), collapse=False).splitlines()) == 1 + 25 + 24 + 1


def test_a_broken_dotted_order_is_a_consistency_error() -> None:
    root = make_run("root")
    child = make_run("child", root)
    child["dotted_order"] = child["dotted_order"].split(".")[-1]  # lost its parent's prefix
    errors = store_with(root, child).consistency_errors()
    assert any("not its parent's plus one segment" in e for e in errors), errors

    stranger = make_run("stranger", root)
    stranger["dotted_order"] = root["dotted_order"] + "." + make_run("other")["dotted_order"]
    errors = store_with(root, stranger).consistency_errors()
    assert any("last segment is not its own id" in e for e in errors), errors


def test_trace_and_end_time_problems_are_consistency_errors() -> None:
    root = make_run("root", took_ms=None)
    child = make_run("child", root)
    child["trace_id"] = str(uuid.uuid4())
    errors = store_with(root, child).consistency_errors()
    assert any("'root'" in e and "never ended" in e for e in errors)
    assert any("'child'" in e and "its parent is in trace" in e for e in errors)
    assert len(store_with(root, child).traces()) == 2


def test_runs_created_twice_are_duplicates() -> None:
    root = make_run("root")
    store = store_with(root)
    store.add_run_ops([dict(root)], [])
    assert store.post_counts() == {root["id"]: 2}
    assert store.duplicates() == [root["id"]]
    assert len(store.runs()) == 1 and store.summary()["duplicates"] == 1


def test_an_orphan_is_reported_and_hangs_under_a_placeholder() -> None:
    root = make_run("root")
    lost = make_run("lost", root)
    orphan = make_run("orphan", lost)
    store = store_with(root, orphan)
    assert [r["name"] for r in store.orphans()] == ["orphan"]
    assert any(f"parent {lost['id']} was never received" in e for e in store.consistency_errors())
    rendered = store.tree(root["id"]).render().splitlines()
    assert rendered[0].startswith("root [chain]")
    assert rendered[1] == f"└── ? {lost['id']} (never received)"
    assert rendered[2].startswith("    └── orphan [chain]")


def test_updates_merge_whatever_order_they_arrive_in() -> None:
    root = make_run("root", took_ms=None)
    update = {"id": root["id"], "end_time": "2025-01-02T03:04:05.200000+00:00", "outputs": {"x": 1}, "name": None}
    early, late = RunStore(), RunStore()
    early.add_run_ops([], [update])
    assert early.runs() == {} and early.patched_only() == [root["id"]]
    assert "updated but never created" in early.consistency_errors()[0]
    early.add_run_ops([root], [])
    late.add_run_ops([root], [update])

    def without_project_id(store: RunStore) -> dict[str, Any]:
        return {k: v for k, v in store.run(root["id"]).items() if k != "session_id"}

    assert without_project_id(early) == without_project_id(late)
    merged = late.run(root["id"])
    assert merged["name"] == "root" and merged["outputs"] == {"x": 1}
    assert duration_ms(merged) == pytest.approx(76.544)
    assert late.consistency_errors() == []


def test_projects_resolve_by_name_or_id() -> None:
    store = RunStore()
    project = store.put_project({"id": str(uuid.uuid4()), "name": "exp"})
    by_name, by_id = make_run("a"), make_run("b", offset_ms=1)
    by_name["session_name"] = "exp"
    by_id.pop("session_name")
    by_id["session_id"] = project["id"]
    store.add_run_ops([by_id, by_name, make_run("elsewhere")], [])
    assert [r["name"] for r in store.runs_in_project("exp")] == ["a", "b"]
    assert [r["name"] for r in store.runs_in_project(project["id"])] == ["a", "b"]
    assert store.run(by_id["id"])["session_name"] == "exp"
    assert store.projects()[project["id"]]["run_count"] == 2


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-02T03:04:05.123456Z",
        "2025-01-02T03:04:05.123456+00:00",
        "2025-01-02T03:04:05.123456",
        "2025-01-02 03:04:05.1234567Z",
        "2025-01-02T04:04:05.123456+01:00",
        "2025-01-02T03:04:05.123456z",
    ],
)
def test_timestamps_parse_with_or_without_zone(text: str) -> None:
    assert parse_time(text) == T0


@pytest.mark.parametrize(
    "junk", [None, 5, "", "yesterday", "2025-13-40T00:00:00Z", ["2025"], "2025-01-02T03:04:05+99:99"]
)
def test_timestamps_that_do_not_parse_are_none(junk: Any) -> None:
    assert parse_time(junk) is None


def test_duration_falls_back_to_the_dotted_order_start() -> None:
    run = make_run("r", took_ms=3)
    del run["start_time"]
    assert duration_ms(run) == pytest.approx(3.0)
    assert "(not ended)" in TreeNode({**run, "end_time": None}).render()


# --- the wire: multipart, zstd, sizes, errors -----------------------------------------------------


def multipart(parts: list[tuple[str, bytes]], boundary: str = "b0undary") -> bytes:
    out = b""
    for name, data in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'.encode()
        out += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def sdk_parts(run: dict[str, Any]) -> list[tuple[str, bytes]]:
    main = {k: v for k, v in run.items() if k not in ("inputs", "outputs")}
    return [
        (f"post.{run['id']}", json.dumps(main).encode()),
        (f"post.{run['id']}.inputs", json.dumps({"q": run["name"]}).encode()),
    ]


MULTIPART = {"Content-Type": "multipart/form-data; boundary=b0undary"}


def test_a_multi_frame_zstd_stream_is_read_to_its_end(collector: Collector) -> None:
    zstandard = pytest.importorskip("zstandard")
    root = make_run("root")
    child = make_run("child", root)
    body = multipart([*sdk_parts(root), *sdk_parts(child)])
    cut = body.index(b"--b0undary", 10)
    frames = zstandard.ZstdCompressor().compress(body[:cut]) + zstandard.ZstdCompressor().compress(body[cut:])
    assert zstandard.ZstdDecompressor().decompressobj().decompress(frames) == body[:cut]  # one frame only
    status, _ = request(collector, "POST", "/runs/multipart", frames, {**MULTIPART, "Content-Encoding": "zstd"})
    assert status == 202
    assert {r["name"] for r in collector.store.runs().values()} == {"root", "child"}
    assert collector.store.run(child["id"])["inputs"] == {"q": "child"}
    assert collector.store.ingests()[0]["encoding"] == "zstd"


def test_parse_multipart_reads_attachments_and_rejects_truncation() -> None:
    body = multipart([("attachment.x.y", b"\x00\r\n--not-it\r\n"), ("feedback.z", b"{}")])
    parts = parse_multipart(body, MULTIPART["Content-Type"])
    assert [(p.name, p.data) for p in parts] == [("attachment.x.y", b"\x00\r\n--not-it\r\n"), ("feedback.z", b"{}")]
    for cut in (len(body) - 5, len(body) // 2, 3):
        with pytest.raises(RequestError):
            parse_multipart(body[:cut], MULTIPART["Content-Type"])


def test_a_part_whose_data_disagrees_with_its_content_length_is_refused(collector: Collector) -> None:
    root = make_run("root")
    body = multipart(sdk_parts(root)).replace(b"Content-Length: ", b"Content-Length: 1", 1)
    status, payload = request(collector, "POST", "/runs/multipart", body, MULTIPART)
    assert status == 400 and "multipart" in payload["detail"]
    assert collector.store.runs() == {}


def test_attachments_and_multipart_feedback_are_stored(collector: Collector) -> None:
    root = make_run("root")
    feedback_id = str(uuid.uuid4())
    parts = [
        *sdk_parts(root),
        (f"attachment.{root['id']}.image", b"\x89PNG...."),
        (f"feedback.{feedback_id}", json.dumps({"run_id": root["id"], "key": "k", "score": 1}).encode()),
    ]
    assert request(collector, "POST", "/runs/multipart", multipart(parts), MULTIPART)[0] == 202
    assert collector.store.run(root["id"])["attachments"] == {"image": {"content_type": "application/json", "size": 8}}
    (feedback,) = collector.store.feedback()
    assert {k: feedback[k] for k in ("id", "run_id", "key", "score", "trace_id")} == {
        "id": feedback_id, "run_id": root["id"], "key": "k", "score": 1, "trace_id": None
    }  # fmt: skip
    assert feedback["created_at"] and feedback["modified_at"]


def test_zstd_output_is_bounded() -> None:
    zstandard = pytest.importorskip("zstandard")
    with pytest.raises(RequestError) as caught:
        decompress_zstd(zstandard.ZstdCompressor().compress(b"\0" * 10_000), limit=1000)
    assert caught.value.status == 413


def test_info_advertises_what_the_sdk_reads(collector: Collector) -> None:
    status, info = request(collector, "GET", "/info")
    assert status == 200 and info["instance_flags"] == {"zstd_compression_enabled": True}
    assert info["batch_ingest_config"]["use_multipart_endpoint"] is True
    assert info["batch_ingest_config"]["size_limit_bytes"] == 20971520


def test_unknown_endpoints_are_404_json_and_logged(collector: Collector) -> None:
    status, payload = request(collector, "GET", "/annotation-queues?limit=1")
    assert status == 404 and "annotation-queues" in payload["detail"]
    assert request(collector, "DELETE", "/runs/batch")[0] == 405
    assert collector.store.requests() == [("GET", "/annotation-queues", 404), ("DELETE", "/runs/batch", 405)]


def test_bodies_over_the_cap_are_413() -> None:
    with Collector(max_body=1024) as small:
        assert request(small, "POST", "/runs/batch", b"x" * 2048)[0] == 413
        assert request(small, "GET", "/info")[0] == 200


def test_sessions_conflict_unless_upserted(collector: Collector) -> None:
    body = json.dumps({"name": "exp"}).encode()
    status, created = request(collector, "POST", "/sessions", body)
    assert status == 200 and created["tenant_id"] and created["name"] == "exp"
    assert request(collector, "POST", "/sessions", body)[0] == 409
    assert request(collector, "POST", "/sessions?upsert=true", body) == (200, {**created, "run_count": 0})
    assert request(collector, "GET", "/sessions?name=exp&limit=1")[1][0]["id"] == created["id"]
    assert request(collector, "GET", "/sessions?name=nope")[1] == []
    assert request(collector, "GET", f"/sessions/{uuid.uuid4()}")[0] == 404
    assert request(collector, "GET", "/sessions/not-a-uuid")[0] == 422


def test_chunked_bodies_and_keep_alive(collector: Collector) -> None:
    run = make_run("chunky")
    conn = http.client.HTTPConnection(collector.url.split("//")[1], timeout=10)
    body = json.dumps({"post": [run]}).encode()
    key = {"x-api-key": collector.api_key}
    conn.request("POST", "/runs/batch", body=iter([body[:10], body[10:]]), headers=key, encode_chunked=True)
    assert conn.getresponse().read() == b"{}"
    conn.request("GET", "/info", headers=key)  # same connection
    assert conn.getresponse().status == 200
    conn.close()
    assert collector.store.run(run["id"])["name"] == "chunky"


def test_env_sends_the_sdk_here_and_nowhere_else(collector: Collector) -> None:
    env = collector.env("proj")
    assert env["LANGSMITH_ENDPOINT"] == env["LANGCHAIN_ENDPOINT"] == collector.url
    assert env["LANGSMITH_PROJECT"] == "proj" and env["LANGSMITH_TRACING"] == "true"
    assert env["LANGSMITH_API_KEY"] == env["LANGCHAIN_API_KEY"] == collector.api_key
    assert env["LANGSMITH_RUNS_ENDPOINTS"] == ""


def test_start_is_idempotent_and_stop_releases_the_port() -> None:
    collector = Collector()
    with pytest.raises(RuntimeError):
        collector.url  # noqa: B018
    assert collector.start() is collector
    url = collector.url
    assert collector.start().url == url
    collector.store.log_request("GET", "/x", 200)
    collector.reset()
    assert collector.store.requests() == []
    collector.stop()
    collector.stop()
    with pytest.raises(OSError):
        http.client.HTTPConnection(url.split("//")[1], timeout=2).request("GET", "/info")


# --- who may talk to it ---------------------------------------------------------------------------


def test_requests_without_the_right_key_are_401_and_read_nothing(collector: Collector) -> None:
    root = make_run("secret")
    assert request(collector, "POST", "/runs/batch", json.dumps({"post": [root]}).encode())[0] == 202
    for key in (None, "wrong", collector.api_key + "x"):
        status, payload = request(collector, "GET", f"/runs/{root['id']}", key=key)
        assert status == 401 and "x-api-key" in payload["detail"], (key, payload)
        assert request(collector, "GET", "/info", key=key)[0] == 401
        assert request(collector, "POST", "/runs/batch", json.dumps({"post": [make_run("intruder")]}).encode(),
                       key=key)[0] == 401  # fmt: skip
    assert [r["name"] for r in collector.store.runs().values()] == ["secret"]
    assert request(collector, "GET", f"/runs/{root['id']}")[1]["name"] == "secret"


def test_each_collector_makes_its_own_random_key() -> None:
    with Collector() as one, Collector() as two:
        assert one.api_key != two.api_key and len(one.api_key) >= 32
        assert request(one, "GET", "/info", key=two.api_key)[0] == 401
    assert Collector(api_key="chosen").api_key == "chosen"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.invalid"])
def test_a_host_that_is_not_loopback_is_refused_unless_allowed(host: str) -> None:
    with pytest.raises(RemoteHostError, match="allow_remote"):
        Collector(host)


def test_loopback_hosts_are_accepted_and_remote_ones_serve_when_allowed() -> None:
    for host in ("127.0.0.1", "localhost", "127.0.0.2"):
        Collector(host)
    with Collector("0.0.0.0", allow_remote=True) as everywhere:
        port = everywhere.url.rsplit(":", 1)[1]
        conn = http.client.HTTPConnection(f"127.0.0.1:{port}", timeout=10)
        conn.request("GET", "/info", headers={"x-api-key": everywhere.api_key})
        assert conn.getresponse().status == 200
        conn.close()


def test_info_reports_a_version_the_installed_sdk_accepts() -> None:
    """Every minimum backend version the installed SDK checks is met, so it never warns."""
    import langsmith
    from packaging.version import Version

    from lsautofix_collector.api import VERSION

    source = Path(langsmith.__file__).parent
    minimums = {m for path in source.rglob("*.py") for m in re.findall(r'min_version="([\d.]+)"', path.read_text())}
    assert minimums, "the SDK no longer checks backend versions this way: read langsmith's _backend_version"
    assert all(Version(VERSION) >= Version(m) for m in minimums), (VERSION, sorted(minimums))


def test_the_sdk_does_not_warn_that_the_collector_is_too_old(collector: Collector, tmp_path: Path) -> None:
    proc = run_sdk_script(
        collector,
        tmp_path,
        """
        import logging
        from langsmith import Client

        logging.basicConfig(level=logging.WARNING)
        client = Client()
        print("version", client.info.version)
        for name in ("runs", "datasets", "annotation_queues", "sessions", "threads"):
            getattr(client, name, None)
        """,
    )
    assert "version 0." in proc.stdout
    assert "older than the minimum" not in proc.stderr and "Failed to get info" not in proc.stderr, proc.stderr


def start_cli(*args: str, stderr: int | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """``python -m lsautofix_collector args``: the process, its URL and its API key, read from what it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lsautofix_collector", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None
    url = re.search(r"http://\S+", proc.stdout.readline()).group(0)  # type: ignore[union-attr]
    for _ in range(40):
        found = re.search(r"export LANGSMITH_API_KEY=(\S+)", proc.stdout.readline())
        if found:
            return proc, url, found.group(1)
    raise AssertionError("no LANGSMITH_API_KEY line")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX"))}
    return {**env, **extra}


def get(url: str, path: str, key: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(url.split("//")[1], timeout=10)
    try:
        conn.request("GET", path, headers={"x-api-key": key})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_module_entry_point_serves_until_interrupted_or_terminated(sig: int) -> None:
    proc, url, key = start_cli("--no-zstd")
    try:
        status, info = get(url, "/info", key)
        assert status == 200 and info["instance_flags"]["zstd_compression_enabled"] is False
        assert get(url, "/info", "not-the-key")[0] == 401
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=10)
        assert "lsautofix collector: 0 runs in 0 traces" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigusr1_prints_the_summary_and_keeps_serving(tmp_path: Path) -> None:
    proc, url, key = start_cli()
    try:
        script = tmp_path / "traced.py"
        script.write_text(textwrap.dedent(PARENT_AND_CHILDREN))
        env = clean_env(LANGSMITH_ENDPOINT=url, LANGSMITH_API_KEY=key, LANGSMITH_TRACING="true")
        subprocess.run([sys.executable, str(script)], env=env, check=True, timeout=60)
        proc.send_signal(signal.SIGUSR1)
        assert proc.stdout is not None
        head = proc.stdout.readline()
        while head and not head.startswith("lsautofix collector:"):  # the rest of the export lines
            head = proc.stdout.readline()
        assert head.startswith("lsautofix collector: 4 runs in 1 trace;"), head
        assert re.fullmatch(r"└── parent \[chain\] \d+\.\d ms\n", proc.stdout.readline())
        assert re.fullmatch(r"    └── child \[chain\] ×3 .*ms\n", proc.stdout.readline())
        assert get(url, "/info", key)[0] == 200  # still serving
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        assert out.strip().startswith("lsautofix collector: 4 runs in 1 trace;"), out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_env_serves_in_the_background_for_a_shell_to_eval(tmp_path: Path) -> None:
    script = tmp_path / "traced.py"
    script.write_text(textwrap.dedent(PARENT_AND_CHILDREN))
    shell = (
        f'eval "$({shlex.quote(sys.executable)} -m lsautofix_collector --env --project shell-proj)" || exit 9\n'
        'echo "endpoint=$LANGSMITH_ENDPOINT project=$LANGSMITH_PROJECT"\n'
        f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} || exit 8\n"
        'kill -TERM "$LSAUTOFIX_COLLECTOR_PID"\n'
    )
    # The collector's summary goes to the shell's stderr: communicate() returns once it exited.
    proc = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60, env=clean_env(), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.fullmatch(r"endpoint=http://127\.0\.0\.1:\d+ project=shell-proj\n", proc.stdout), proc.stdout
    assert "lsautofix collector: 4 runs in 1 trace;" in proc.stderr, proc.stderr
    assert "└── parent [chain]" in proc.stderr


def test_env_lines_are_exports_a_shell_reads_back_exactly() -> None:
    from lsautofix_collector.__main__ import exports

    env = {"A": "it's $HOME `x`", "B": ""}
    shell = "\n".join(exports(env)) + '\nprintf "%s|%s" "$A" "$B"'
    assert subprocess.run(["sh", "-c", shell], capture_output=True, text=True, check=True).stdout == "it's $HOME `x`|"


def test_cli_refuses_a_remote_host_unless_allowed() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lsautofix_collector", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=30, env=clean_env(), check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "--allow-remote" in proc.stderr and proc.stdout == ""
    served, url, key = start_cli("--host", "0.0.0.0", "--allow-remote")
    try:
        assert get("http://127.0.0.1:" + url.rsplit(":", 1)[1], "/info", key)[0] == 200
    finally:
        served.terminate()
        served.communicate(timeout=10)


def test_help_is_plain_text() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lsautofix_collector", "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    assert "``" not in proc.stdout and ":class:" not in proc.stdout
    for word in ("--env", "--allow-remote", "SIGUSR1", "SIGTERM", "401"):
        assert word in proc.stdout


def test_importing_the_collector_does_not_activate_lsautofix() -> None:
    code = "import sys, lsautofix_collector; print(sorted(m for m in sys.modules if m.startswith('lsautofix')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean_env())
    assert "'lsautofix'" not in out.stdout and "lsautofix_collector" in out.stdout
