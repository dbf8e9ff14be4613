"""Running the program: once per mode, in its own process group, against a collector of its own.

Everything here is fact-gathering: exit status, time, output, the run ledger every process of the
program writes (:mod:`lsautofix._ledger`) and the collector's store. Judging is :mod:`.analyse`'s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from lsautofix import _ledger
from lsautofix_collector import Collector, RunStore

#: Lines of each output stream kept per run (the report shows fewer unless asked).
KEPT_LINES = 200
#: Removed from the program's environment (within LANGSMITH_* and LANGCHAIN_* names) before the
#: collector's variables are added: nothing the user set can send runs anywhere else.
_ROUTING_WORDS = ("ENDPOINT", "API_KEY", "API_URL", "PROJECT", "TRACING", "OTEL", "WORKSPACE", "TENANT", "SAMPLING",
                  "AGENT", "SERVICE_KEY")  # fmt: skip


@dataclass
class Execution:
    """One run of the program: how it ended, what it printed, what it created and what arrived."""

    key: str
    autofix: str
    pid: int
    exit_status: int
    timed_out: bool
    timeout: float
    seconds: float
    leftover_processes_killed: bool
    stdout: list[str]
    stderr: list[str]
    stdout_lines: int
    stderr_lines: int
    ledger: list[dict[str, Any]]
    store: RunStore
    #: ``UnconsumedEvaluationWarning`` lines on stderr: lsautofix's word that an evaluation was lost.
    evaluation_warnings: int = 0


def child_env(
    collector: Collector, project: str, autofix: str, ledger: str, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The user's environment routed to ``collector``, with lsautofix on or off and the ledger set."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not (k.startswith(("LANGSMITH_", "LANGCHAIN_")) and any(w in k for w in _ROUTING_WORDS))
    }
    env.update(collector.env(project=project))
    env.update({"LANGSMITH_AUTOFIX": autofix, "LSAUTOFIX_LEDGER": ledger})
    return env


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """Send ``sig`` to the program's process group; False when nobody is left in it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig:
            proc.kill()
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
    proc.wait()


def _group_alive(pgid: int) -> bool:
    """Whether a live process is left in group ``pgid`` (zombies, which an init that does not reap
    leaves around, do not count; read from /proc where there is one)."""
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        try:
            os.killpg(pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _reap_leftovers(proc: subprocess.Popen[bytes], wait: float = 1.0) -> bool:
    """Kill what the program left running in its group (it could still be sending runs)."""
    if os.name != "posix":
        return False
    deadline = time.monotonic() + wait
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            _signal_group(proc, signal.SIGKILL)
            return True
        time.sleep(0.05)
    return False


def _settle(collector: Collector, limit: float = 2.0) -> None:
    """Wait until the collector has answered its last request (stable for 0.2 s, at most ``limit``)."""
    deadline, seen, stable = time.monotonic() + limit, -1, 0
    while time.monotonic() < deadline and stable < 2:
        count = len(collector.store.requests())
        stable, seen = (stable + 1, seen) if count == seen else (0, count)
        time.sleep(0.1)


def _tail(path: str, needle: str = "") -> tuple[list[str], int, int]:
    """The last :data:`KEPT_LINES` lines of a file, how many lines it had, and how many hold ``needle``."""
    count, found = 0, 0
    kept: deque[str] = deque(maxlen=KEPT_LINES)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            count += 1
            found += bool(needle) and needle in line
            kept.append(line.rstrip("\n"))
    return list(kept), count, found


def run_once(command: list[str], key: str, autofix: str, timeout: float, workdir: str) -> Execution:
    """Run the program once against a fresh collector; stop its whole process group on timeout."""
    ledger = os.path.join(workdir, key)
    os.mkdir(ledger)
    out_path, err_path = os.path.join(workdir, f"{key}.out"), os.path.join(workdir, f"{key}.err")
    with Collector() as collector:
        env = child_env(collector, f"lsautofix-doctor-{key}", autofix, ledger)
        started = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=os.name == "posix",
            )  # fmt: skip
            timed_out = False
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _stop(proc)
            except BaseException:  # Ctrl-C: take the program down with us
                _stop(proc, grace=1.0)
                raise
        elapsed = time.monotonic() - started
        leftovers = _reap_leftovers(proc)
        _settle(collector)
    stdout, stdout_lines, _ = _tail(out_path)
    stderr, stderr_lines, warned = _tail(err_path, "UnconsumedEvaluationWarning")
    return Execution(
        key=key,
        autofix=autofix,
        pid=proc.pid,
        exit_status=proc.returncode,
        timed_out=timed_out,
        timeout=timeout,
        seconds=round(elapsed, 3),
        leftover_processes_killed=leftovers,
        stdout=stdout,
        stderr=stderr,
        stdout_lines=stdout_lines,
        stderr_lines=stderr_lines,
        ledger=_ledger.read(ledger, ends=True),
        store=collector.store,
        evaluation_warnings=warned,
    )
