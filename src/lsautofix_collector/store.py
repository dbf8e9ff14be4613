"""What the collector received, and the questions tests and ``doctor`` ask about it.

Runs are kept as the list of creates (POST) and updates (PATCH) received for each id and merged on
read, so the answer does not depend on the order the SDK's threads delivered them in.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

#: Keys every merged run record has (``None`` when the SDK never sent them).
RUN_KEYS = (
    "id",
    "name",
    "run_type",
    "trace_id",
    "parent_run_id",
    "dotted_order",
    "session_name",
    "session_id",
    "start_time",
    "end_time",
    "error",
    "inputs",
    "outputs",
    "extra",
)

TENANT_ID = str(uuid.UUID(int=0))

_ISO = re.compile(
    r"^\s*(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?\s*"
    r"(?:([Zz])|([+-])(\d\d):?(\d\d))?\s*$"
)
_DOTTED = re.compile(r"^(\d{8}T\d{6}\d{1,6})Z(.+)$")


def now_iso() -> str:
    """The current UTC time, as LangSmith writes it."""
    return datetime.now(timezone.utc).isoformat()


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string (``Z``, offset or naive = UTC), else ``None``.

    Hand-rolled because ``datetime.fromisoformat`` on 3.10 rejects ``Z`` and odd fraction lengths.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    m = _ISO.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tz = timezone.utc
        if sign:
            delta = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(delta if sign == "+" else -delta)
        parsed = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tz
        )
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(timezone.utc) if zulu is None else parsed


def dotted_segments(dotted_order: Any) -> list[tuple[datetime, str]] | None:
    """``20240101T120000123456Z<uuid>.…`` as [(start, id)], or ``None`` when it is malformed."""
    if not isinstance(dotted_order, str) or not dotted_order:
        return None
    out = []
    for segment in dotted_order.split("."):
        m = _DOTTED.match(segment)
        if m is None:
            return None
        stamp, ident = m.groups()
        try:
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
            ident = str(uuid.UUID(ident))
        except ValueError:
            return None
        out.append((when, ident))
    return out


def start_of(run: dict[str, Any]) -> datetime | None:
    """A run's start: ``start_time``, else the timestamp in its own dotted_order segment."""
    start = parse_time(run.get("start_time"))
    if start is None:
        segments = dotted_segments(run.get("dotted_order"))
        start = segments[-1][0] if segments else None
    return start


def duration_ms(run: dict[str, Any]) -> float | None:
    """Milliseconds from start to end, or ``None`` when either is unknown."""
    start, end = start_of(run), parse_time(run.get("end_time"))
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parent(run: dict[str, Any]) -> str | None:
    parent = run.get("parent_run_id")
    return parent if isinstance(parent, str) and parent else None


def _trace(run: dict[str, Any]) -> str:
    trace = run.get("trace_id")
    return trace if isinstance(trace, str) and trace else str(run["id"])


def _order_key(run: dict[str, Any]) -> tuple[str, str]:
    return (_text(run.get("dotted_order")), str(run.get("id")))


