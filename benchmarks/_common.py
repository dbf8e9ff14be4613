"""Shared helpers for the benchmark scripts: paths, a clean environment, statistics, a collector.

Not a benchmark itself (``run_all.py`` skips files starting with ``_``). Standard library only.

:func:`collector` returns lsautofix's embedded collector (``lsautofix_collector.Collector``) when
it exists, else (or with ``--collector mini`` / ``LSAUTOFIX_BENCH_COLLECTOR=mini``)
:class:`MiniCollector`, a small stand-in with the same surface the benchmarks use
(``with c: c.env(); c.store.runs()``): it answers 200 to everything and records the runs it is sent
(``/runs/multipart``, ``/runs/batch``, ``POST /runs``, ``PATCH /runs/<id>``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"


def ensure_src_on_path() -> None:
    """Make ``import lsautofix`` work from a checkout that is not installed."""
    try:
        import lsautofix  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(SRC))


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a measured subprocess: no LangSmith/LangChain/lsautofix settings.

    ``PYTHONPATH`` gets ``src`` so the child can import lsautofix from the checkout.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX_")) and k != "PYTHONWARNINGS"
    }
    paths = [str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


def run_json(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any] | None:
    """Run ``cmd`` in its own session; return the JSON its last stdout line holds.

    On timeout the whole process group (the child and anything it forked: pool workers) is
    killed and None is returned, so a hang is reported instead of leaving orphans behind.
    A non-zero exit raises SystemExit with the child's output.
    """
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        return None
    finally:
        try:  # a child that exited may leave workers of its own behind: they are in its group
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[1:]} failed ({proc.returncode}):\n{out}\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain fixed-width table: numeric columns right-aligned, text columns left-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    numeric = [i > 0 and all(_NUMBER.match(r[i]) for r in cells[1:]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


_NUMBER = re.compile(r"^([-+]?(\d[\d.]*|nan|inf)\S{0,3}|-|PASS|MISS|[\d/]+)$")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- collector ------------------------------------------------------------------------------


class RunStore:
    """Runs received, merged by id (the post, then any patches)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, Any]] = {}
        self.posts = 0
        self.patches = 0

    def add(self, kind: str, run: dict[str, Any]) -> None:
        run_id = str(run.get("id"))
        with self._lock:
            merged = self._runs.setdefault(run_id, {"id": run_id})
            for key, value in run.items():
                if value is not None:
                    merged[key] = str(value) if key in ("id", "parent_run_id", "trace_id") else value
            if kind == "post":
                self.posts += 1
            else:
                self.patches += 1

    def runs(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._runs.items()}

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self.posts = self.patches = 0


_PART_NAME = re.compile(rb'name="([^"]+)"')


def _parse_multipart(body: bytes, content_type: str, store: RunStore) -> None:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return
    boundary = b"--" + match.group(1).encode()
    for part in body.split(boundary):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        name_match = _PART_NAME.search(head)
        if not name_match:
            continue
        name = name_match.group(1).decode()
        kind, _, rest = name.partition(".")
        if kind not in ("post", "patch") or not rest:
            continue
        run_id, _, field = rest.partition(".")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        try:
            value = json.loads(content)
        except ValueError:
            continue
        if field:  # inputs, outputs, events...: not needed for counting
            continue
        if isinstance(value, dict):
            value.setdefault("id", run_id)
            store.add(kind, value)


class _Handler(BaseHTTPRequestHandler):
    store: RunStore
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "zstd" and body:
            try:
                import zstandard

                body = zstandard.ZstdDecompressor().stream_reader(body).read()
            except Exception:
                body = b""
        return body

    def _reply(self, payload: bytes = b"{}") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._reply(b"{}")

    def do_POST(self) -> None:
        body = self._body()
        path = self.path.split("?")[0].rstrip("/")
        try:
            if path.endswith("/runs/multipart"):
                _parse_multipart(body, self.headers.get("Content-Type", ""), self.store)
            elif path.endswith("/runs/batch"):
                data = json.loads(body or b"{}")
                for kind in ("post", "patch"):
                    for run in data.get(kind) or []:
                        self.store.add(kind, run)
            elif path.endswith("/runs"):
                self.store.add("post", json.loads(body or b"{}"))
        except Exception:
            pass
        self._reply()

    def do_PATCH(self) -> None:
        body = self._body()
        path = self.path.split("?")[0].rstrip("/")
        try:
            if "/runs/" in path:
                run = json.loads(body or b"{}")
                run["id"] = path.rsplit("/", 1)[1]
                self.store.add("patch", run)
        except Exception:
            pass
        self._reply()

    do_PUT = do_DELETE = do_POST


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # see count_dropped_connections
        pass


class MiniCollector:
    """A LangSmith-shaped endpoint on 127.0.0.1 that says 200 to everything and counts runs."""

    def __init__(self) -> None:
        self.store = RunStore()
        handler = type("Handler", (_Handler,), {"store": self.store})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": self.url,
            "LANGSMITH_API_KEY": "lsautofix-bench",
            "LANGSMITH_PROJECT": "lsautofix-bench",
            # /info says nothing about zstd, so the SDK would warn and fall back anyway.
            "LANGSMITH_DISABLE_RUN_COMPRESSION": "true",
        }

    def __enter__(self) -> MiniCollector:
        self._thread = threading.Thread(target=self._server.serve_forever, name="mini-collector", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


COLLECTOR_VAR = "LSAUTOFIX_BENCH_COLLECTOR"


def collector(kind: str | None = None) -> Any:
    """The endpoint the measured programs send runs to.

    ``kind`` (default: ``$LSAUTOFIX_BENCH_COLLECTOR``, else ``auto``): ``auto`` is lsautofix's own
    collector if it exists (zstd enabled, as on the real service), else :class:`MiniCollector`;
    ``mini`` is always :class:`MiniCollector` (uncompressed multipart).
    """
    kind = kind or os.environ.get(COLLECTOR_VAR) or "auto"
    if kind == "mini":
        return MiniCollector()
    ensure_src_on_path()
    try:
        from lsautofix_collector import Collector

        return Collector()
    except ImportError:
        return MiniCollector()


def add_collector_option(parser: Any) -> None:
    parser.add_argument(
        "--collector", choices=("auto", "mini"), default=None,
        help=f"auto: lsautofix_collector if it exists (zstd on), else the stand-in in _common.py; mini: the "
             f"stand-in (uncompressed multipart). Default: ${COLLECTOR_VAR} or auto",
    )


def count_dropped_connections(c: Any) -> list[int]:
    """Count, instead of printing tracebacks, requests whose client hung up mid-request.

    (A process killed while sending: with ``Pool.terminate()`` that is a run lost in flight.)
    Uses the server object both collectors keep in ``_server``; a no-op if there is none.
    """
    counter = [0]
    server = getattr(c, "_server", None)
    if server is not None:
        def handle_error(request: Any, client_address: Any) -> None:
            counter[0] += 1

        server.handle_error = handle_error
    return counter


def collector_name(c: Any) -> str:
    return "lsautofix_collector.Collector" if type(c).__name__ == "Collector" else "benchmarks/_common.MiniCollector"
