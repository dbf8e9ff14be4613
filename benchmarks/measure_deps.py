"""Why lsautofix does not use two dependencies the product brief names: measurements for the README.

    python benchmarks/measure_deps.py

(a) ``importlib_metadata`` (the PyPI backport) against the standard library's
    ``importlib.metadata``: the import time of each (``-X importtime``, cumulative, median of 10
    fresh interpreters), and whether the stdlib module already does what lsautofix needs on
    Python >= 3.10 (``version("langsmith")``, ``entry_points(group=...)``,
    ``packages_distributions()``). Goal: show the backport adds a dependency and import time for
    nothing.

(b) ``wrapt_timeout_decorator`` as a bound on a blocking ``client.flush()``. The flush is simulated
    the way the SDK's blocks: ``flush()`` waits on a queue (``queue.join()``) whose upload thread is
    stuck in ``recv`` on a server that accepts and never answers. Cases:
      (i)   main thread, default (signal) mode
      (ii)  a non-main thread (the decorator silently switches to its subprocess mode there)
      (iii) ``use_signals=False`` (runs the function in a ``multiprocess`` child)
    plus: does a function that mutates in-process state have any effect in the caller in subprocess
    mode, what a call costs in that mode, and, for reference, lsautofix's own approach (flush on a
    daemon thread, ``join(timeout)``). Goal: show which cases give a bounded flush that actually
    drains this process's queue.

Runs in ~10 s. Packages that are not installed are reported as such, not measured.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, table

BOUND = 0.5  # seconds: the timeout given to every bounded call


# --- (a) importlib_metadata ------------------------------------------------------------------


def import_time_us(module: str, runs: int = 10) -> float | None:
    """Median cumulative ``-X importtime`` of ``module`` in fresh interpreters (microseconds)."""
    values = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return None
        for line in out.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                values.append(int(parts[1]))
    return median(values) if values else None


def wall_ms(code: str, runs: int = 10) -> float:
    values = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        values.append((time.perf_counter() - start) * 1e3)
    return median(values)


def stdlib_capabilities() -> list[tuple[str, str]]:
    import importlib.metadata as md

    rows = []
    try:
        rows.append(('version("langsmith")', md.version("langsmith")))
    except md.PackageNotFoundError:
        rows.append(('version("langsmith")', "works (langsmith not installed here)"))
    try:
        eps = md.entry_points(group="console_scripts")
        rows.append(('entry_points(group="console_scripts")', f"works ({len(list(eps))} entry points)"))
    except TypeError as exc:
        rows.append(('entry_points(group="console_scripts")', f"missing: {exc}"))
    rows.append(("packages_distributions()", "works" if hasattr(md, "packages_distributions") else "missing"))
    return rows


def part_a() -> None:
    print("(a) importlib_metadata (PyPI backport) vs stdlib importlib.metadata")
    have_backport = importlib.util.find_spec("importlib_metadata") is not None
    base = wall_ms("pass")
    rows = []
    for module, present in (("importlib.metadata", True), ("importlib_metadata", have_backport)):
        if not present:
            rows.append([module, "not installed", "-", "-"])
            continue
        cumulative = import_time_us(module)
        wall = wall_ms(f"import {module}")
        rows.append([module, f"{cumulative / 1e3:.1f}" if cumulative else "?", f"{wall:.1f}", f"{wall - base:+.1f}"])
    print(table(["module", "import ms (-X importtime)", "python -c 'import' ms", "vs -c pass ms"], rows))
    if have_backport:
        import importlib_metadata

        version = importlib_metadata.version("importlib_metadata")
        print(f"backport installed: importlib_metadata {version}")
    else:
        print("backport not installed here (pip install importlib-metadata to measure it)")
    print(f"stdlib importlib.metadata on Python {sys.version.split()[0]}:")
    print(table(["call", "result"], [list(r) for r in stdlib_capabilities()]))
    print("finding: every call lsautofix needs is in the stdlib module on every supported Python (>= 3.10), and "
          "lsautofix imports it only in the CLI, never on the startup path; the backport would add a dependency "
          "without removing any import cost from a path that matters")


# --- (b) wrapt_timeout_decorator -------------------------------------------------------------


class BlackHole:
    """A server that accepts connections (through the kernel backlog) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = self.sock.getsockname()

    def blocked_send(self) -> bytes:
        """Send a request and wait for an answer that never comes (like a hanging endpoint)."""
        conn = socket.create_connection(self.address)
        conn.sendall(b"POST /runs/multipart HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        try:
            return conn.recv(1)
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


class FakeClient:
    """The SDK's shape: runs are put on a queue; an upload thread sends them; flush() joins the queue."""

    def __init__(self, send: Callable[[], Any], runs: int = 3) -> None:
        self.queue: queue.Queue[int] = queue.Queue()
        self.sent: list[int] = []
        self._send = send
        for i in range(runs):
            self.queue.put(i)
        threading.Thread(target=self._upload, daemon=True).start()

    def _upload(self) -> None:
        while True:
            item = self.queue.get()
            try:
                self._send()
                self.sent.append(item)
            except OSError:
                pass
            finally:
                self.queue.task_done()

    def flush(self) -> None:
        self.queue.join()

    @property
    def pending(self) -> int:
        return self.queue.unfinished_tasks


def attempt(call: Callable[[], Any]) -> tuple[str, float]:
    """Run ``call``; return what happened and how long it took."""
    start = time.perf_counter()
    try:
        call()
        outcome = "returned"
    except BaseException as exc:  # TimeoutError, ProcessError...
        outcome = type(exc).__name__
    return outcome, time.perf_counter() - start


def in_thread(call: Callable[[], Any], limit: float = 5.0) -> tuple[str, float]:
    """``attempt(call)`` from a non-main thread; "still blocked" if it has not finished by ``limit``."""
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(result=attempt(call)), daemon=True)
    worker.start()
    worker.join(limit)
    return box.get("result", (f"still blocked after {limit:.0f} s", limit))


