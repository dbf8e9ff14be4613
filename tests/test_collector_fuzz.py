"""Fuzzing the live collector: whatever arrives, the answer is a JSON 4xx (or a 2xx when it happens
to be valid), never a 5xx or a dropped connection; the server keeps serving and the store can
still answer every question about what it accepted."""

from __future__ import annotations

import http.client
import json
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lsautofix_collector import Collector

# The collector's own HTTP parsing, with no SDK in the loop: .ci/run fuzzes it on one row (see
# pyproject's markers).
pytestmark = pytest.mark.once

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
BOUNDARY = "fuzzboundary"
RUN_ID = str(uuid.uuid4())
ENDPOINTS = [
    ("POST", "/runs/multipart"),
    ("POST", "/runs/batch"),
    ("POST", "/runs"),
    ("PATCH", f"/runs/{RUN_ID}"),
    ("POST", "/runs/query"),
    ("POST", "/sessions"),
    ("PATCH", f"/sessions/{RUN_ID}"),
    ("POST", "/datasets"),
    ("POST", "/examples/bulk"),
    ("POST", "/examples"),
    ("POST", "/feedback"),
]
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e[1] not in ("/runs/multipart", "/examples/bulk", "/runs/query")]
CONTENT_TYPES = ["application/json", f"multipart/form-data; boundary={BOUNDARY}", "text/plain", ""]
RUN_KEYS = [
    "id",
    "name",
    "run_type",
    "trace_id",
    "parent_run_id",
    "dotted_order",
    "start_time",
    "end_time",
    "inputs",
    "outputs",
    "extra",
    "error",
    "session_name",
    "session_id",
    "events",
    "tags",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
uuids = st.uuids().map(str)
#: Values a run field may get: mostly plausible, sometimes of the wrong type.
field_values = st.one_of(uuids, st.text(max_size=30), json_values, st.just("20250102T030405123456Z" + RUN_ID))
runs = st.fixed_dictionaries({"id": uuids}, optional={k: field_values for k in RUN_KEYS if k != "id"})
times = st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30))
#: Runs the collector should accept: ids are UUIDs and text is text, the rest is anything.
plausible_runs = st.fixed_dictionaries(
    {"id": uuids},
    optional={
        "trace_id": uuids,
        "parent_run_id": uuids,
        "name": st.text(max_size=20),
        "run_type": st.sampled_from(["chain", "llm", "tool"]),
        "dotted_order": st.one_of(st.text(max_size=40), st.just("20250102T030405123456Z" + RUN_ID)),
        "start_time": times,
        "end_time": times,
        "session_name": st.text(max_size=10),
        **{k: json_values for k in ("inputs", "outputs", "extra", "error", "events", "tags")},
    },
)


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def send(collector: Collector, method: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    """One request on a fresh connection; the answer must be complete JSON, and not a 5xx."""
    conn = http.client.HTTPConnection(collector.url.split("//")[1], timeout=10)
    try:
        conn.request(method, path, body=body, headers={"x-api-key": collector.api_key, **headers})
        response = conn.getresponse()  # raises if the server dropped the connection
        payload = json.loads(response.read())
    finally:
        conn.close()
    assert response.status < 500, payload
    assert 200 <= response.status < 300 or (400 <= response.status < 500 and "detail" in payload), payload
    return response.status


def raw(collector: Collector, data: bytes) -> bytes:
    """Send bytes as they are, close our side, and read everything the server answers."""
    host, port = collector.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def still_serving(collector: Collector) -> None:
    assert send(collector, "GET", "/info", b"", {}) == 200
    store = collector.store
    store.summary()
    for tree in store.trees():
        tree.render()
        tree.to_dict()


def multipart(parts: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for name, data in parts:
        # A lone surrogate in a name goes out as the invalid UTF-8 a broken client would send.
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n'.encode("utf-8", "surrogatepass")
        out += b"Content-Type: application/json\r\n\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def zstd(data: bytes) -> bytes:
    import zstandard

    return bytes(zstandard.ZstdCompressor().compress(data))


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.binary(min_size=1, max_size=2000),
    content_type=st.sampled_from(CONTENT_TYPES),
    compressed=st.booleans(),
)
def test_random_bytes_never_break_the_server(
    collector: Collector, endpoint: tuple[str, str], body: bytes, content_type: str, compressed: bool
) -> None:
    headers = {"Content-Type": content_type, **({"Content-Encoding": "zstd"} if compressed else {})}
    status = send(collector, *endpoint, body, headers)
    if compressed:  # random bytes are not a zstd frame
        assert 400 <= status < 500
    still_serving(collector)


@FUZZ
@given(endpoint=st.sampled_from(OBJECT_ENDPOINTS), value=json_values, compressed=st.booleans())
def test_json_of_the_wrong_type_is_a_4xx(
    collector: Collector, endpoint: tuple[str, str], value: Any, compressed: bool
) -> None:
    body = json.dumps(value).encode()
    headers = {"Content-Type": "application/json", **({"Content-Encoding": "zstd"} if compressed else {})}
    status = send(collector, *endpoint, zstd(body) if compressed else body, headers)
    if not isinstance(value, dict):
        assert 400 <= status < 500
    still_serving(collector)


@FUZZ
@given(
    post=st.one_of(st.lists(runs, max_size=3), json_values), patch=st.one_of(st.lists(runs, max_size=3), json_values)
)
def test_odd_runs_in_a_batch_are_refused_or_stored_safely(collector: Collector, post: Any, patch: Any) -> None:
    status = send(collector, "POST", "/runs/batch", json.dumps({"post": post, "patch": patch}).encode(), {})
    if (post is not None and not isinstance(post, list)) or (patch is not None and not isinstance(patch, list)):
        assert 400 <= status < 500
    still_serving(collector)


part_names = st.one_of(
    st.builds(lambda kind, ident: f"{kind}.{ident}", st.sampled_from(["post", "patch", "feedback"]), uuids),
    st.builds(
        lambda kind, ident, field: f"{kind}.{ident}.{field}",
        st.sampled_from(["post", "patch", "attachment"]),
        uuids,
        st.sampled_from(["inputs", "outputs", "events", "extra", "error", "serialized", "image"]),
    ),
    st.text(alphabet=st.characters(blacklist_characters='"\r\n'), max_size=40),
)
part_data = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    runs.map(lambda r: json.dumps(r).encode()),
    st.binary(max_size=200),
)


