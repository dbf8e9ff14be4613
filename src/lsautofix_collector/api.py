"""The LangSmith endpoints the SDK calls, answered from a :class:`RunStore`; no HTTP in here.

Tracing: ``/info``, ``/runs/multipart`` (plain and zstd), ``/runs/batch``, ``POST /runs``,
``PATCH /runs/{id}``. Evaluations: projects (``/sessions``), ``/datasets``, ``/examples``,
``/feedback``, plus ``GET /runs/{id}`` and ``POST /runs/query`` for scripts that read back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from lsautofix_collector.store import RunStore, now_iso, parse_time
from lsautofix_collector.wire import (
    MAX_DECOMPRESSED,
    RequestError,
    canonical_uuid,
    decompress_zstd,
    loads,
    obj,
    parse_multipart,
)

#: Reported as the server version. PEP 440-valid and at least every minimum the SDK checks
#: (``_check_backend_version``: 0.16.0 for most v2 resources, 0.18.0 for ``sessions`` in langsmith
#: 0.15.1), so it never warns that the backend is too old; >= 0.8.10 also makes it send feedback
#: through the run queue (multipart) as it does against LangSmith itself. A test reads the
#: installed SDK's minimums and fails when a newer SDK asks for more.
VERSION = "0.18.0+lsautofix"

Query = dict[str, list[str]]
Answer = tuple[int, Any]
_UUID_FIELDS = ("id", "trace_id", "parent_run_id", "session_id", "reference_example_id")
_TEXT_FIELDS = ("name", "run_type", "dotted_order", "start_time", "end_time", "session_name")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def run_fields(value: Any, what: str, run_id: str | None = None) -> dict[str, Any]:
    """A run create/update checked and normalized: canonical UUIDs, text where text belongs."""
    run = dict(obj(value, what))
    if run_id is not None:
        run["id"] = run_id
    elif run.get("id") is None:
        run["id"] = str(uuid.uuid4())
    for key in _UUID_FIELDS:
        if run.get(key) is not None:
            run[key] = canonical_uuid(run[key], f"{what}.{key}")
    for key in _TEXT_FIELDS:
        if run.get(key) is not None and not isinstance(run[key], str):
            raise RequestError(422, f"{what}.{key} must be a string")
    return run


#: Fields the SDK's ``Feedback`` model requires (``Optional`` ones included): what LangSmith fills
#: when a client leaves them out, as ``create_feedback`` without ``trace_id`` does.
_FEEDBACK_DEFAULTS = ("run_id", "trace_id", "score", "value", "comment", "correction", "feedback_source",
                      "session_id", "start_time", "comparative_experiment_id", "feedback_group_id", "extra")  # fmt: skip


def feedback_fields(value: Any, what: str, feedback_id: str | None = None) -> dict[str, Any]:
    """A feedback checked and completed, so that ``list_feedback()`` and ``read_feedback()`` validate."""
    item = dict(obj(value, what))
    if feedback_id is not None:
        item["id"] = feedback_id
    else:
        item["id"] = canonical_uuid(item["id"], f"{what}.id") if item.get("id") else str(uuid.uuid4())
    for key in ("run_id", "trace_id", "session_id"):
        if item.get(key) is not None:
            item[key] = canonical_uuid(item[key], f"{what}.{key}")
    if not isinstance(item.get("key"), str):
        raise RequestError(422, f"{what}.key must be a string")
    created = now_iso()
    return {**dict.fromkeys(_FEEDBACK_DEFAULTS), "created_at": created, "modified_at": created, **item}


def _runs_list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(422, f"{what} must be a list of runs")
    return [run_fields(item, f"{what}[{i}]") for i, item in enumerate(value)]


def _first(query: Query, key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _int(query: Query, key: str, default: int) -> int:
    text = _first(query, key)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise RequestError(422, f"query parameter {key} must be an integer") from None
    if value < 0:
        raise RequestError(422, f"query parameter {key} must not be negative")
    return value


def _page(items: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    offset, limit = _int(query, "offset", 0), _int(query, "limit", 100)
    return items[offset : offset + limit]


def _changes(update: dict[str, Any]) -> dict[str, Any]:
    """The fields an update sets: ``None`` means unchanged, and ids are not updatable."""
    return {k: v for k, v in update.items() if v is not None and k not in ("id", "run_count")}


def _true(text: str | None) -> bool:
    return (text or "").lower() in ("1", "true", "yes")


class Api:
    """Routes (method, path) to handlers; every handler returns ``(status, JSON value)``."""

    def __init__(self, store: RunStore, info: Callable[[], dict[str, Any]]) -> None:
        self.store = store
        self.info = info
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = []
        for method, pattern, handler in (
            ("GET", "/info", self.get_info),
            ("POST", "/runs/multipart", self.post_multipart),
            ("POST", "/runs/batch", self.post_batch),
            ("POST", "/runs/query", self.query_runs),
            ("POST", "/runs", self.post_run),
            ("GET", "/runs/{id}", self.get_run),
            ("PATCH", "/runs/{id}", self.patch_run),
            ("POST", "/sessions", self.create_project),
            ("GET", "/sessions", self.list_projects),
            ("GET", "/sessions/{id}", self.read_project),
            ("PATCH", "/sessions/{id}", self.update_project),
            ("DELETE", "/sessions/{id}", self.delete_project),
            ("POST", "/datasets", self.create_dataset),
            ("GET", "/datasets", self.list_datasets),
            ("GET", "/datasets/{id}", self.read_dataset),
            ("PATCH", "/datasets/{id}", self.update_dataset),
            ("DELETE", "/datasets/{id}", self.delete_dataset),
            ("PUT", "/datasets/{id}/tags", self.tag_dataset),
            ("POST", "/examples/bulk", self.create_examples),
            ("POST", "/examples", self.create_example),
            ("GET", "/examples", self.list_examples),
            ("GET", "/examples/{id}", self.read_example),
            ("PATCH", "/examples/{id}", self.update_example),
            ("POST", "/feedback", self.create_feedback),
            ("GET", "/feedback", self.list_feedback),
            ("GET", "/feedback/{id}", self.read_feedback),
        ):
            regex = re.compile("^" + re.escape(pattern).replace(r"\{id\}", "([^/]+)") + "$")
            self._routes.append((method, regex, handler))

    def handle(self, method: str, path: str, query: Query, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one request; raises :class:`RequestError` for anything malformed."""
        path = "/" + path.strip("/")
        if path.startswith("/api/v1/"):
            path = path[len("/api/v1") :]
        known_path = False
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            known_path = True
            if route_method != method:
                continue
            sent = len(body)
            encoding = headers.get("content-encoding", "").strip().lower()
            if encoding == "zstd":
                body = decompress_zstd(body, MAX_DECOMPRESSED)
            elif encoding not in ("", "identity"):
                raise RequestError(415, f"unsupported Content-Encoding {encoding!r}")
            args = [canonical_uuid(g, "path id") for g in match.groups()]
            return handler(*args, query=query, headers=headers, body=body, sent=sent)
        if known_path:
            return 405, {"detail": f"Method {method} not allowed on {path}"}
        self.store.log_unknown(method, path)
        return 404, {"detail": f"Not Found: the lsautofix collector does not implement {method} {path}"}

    # --- tracing -----------------------------------------------------------------------------

    def get_info(self, **_: Any) -> Answer:
        return 200, self.info()

    def post_multipart(self, *, headers: dict[str, str], body: bytes, sent: int, **_: Any) -> Answer:
        """``post.{id}`` / ``patch.{id}`` objects, their ``.inputs`` … parts, attachments, feedback."""
        posts: list[dict[str, Any]] = []
        patches: list[dict[str, Any]] = []
        feedback: list[dict[str, Any]] = []
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for part in parse_multipart(body, headers.get("content-type", "")):
            kind, rest = part.name.split(".", 1) if "." in part.name else (part.name, "")
            ident, field = rest.split(".", 1) if "." in rest else (rest, "")
            if kind in ("post", "patch", "attachment", "feedback"):
                ident = canonical_uuid(ident, f"part {part.name[:80]!r}: id")
            if kind in ("post", "patch") and not field:
                op = run_fields(loads(part.data, f"part {part.name}"), f"part {part.name}", ident)
                (posts if kind == "post" else patches).append(op)
                current[(kind, ident)] = op
            elif kind in ("post", "patch"):
                if not _FIELD.match(field):
                    raise RequestError(422, f"part {part.name[:80]!r}: bad field name")
                if (kind, ident) not in current:
                    raise RequestError(422, f"part {part.name!r} comes before part {kind}.{ident}")
                current[(kind, ident)][field] = loads(part.data, f"part {part.name}")
            elif kind == "attachment" and field:
                found = current.get(("post", ident)) or current.get(("patch", ident))
                if found is None:
                    found = current[("patch", ident)] = {"id": ident}
                    patches.append(found)
                op = found
                attachments = op.setdefault("attachments", {})
                if not isinstance(attachments, dict):
                    raise RequestError(422, f"run {ident}: attachments must be an object")
                attachments[field] = {"content_type": part.content_type, "size": len(part.data)}
            elif kind == "feedback" and not field:
                feedback.append(feedback_fields(loads(part.data, f"part {part.name}"), f"part {part.name}", ident))
            else:
                raise RequestError(422, f"unknown multipart part {part.name[:80]!r}")
        for op in (*posts, *patches):  # parts may set any field: check the result as a whole
            op.update(run_fields(op, f"run {op['id']}", op["id"]))
        self.store.add_run_ops(posts, patches)
        for item in feedback:
            self.store.add_feedback(item)
        self._log_ingest("/runs/multipart", headers, sent, len(posts), len(patches), len(feedback))
        return 202, {}

    def _log_ingest(
        self, path: str, headers: dict[str, str], sent: int, posts: int, patches: int, feedback: int = 0
    ) -> None:
        encoding = headers.get("content-encoding", "").strip().lower()
        self.store.log_ingest(path, "" if encoding == "identity" else encoding, sent, posts, patches, feedback)

    def post_batch(self, *, headers: dict[str, str], body: bytes, sent: int, **_: Any) -> Answer:
        """``{"post": [runs], "patch": [runs]}``: what the SDK sends when multipart is off."""
        batch = obj(loads(body), "batch")
        posts, patches = _runs_list(batch.get("post"), "post"), _runs_list(batch.get("patch"), "patch")
        self.store.add_run_ops(posts, patches)
        self._log_ingest("/runs/batch", headers, sent, len(posts), len(patches))
        return 202, {}

    def post_run(self, *, headers: dict[str, str], body: bytes, sent: int, **_: Any) -> Answer:
        """One run; like LangSmith, fill ``trace_id`` and ``dotted_order`` when the SDK left them out."""
        run = run_fields(loads(body), "run")
        if run.get("trace_id") is None or run.get("dotted_order") is None:
            self._place(run)
        self.store.add_run_ops([run], [])
        self._log_ingest("/runs", headers, sent, 1, 0)
        return 202, {}

    def _place(self, run: dict[str, Any]) -> None:
        """A root is its own trace; a child extends its parent's dotted order (when it arrived)."""
        start = parse_time(run.get("start_time")) or datetime.now(timezone.utc)
        own = start.strftime("%Y%m%dT%H%M%S%fZ") + run["id"]
        parent_id = run.get("parent_run_id")
        if parent_id is None:
            run["trace_id"] = run.get("trace_id") or run["id"]
            run["dotted_order"] = run.get("dotted_order") or own
            return
        try:
            parent: dict[str, Any] | None = self.store.run(parent_id)
        except KeyError:
            parent = None
        if parent is not None and run.get("trace_id") is None:
            run["trace_id"] = parent.get("trace_id")
        if parent is not None and run.get("dotted_order") is None and parent.get("dotted_order"):
            run["dotted_order"] = f"{parent['dotted_order']}.{own}"

    def patch_run(self, run_id: str, *, headers: dict[str, str], body: bytes, sent: int, **_: Any) -> Answer:
        self.store.add_run_ops([], [run_fields(loads(body), "run update", run_id)])
        self._log_ingest(f"/runs/{run_id}", headers, sent, 0, 1)
        return 202, {}

    def get_run(self, run_id: str, **_: Any) -> Answer:
        try:
            return 200, self.store.run(run_id)
        except KeyError:
            return 404, {"detail": f"Run {run_id} not found"}

    def query_runs(self, *, body: bytes, **_: Any) -> Answer:
        """A small subset of ``list_runs``: session, id, trace, parent_run, is_root, run_type."""
        spec = obj(loads(body), "query") if body.strip() else {}

        def ids(key: str) -> set[str] | None:
            value = spec.get(key)
            if value is None:
                return None
            values = value if isinstance(value, list) else [value]
            return {canonical_uuid(v, f"query.{key}") for v in values}

        sessions, run_ids, traces, parents = ids("session"), ids("id"), ids("trace"), ids("parent_run")
        examples = ids("reference_example")
        found = []
        for run in self.store.runs().values():
            if sessions is not None and run.get("session_id") not in sessions:
                continue
            if run_ids is not None and run["id"] not in run_ids:
                continue
            if traces is not None and run.get("trace_id") not in traces:
                continue
            if parents is not None and run.get("parent_run_id") not in parents:
                continue
            if examples is not None and run.get("reference_example_id") not in examples:
                continue
            if spec.get("is_root") is not None and bool(spec["is_root"]) != (run.get("parent_run_id") is None):
                continue
            if spec.get("run_type") is not None and run.get("run_type") != spec["run_type"]:
                continue
            found.append(run)
        limit = spec.get("limit", 100)
        if not isinstance(limit, int) or limit < 0:
            raise RequestError(422, "query.limit must be a non-negative integer")
        return 200, {"runs": found[:limit], "cursors": {"next": None}}

    # --- projects (sessions, experiments) ------------------------------------------------------

    def create_project(self, *, query: Query, body: bytes, **_: Any) -> Answer:
        spec = dict(obj(loads(body), "project"))
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError(422, "project.name must be a non-empty string")
        for key in ("id", "reference_dataset_id"):
            if spec.get(key) is not None:
                spec[key] = canonical_uuid(spec[key], f"project.{key}")
        existing = self.store.project_by_name(name)
        if existing is not None:
            if not _true(_first(query, "upsert")):
                return 409, {"detail": f"Session {name!r} already exists."}
            return 200, self.store.put_project({**existing, **_changes(spec)})
        spec["id"] = spec.get("id") or str(uuid.uuid4())
        spec.setdefault("start_time", now_iso())
        return 200, self.store.put_project(spec)

    def list_projects(self, *, query: Query, **_: Any) -> Answer:
        found = list(self.store.projects().values())
        if (name := _first(query, "name")) is not None:
            found = [p for p in found if p.get("name") == name]
        if (part := _first(query, "name_contains")) is not None:
            found = [p for p in found if part in str(p.get("name"))]
        if query.get("id"):
            wanted = {canonical_uuid(v, "id") for v in query["id"]}
            found = [p for p in found if p["id"] in wanted]
        if query.get("reference_dataset"):
            wanted = {canonical_uuid(v, "reference_dataset") for v in query["reference_dataset"]}
            found = [p for p in found if p.get("reference_dataset_id") in wanted]
        return 200, _page(found, query)

    def read_project(self, project_id: str, **_: Any) -> Answer:
        project = self.store.projects().get(project_id)
        return (200, project) if project else (404, {"detail": f"Session {project_id} not found"})

    def update_project(self, project_id: str, *, body: bytes, **_: Any) -> Answer:
        update = obj(loads(body), "project update")
        project = self.store.projects().get(project_id)
        if project is None:
            return 404, {"detail": f"Session {project_id} not found"}
        project.pop("run_count", None)
        return 200, self.store.put_project({**project, **_changes(update)})

    def delete_project(self, project_id: str, **_: Any) -> Answer:
        if not self.store.delete_project(project_id):
            return 404, {"detail": f"Session {project_id} not found"}
        return 202, {}

    # --- datasets and examples -----------------------------------------------------------------

    def create_dataset(self, *, body: bytes, **_: Any) -> Answer:
        spec = dict(obj(loads(body), "dataset"))
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError(422, "dataset.name must be a non-empty string")
        if any(d.get("name") == name for d in self.store.datasets().values()):
            return 409, {"detail": f"Dataset {name!r} already exists."}
        extra: dict[str, Any] = spec["extra"] if isinstance(spec.get("extra"), dict) else {}
        created = now_iso()
        dataset = {
            "description": None,
            "data_type": "kv",
            "metadata": extra.get("metadata"),
            "inputs_schema_definition": None,
            "outputs_schema_definition": None,
            "transformations": None,
            "session_count": 0,
            "last_session_start_time": None,
            **spec,
            "id": canonical_uuid(spec["id"], "dataset.id") if spec.get("id") else str(uuid.uuid4()),
            "created_at": created,
            "modified_at": created,
        }
        return 200, self.store.put_dataset(dataset)

    def list_datasets(self, *, query: Query, **_: Any) -> Answer:
        found = list(self.store.datasets().values())
        if (name := _first(query, "name")) is not None:
            found = [d for d in found if d.get("name") == name]
        if (part := _first(query, "name_contains")) is not None:
            found = [d for d in found if part in str(d.get("name"))]
        if query.get("id"):
            wanted = {canonical_uuid(v, "id") for v in query["id"]}
            found = [d for d in found if d["id"] in wanted]
        return 200, _page(found, query)

    def read_dataset(self, dataset_id: str, **_: Any) -> Answer:
        dataset = self.store.datasets().get(dataset_id)
        return (200, dataset) if dataset else (404, {"detail": f"Dataset {dataset_id} not found"})

    def update_dataset(self, dataset_id: str, *, body: bytes, **_: Any) -> Answer:
        dataset = self.store.datasets().get(dataset_id)
        if dataset is None:
            return 404, {"detail": f"Dataset {dataset_id} not found"}
        dataset.pop("example_count", None)
        update = {k: v for k, v in _changes(obj(loads(body), "dataset update")).items() if k != "created_at"}
        return 200, self.store.put_dataset({**dataset, **update, "modified_at": now_iso()})

    def tag_dataset(self, dataset_id: str, *, body: bytes, **_: Any) -> Answer:
        """``update_dataset_tag``: name a version (``as_of``); the pytest plugin tags git commit and branch."""
        spec = obj(loads(body), "dataset tag")
        tag, as_of = spec.get("tag"), spec.get("as_of")
        if not isinstance(tag, str) or not tag or not isinstance(as_of, str) or parse_time(as_of) is None:
            raise RequestError(422, "a dataset tag needs a tag (a string) and as_of (an ISO 8601 time)")
        if not self.store.tag_dataset(dataset_id, tag, as_of):
            return 404, {"detail": f"Dataset {dataset_id} not found"}
        return 200, {"as_of": as_of, "tags": sorted(self.store.dataset_tags(dataset_id))}

    def delete_dataset(self, dataset_id: str, **_: Any) -> Answer:
        if not self.store.delete_dataset(dataset_id):
            return 404, {"detail": f"Dataset {dataset_id} not found"}
        return 202, {}

    def _example(self, value: Any, what: str) -> dict[str, Any]:
        spec = dict(obj(value, what))
        dataset_id = canonical_uuid(spec.get("dataset_id"), f"{what}.dataset_id")
        if dataset_id not in self.store.datasets():
            raise RequestError(404, f"Dataset {dataset_id} not found")
        metadata: dict[str, Any] = spec["metadata"] if isinstance(spec.get("metadata"), dict) else {}
        split = spec.pop("split", None)
        if split is not None:
            metadata = {**metadata, "dataset_split": split if isinstance(split, list) else [split]}
        # LangSmith puts every example in a split, "base" unless told; the pytest plugin relies on it
        metadata.setdefault("dataset_split", ["base"])
        return {
            "inputs": {},
            "outputs": None,
            "source_run_id": None,
            **spec,
            "metadata": metadata,
            "id": canonical_uuid(spec["id"], f"{what}.id") if spec.get("id") else str(uuid.uuid4()),
            "dataset_id": dataset_id,
            "created_at": spec.get("created_at") if isinstance(spec.get("created_at"), str) else now_iso(),
            "modified_at": now_iso(),
        }

    def create_examples(self, *, body: bytes, **_: Any) -> Answer:
        items = loads(body)
        if not isinstance(items, list):
            raise RequestError(422, "examples must be a list")
        examples = [self._example(item, f"examples[{i}]") for i, item in enumerate(items)]
        return 200, [self.store.put_example(e) for e in examples]

    def create_example(self, *, body: bytes, **_: Any) -> Answer:
        return 200, self.store.put_example(self._example(loads(body), "example"))

    def list_examples(self, *, query: Query, **_: Any) -> Answer:
        found = list(self.store.examples().values())
        if query.get("dataset"):
            wanted = {canonical_uuid(v, "dataset") for v in query["dataset"]}
            found = [e for e in found if e["dataset_id"] in wanted]
        if query.get("id"):
            wanted = {canonical_uuid(v, "id") for v in query["id"]}
            found = [e for e in found if e["id"] in wanted]
        if query.get("splits"):
            splits = set(query["splits"])
            found = [e for e in found if splits & set((e.get("metadata") or {}).get("dataset_split") or ["base"])]
        return 200, _page(found, query)

    def read_example(self, example_id: str, **_: Any) -> Answer:
        example = self.store.examples().get(example_id)
        return (200, example) if example else (404, {"detail": f"Example {example_id} not found"})

    def update_example(self, example_id: str, *, body: bytes, **_: Any) -> Answer:
        """``update_example`` without multipart: the fields it sends replace the example's."""
        example = self.store.examples().get(example_id)
        if example is None:
            return 404, {"detail": f"Example {example_id} not found"}
        update = dict(obj(loads(body), "example update"))
        update.pop("id", None)
        update.pop("attachments_operations", None)
        old_split = (example.get("metadata") or {}).get("dataset_split")
        if isinstance(update.get("metadata"), dict) and update.get("split") is None and old_split:
            update["metadata"] = {"dataset_split": old_split, **update["metadata"]}
        merged = self._example({**example, **{k: v for k, v in update.items() if v is not None}}, "example update")
        return 200, self.store.put_example({**merged, "id": example_id, "created_at": example["created_at"]})

    # --- feedback ------------------------------------------------------------------------------

    def create_feedback(self, *, body: bytes, **_: Any) -> Answer:
        item = feedback_fields(loads(body), "feedback")
        self.store.add_feedback(item)
        return 200, item

    def list_feedback(self, *, query: Query, **_: Any) -> Answer:
        found = self.store.feedback()
        if query.get("run"):
            wanted = {canonical_uuid(v, "run") for v in query["run"]}
            found = [f for f in found if str(f.get("run_id")) in wanted]
        if query.get("key"):
            found = [f for f in found if f.get("key") in query["key"]]
        return 200, _page(found, query)

    def read_feedback(self, feedback_id: str, **_: Any) -> Answer:
        for item in self.store.feedback():
            if item.get("id") == feedback_id:
                return 200, item
        return 404, {"detail": f"Feedback {feedback_id} not found"}