def thread_bounded(fn: Callable[[], Any], timeout: float) -> None:
    """lsautofix's approach: run ``fn`` on a daemon thread, wait at most ``timeout``."""
    worker = threading.Thread(target=fn, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"gave up after {timeout}s")


STATE: list[int] = []


def mutate_state() -> int:
    STATE.append(1)
    return len(STATE)


def trivial() -> int:
    return 1


def part_b() -> None:
    print("(b) wrapt_timeout_decorator as a bound on a blocking client.flush()")
    if importlib.util.find_spec("wrapt_timeout_decorator") is None:
        print("wrapt_timeout_decorator is not installed here (pip install wrapt-timeout-decorator to measure it)")
        return
    cumulative = import_time_us("wrapt_timeout_decorator", runs=5)
    import multiprocess
    from wrapt_timeout_decorator import timeout

    print(f"import wrapt_timeout_decorator: {(cumulative or 0) / 1e3:.0f} ms cumulative (imports wrapt, dill, multiprocess); "
          f"multiprocess start method: {multiprocess.get_start_method()}")
    hole = BlackHole()
    rows: list[list[Any]] = []

    def row(case: str, outcome: tuple[str, float], client: FakeClient | None, note: str) -> None:
        what, seconds = outcome
        pending = "-" if client is None else f"{client.pending}/3, sent {len(client.sent)}"
        rows.append([case, what, f"{seconds:.2f}", pending, note])

    # (i) main thread, signals: bounded, in process.
    client = FakeClient(hole.blocked_send)
    row("(i) main thread, signals", attempt(lambda: timeout(BOUND)(client.flush)()), client,
        "bounded in-process; takes over SIGALRM/setitimer")
    busy = FakeClient(lambda: time.sleep(0.05))
    row("(i) main thread, signals, healthy endpoint", attempt(lambda: timeout(BOUND)(busy.flush)()), busy,
        "drains this process's queue")
    row("(i) main thread, signals, recv itself", attempt(lambda: timeout(BOUND)(hole.blocked_send)()), None,
        "bounded: EINTR, handler raises")

    # (ii) non-main thread: falls back to the subprocess mode.
    client = FakeClient(hole.blocked_send)
    row("(ii) non-main thread", in_thread(lambda: timeout(BOUND)(client.flush)()), client,
        "silently runs in a forked copy: no upload thread there, times out")

    # (iii) use_signals=False: the flush runs in a copy of the process.
    client = FakeClient(hole.blocked_send)
    row("(iii) use_signals=False, hanging endpoint", attempt(lambda: timeout(BOUND, use_signals=False)(client.flush)()),
        client, "bounded, but in a copy")
    busy = FakeClient(lambda: time.sleep(0.2))  # healthy but slow endpoint: 3 sends of 0.2 s
    row("(iii) use_signals=False, healthy endpoint", attempt(lambda: timeout(2 * BOUND + 0.5, use_signals=False)(busy.flush)()),
        busy, "times out although the endpoint answers: the copy has no upload thread")
    busy.flush()

    # reference: lsautofix's approach.
    client = FakeClient(hole.blocked_send)
    row("ref: daemon thread + join(timeout), main", attempt(lambda: thread_bounded(client.flush, BOUND)), client,
        "bounded in-process, any thread, no signals")
    client = FakeClient(hole.blocked_send)
    row("ref: daemon thread + join(timeout), non-main", in_thread(lambda: thread_bounded(client.flush, BOUND)), client,
        "same from a worker thread")
    quick = FakeClient(lambda: None)
    row("ref: daemon thread + join(timeout), healthy", attempt(lambda: thread_bounded(quick.flush, BOUND)), quick,
        "drains this process's queue")

    print(table(["case", "outcome", "seconds", "caller's queue pending", "note"], rows))

    # State mutation and cost in subprocess mode.
    STATE.clear()
    returned = timeout(5, use_signals=False)(mutate_state)()
    direct_us = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(1000):
            timeout(5)(trivial)()
        direct_us.append((time.perf_counter() - start) / 1000 * 1e6)
    sub_ms = []
    for _ in range(8):
        start = time.perf_counter()
        timeout(5, use_signals=False)(trivial)()
        sub_ms.append((time.perf_counter() - start) * 1e3)
    print()
    print(table(["check", "result"], [
        ["use_signals=False: function appends to a module list", f"returned len {returned}; caller's list len {len(STATE)}"],
        ["per call, signal mode (main thread)", f"{median(direct_us):.0f} us"],
        ["per call, use_signals=False", f"{median(sub_ms):.1f} ms (median of 8)"],
    ]))
    hole.close()
    print("finding: only the signal mode bounds a flush of this process's queue, and only in the main thread "
          "(it also takes SIGALRM from the program); elsewhere the flush runs in a forked copy whose queue has "
          "no upload thread, so nothing is ever sent. A daemon thread + join(timeout) bounds it in-process from "
          "any thread, which is what lsautofix.flushing does.")


def main() -> int:
    started = time.perf_counter()
    print(f"Python {sys.version.split()[0]}")
    print()
    part_a()
    print()
    part_b()
    print(f"({time.perf_counter() - started:.1f} s)")
    sys.stdout.flush()
    os._exit(0)  # threads stuck in recv on the black hole are daemons; skip waiting on anything


if __name__ == "__main__":
    main()