def op_parts(kind: str, run: dict[str, Any], fields: dict[str, Any]) -> list[tuple[str, bytes]]:
    """One run operation as the SDK splits it: the main part, then one part per big field."""
    parts = [(f"{kind}.{run['id']}", json.dumps(run).encode())]
    return parts + [(f"{kind}.{run['id']}.{name}", json.dumps(value).encode()) for name, value in fields.items()]


sdk_like_ops = st.builds(
    op_parts,
    st.sampled_from(["post", "patch"]),
    runs,
    st.dictionaries(
        st.sampled_from(["inputs", "outputs", "events", "extra", "error", "trace_id"]), json_values, max_size=3
    ),
)
junk_parts = st.lists(st.tuples(part_names, part_data), min_size=1, max_size=2)


@FUZZ
@given(groups=st.lists(st.one_of(sdk_like_ops, sdk_like_ops, junk_parts), max_size=4), compressed=st.booleans())
def test_odd_multipart_parts_are_refused_or_stored_safely(
    collector: Collector, groups: list[list[tuple[str, bytes]]], compressed: bool
) -> None:
    body = multipart([part for group in groups for part in group])
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if compressed:
        body, headers = zstd(body), {**headers, "Content-Encoding": "zstd"}
    send(collector, "POST", "/runs/multipart", body, headers)
    still_serving(collector)


@FUZZ
@given(run=runs, cut=st.integers(min_value=0), mode=st.sampled_from(["truncate", "zstd-truncate", "boundary"]))
def test_truncated_or_mislabelled_multipart_is_a_4xx(
    collector: Collector, run: dict[str, Any], cut: int, mode: str
) -> None:
    body = multipart([(f"post.{run['id']}", json.dumps(run).encode()), (f"post.{run['id']}.inputs", b"{}")])
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if mode == "truncate":
        body = body[: cut % (len(body) - 3)]  # always loses the closing "--"
    elif mode == "zstd-truncate":
        packed = zstd(body)
        body, headers = packed[: cut % len(packed)], {**headers, "Content-Encoding": "zstd"}
    else:
        headers = {"Content-Type": "multipart/form-data; boundary=another"}
    assert 400 <= send(collector, "POST", "/runs/multipart", body, headers) < 500
    still_serving(collector)


@FUZZ
@given(
    length=st.one_of(
        st.integers(max_value=-1).map(str),
        st.integers(min_value=64 * 1024 * 1024 + 1).map(str),
        st.text(alphabet="abcxyz-+. ", min_size=1, max_size=10),
    ),
    chunked=st.booleans(),
)
def test_impossible_content_lengths_are_a_4xx(collector: Collector, length: str, chunked: bool) -> None:
    key = f"x-api-key: {collector.api_key}\r\n"
    head = f"POST /runs/batch HTTP/1.1\r\nHost: x\r\n{key}Content-Length: {length}\r\n"
    if chunked:  # an oversized or malformed chunk header instead
        head = f"POST /runs/batch HTTP/1.1\r\nHost: x\r\n{key}Transfer-Encoding: chunked\r\n\r\n{length.strip() or 'z'}\r\n"
    answer = raw(collector, (head + "\r\n").encode())
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:200]
    still_serving(collector)


@FUZZ
@given(line=st.binary(min_size=1, max_size=300).filter(lambda b: b"\n" not in b and b"\r" not in b))
def test_garbage_request_lines_are_a_4xx(collector: Collector, line: bytes) -> None:
    words = line.decode("latin-1").split()
    assume(words and not (len(words) == 2 and words[0] == "GET"))  # blank lines are skipped; HTTP/0.9 has no status
    answer = raw(collector, line + b"\r\nContent-Length: 0\r\nx-api-key: " + collector.api_key.encode() + b"\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] [24]\d\d ", answer), (line, answer[:200])  # 2xx if it happens to be valid
    still_serving(collector)


@FUZZ
@given(body=st.binary(max_size=500), declared_extra=st.integers(min_value=1, max_value=100))
def test_bodies_shorter_than_declared_are_a_4xx_not_a_hang(
    collector: Collector, body: bytes, declared_extra: int
) -> None:
    head = f"POST /runs/batch HTTP/1.1\r\nHost: x\r\nx-api-key: {collector.api_key}\r\n"
    head += f"Content-Length: {len(body) + declared_extra}\r\n\r\n"
    answer = raw(collector, head.encode() + body)
    assert re.match(rb"HTTP/1\.1 400 ", answer), answer[:200]
    still_serving(collector)


def test_the_server_still_answers_after_the_fuzzing(collector: Collector) -> None:
    still_serving(collector)
    assert all(status < 500 for _, _, status in collector.store.requests())