@dataclass
class TreeNode:
    """One run and its children, ordered by ``dotted_order``; ``render()`` draws it as text."""

    run: dict[str, Any]
    children: list[TreeNode] = field(default_factory=list)

    def render(self) -> str:
        """This tree as text, like siblings collapsed: :func:`lsautofix_collector.render.render_trees`."""
        from lsautofix_collector.render import render_trees

        return render_trees([self])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary of the tree (no inputs or outputs)."""
        return {
            "id": self.run.get("id"),
            "name": self.run.get("name"),
            "run_type": self.run.get("run_type"),
            "duration_ms": duration_ms(self.run),
            "error": self.run.get("error"),
            "children": [child.to_dict() for child in self.children],
        }


def _merge(into: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if value is not None:
            into[key] = value


class RunStore:
    """Thread-safe record of runs, projects, datasets, examples, feedback and requests."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything received."""
        with self._lock:
            self._posts: dict[str, list[dict[str, Any]]] = {}
            self._patches: dict[str, list[dict[str, Any]]] = {}
            self._merged: dict[str, dict[str, Any]] | None = None
            self._projects: dict[str, dict[str, Any]] = {}
            self._datasets: dict[str, dict[str, Any]] = {}
            self._examples: dict[str, dict[str, Any]] = {}
            self._dataset_tags: dict[str, dict[str, str]] = {}
            self._feedback: list[dict[str, Any]] = []
            self._requests: list[tuple[str, str, int]] = []
            self._unknown: list[tuple[str, str]] = []
            self._ingests: list[dict[str, Any]] = []

    # --- writing (the server) ----------------------------------------------------------------

    def add_run_ops(self, posts: list[dict[str, Any]], patches: list[dict[str, Any]]) -> None:
        """Record creates and updates, each a dict with a canonical ``id``; one lock for the batch."""
        with self._lock:
            for post in posts:
                self._posts.setdefault(post["id"], []).append(post)
                self._auto_project(post)
            for patch in patches:
                self._patches.setdefault(patch["id"], []).append(patch)
            self._merged = None

    def _auto_project(self, run: dict[str, Any]) -> None:
        """LangSmith creates a project the first time a run names it; so do we."""
        name = run.get("session_name")
        if isinstance(name, str) and name and self.project_by_name(name) is None and not run.get("session_id"):
            self.put_project({"id": str(uuid.uuid4()), "name": name})

    def put_project(self, project: dict[str, Any]) -> dict[str, Any]:
        """Create or replace a project (session); fills the fields ``TracerSession`` requires."""
        record = {
            "start_time": now_iso(),
            "end_time": None,
            "description": None,
            "extra": None,
            "tenant_id": TENANT_ID,
            "reference_dataset_id": None,
            **project,
        }
        with self._lock:
            self._projects[str(record["id"])] = record
            self._merged = None
            return self.projects()[str(record["id"])]

    def project_by_name(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            for project in self._projects.values():
                if project.get("name") == name:
                    return dict(project)
        return None

    def delete_project(self, project_id: str) -> bool:
        with self._lock:
            self._merged = None
            return self._projects.pop(project_id, None) is not None

    def put_dataset(self, dataset: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._datasets[str(dataset["id"])] = dataset
        return self._dataset_view(dataset)

    def delete_dataset(self, dataset_id: str) -> bool:
        with self._lock:
            return self._datasets.pop(dataset_id, None) is not None

    def tag_dataset(self, dataset_id: str, tag: str, as_of: str) -> bool:
        """Name a version of a dataset (False when there is no such dataset)."""
        with self._lock:
            if dataset_id not in self._datasets:
                return False
            self._dataset_tags.setdefault(dataset_id, {})[tag] = as_of
            return True

    def dataset_tags(self, dataset_id: str) -> dict[str, str]:
        """Tag -> ``as_of`` of a dataset's named versions."""
        with self._lock:
            return dict(self._dataset_tags.get(dataset_id, {}))

    def put_example(self, example: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._examples[str(example["id"])] = example
        return dict(example)

    def add_feedback(self, feedback: dict[str, Any]) -> None:
        with self._lock:
            self._feedback.append(feedback)

    def log_ingest(self, path: str, encoding: str, size: int, posts: int, patches: int, feedback: int) -> None:
        """One accepted ingest request: how it was encoded, how big, what it carried."""
        entry = {"path": path, "encoding": encoding, "bytes": size, "posts": posts, "patches": patches}
        with self._lock:
            self._ingests.append({**entry, "feedback": feedback})

    def log_request(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests.append((method, path, status))

    def log_unknown(self, method: str, path: str) -> None:
        """A request for an endpoint the collector does not implement (as opposed to a missing object)."""
        with self._lock:
            self._unknown.append((method, path))

    # --- reading: runs -----------------------------------------------------------------------

    def _runs(self) -> dict[str, dict[str, Any]]:
        """The merged records, cached until the next write; callers must not mutate them."""
        with self._lock:
            if self._merged is None:
                names = {p.get("name"): pid for pid, p in self._projects.items()}
                merged: dict[str, dict[str, Any]] = {}
                for run_id, posts in self._posts.items():
                    record: dict[str, Any] = dict.fromkeys(RUN_KEYS)
                    for op in (*posts, *self._patches.get(run_id, ())):
                        _merge(record, op)
                    if record["session_id"] is None and record["session_name"] in names:
                        record["session_id"] = names[record["session_name"]]
                    project = self._projects.get(str(record["session_id"]))
                    if record["session_name"] is None and project is not None:
                        record["session_name"] = project.get("name")
                    merged[run_id] = record
                self._merged = merged
            return self._merged

    def runs(self) -> dict[str, dict[str, Any]]:
        """Run id -> merged record (creates, then updates; a lone update is not a run)."""
        return {run_id: dict(run) for run_id, run in self._runs().items()}

    def run(self, run_id: str) -> dict[str, Any]:
        """One merged run; ``KeyError`` when it was never created."""
        return dict(self._runs()[str(run_id)])

    def post_counts(self) -> dict[str, int]:
        """How many times each run id was created."""
        with self._lock:
            return {run_id: len(posts) for run_id, posts in self._posts.items()}

    def duplicates(self) -> list[str]:
        """Run ids created more than once."""
        return sorted(run_id for run_id, count in self.post_counts().items() if count > 1)

    def patched_only(self) -> list[str]:
        """Run ids that were updated but never created: their POST was lost."""
        with self._lock:
            return sorted(set(self._patches) - set(self._posts))

    def roots(self) -> list[dict[str, Any]]:
        """Runs without a parent, oldest first."""
        found = [dict(r) for r in self._runs().values() if _parent(r) is None]
        return sorted(found, key=self._start_key)

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        """Trace id -> its runs, in dotted order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for run in self._runs().values():
            out.setdefault(_trace(run), []).append(dict(run))
        return {trace: sorted(runs, key=_order_key) for trace, runs in out.items()}

    def children(self, run_id: str) -> list[dict[str, Any]]:
        """Direct children of a run, in dotted order."""
        kids = [dict(r) for r in self._runs().values() if _parent(r) == str(run_id)]
        return sorted(kids, key=_order_key)

    def orphans(self) -> list[dict[str, Any]]:
        """Runs whose parent was never received."""
        runs = self._runs()
        return [dict(r) for r in runs.values() if _parent(r) is not None and _parent(r) not in runs]

    def consistency_errors(self) -> list[str]:
        """Human-readable problems: ids, parents, trace ids and dotted orders that disagree."""
        runs = self._runs()
        errors: list[str] = []
        for run_id in self.patched_only():
            errors.append(f"run {run_id} was updated but never created")
        for run_id, run in runs.items():
            label = f"run {run.get('name')!r} ({run_id})"
            parent_id, trace_id = _parent(run), run.get("trace_id")
            if not run.get("end_time"):
                errors.append(f"{label} never ended (no end_time)")
            start, end = start_of(run), parse_time(run.get("end_time"))
            if start is not None and end is not None and end < start:
                errors.append(f"{label} ends before it starts")
            if parent_id is not None and parent_id not in runs:
                errors.append(f"{label}: parent {parent_id} was never received")
            if not trace_id:
                errors.append(f"{label} has no trace_id")
            segments = dotted_segments(run.get("dotted_order"))
            if segments is None:
                errors.append(f"{label}: dotted_order {run.get('dotted_order')!r} is missing or malformed")
            elif segments[-1][1] != run_id:
                errors.append(f"{label}: dotted_order's last segment is not its own id")
            elif trace_id and segments[0][1] != trace_id:
                errors.append(f"{label}: dotted_order starts at {segments[0][1]}, not at its trace {trace_id}")
            if parent_id is None:
                if trace_id and trace_id != run_id:
                    errors.append(f"{label} is a root but its trace_id is {trace_id}")
                if segments is not None and len(segments) != 1:
                    errors.append(f"{label} is a root but its dotted_order has {len(segments)} segments")
                continue
            parent = runs.get(parent_id)
            if parent is None:
                continue
            if parent.get("trace_id") != trace_id:
                errors.append(f"{label} is in trace {trace_id} but its parent is in trace {parent.get('trace_id')}")
            parent_dotted = _text(parent.get("dotted_order"))
            if segments is not None and (
                not _text(run.get("dotted_order")).startswith(parent_dotted + ".")
                or len(segments) != parent_dotted.count(".") + 2
            ):
                errors.append(f"{label}: dotted_order is not its parent's plus one segment")
        return errors

    @staticmethod
    def _start_key(run: dict[str, Any]) -> tuple[float, str]:
        start = start_of(run)
        return (start.timestamp() if start else float("inf"), _text(run.get("dotted_order")))

    def tree(self, trace_id: str) -> TreeNode:
        """The trace as nested nodes; runs whose parent never arrived hang under a placeholder."""
        runs = [dict(r) for r in self._runs().values() if _trace(r) == str(trace_id)]
        if not runs:
            raise KeyError(trace_id)
        return self._tree(str(trace_id), runs)

    def _tree(self, trace_id: str, runs: list[dict[str, Any]]) -> TreeNode:
        ids = {r["id"] for r in runs}
        by_parent: dict[str | None, list[dict[str, Any]]] = {}
        for run in runs:
            parent = _parent(run)
            by_parent.setdefault(parent if parent in ids else None, []).append(run)

        def build(run: dict[str, Any], seen: frozenset[str]) -> TreeNode:
            kids = sorted(by_parent.get(run["id"], []), key=_order_key) if run["id"] not in seen else []
            return TreeNode(run, [build(k, seen | {run["id"]}) for k in kids])

        tops = sorted(by_parent.get(None, []), key=self._start_key)
        real_roots = [r for r in tops if _parent(r) is None]
        if len(tops) == 1 and real_roots:
            return build(tops[0], frozenset())
        root = build(real_roots[0], frozenset()) if real_roots else TreeNode(self._placeholder(trace_id))
        missing: dict[str, TreeNode] = {}
        for run in tops:
            if real_roots and run is real_roots[0]:
                continue
            parent = _parent(run)
            if parent is None or parent == root.run["id"]:
                root.children.append(build(run, frozenset()))
                continue
            if parent not in missing:
                missing[parent] = TreeNode(self._placeholder(parent))
                root.children.append(missing[parent])
            missing[parent].children.append(build(run, frozenset()))
        return root

    @staticmethod
    def _placeholder(run_id: str) -> dict[str, Any]:
        return {**dict.fromkeys(RUN_KEYS), "id": run_id, "name": f"? {run_id} (never received)", "run_type": "missing"}

    def trees(self) -> list[TreeNode]:
        """One tree per trace, oldest root first."""
        traces = self.traces()
        order = sorted(traces, key=lambda t: min(self._start_key(r) for r in traces[t]))
        return [self._tree(t, traces[t]) for t in order]

    # --- reading: everything else ------------------------------------------------------------

    def projects(self) -> dict[str, dict[str, Any]]:
        """Projects (sessions, experiments) by id, with a live ``run_count``."""
        counts: dict[str, int] = {}
        for run in self._runs().values():
            counts[str(run.get("session_id"))] = counts.get(str(run.get("session_id")), 0) + 1
        with self._lock:
            return {pid: {**p, "run_count": counts.get(pid, 0)} for pid, p in self._projects.items()}

    def runs_in_project(self, name_or_id: str) -> list[dict[str, Any]]:
        """Runs whose session id or name is this project's, in start order."""
        keys = {name_or_id}
        for pid, project in self.projects().items():
            if name_or_id in (pid, project.get("name")):
                keys.update({pid, str(project.get("name"))})
        found = [dict(r) for r in self._runs().values() if {str(r["session_id"]), str(r["session_name"])} & keys]
        return sorted(found, key=self._start_key)

    def _dataset_view(self, dataset: dict[str, Any]) -> dict[str, Any]:
        count = sum(1 for e in self._examples.values() if e.get("dataset_id") == dataset["id"])
        return {**dataset, "example_count": count}

    def datasets(self) -> dict[str, dict[str, Any]]:
        """Datasets by id, with a live ``example_count``."""
        with self._lock:
            return {did: self._dataset_view(d) for did, d in self._datasets.items()}

    def examples(self) -> dict[str, dict[str, Any]]:
        """Dataset examples by id, in creation order."""
        with self._lock:
            return {eid: dict(e) for eid, e in self._examples.items()}

    def feedback(self) -> list[dict[str, Any]]:
        """Every feedback received (``POST /feedback`` and multipart ``feedback.*`` parts)."""
        with self._lock:
            return [dict(f) for f in self._feedback]

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request answered, unknown endpoints included."""
        with self._lock:
            return list(self._requests)

    def unknown_requests(self) -> list[tuple[str, str]]:
        """(method, path) of requests to endpoints the collector does not implement."""
        with self._lock:
            return list(self._unknown)

    def ingests(self) -> list[dict[str, Any]]:
        """Accepted ingest requests: ``path``, ``encoding`` ("zstd" or ""), ``bytes`` as sent, op counts."""
        with self._lock:
            return [dict(i) for i in self._ingests]

    def summary(self) -> dict[str, Any]:
        """Counts, JSON-able, for a one-line verdict."""
        return {
            "runs": len(self._runs()),
            "traces": len(self.traces()),
            "roots": len(self.roots()),
            "duplicates": len(self.duplicates()),
            "orphans": len(self.orphans()),
            "patched_only": len(self.patched_only()),
            "consistency_errors": len(self.consistency_errors()),
            "projects": len(self.projects()),
            "feedback": len(self.feedback()),
            "requests": len(self.requests()),
            "unknown_requests": len(self.unknown_requests()),
        }
