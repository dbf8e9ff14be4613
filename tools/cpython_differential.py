#!/usr/bin/env python3
"""Run CPython's own regression tests plain and with lsautofix, inside an open traced run; compare.

lsautofix promises that a program that works without it works identically with it. This script
checks that promise against the interpreter's own test suites for threads, executors, contexts,
asyncio and multiprocessing. For each test module it starts a fresh interpreter twice, once plain
(``LANGSMITH_AUTOFIX=0``) and once installed (``LANGSMITH_AUTOFIX=1``), both with tracing on against
an embedded LangSmith-compatible collector and with the whole module running inside
``with langsmith.trace("cpython-suite")`` (see ``cpython_differential_child.py``). Then it prints
the tests that fail or hang only with lsautofix, those that fail in both modes, and the time of
each mode. A test that fails only with lsautofix is rerun (alone, then with its module) before it
is called a difference.

Exit status: 0 when no test fails only with lsautofix, 1 when one does (reproduced on rerun;
``--strict`` also counts one that failed once and not on rerun), 2 for usage errors, 3 when the
comparison itself is not sound (lsautofix not installed in the installed mode, or installed in
the plain one).

Examples::

    python tools/cpython_differential.py --python /work/venvs/cpydiff-3.13/bin/python --subset fast
    python tools/cpython_differential.py --python .venv/bin/python --subset full --json out.json
    python tools/cpython_differential.py --tests test_threading:ThreadJoinOnShutdown test_context
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHILD = HERE / "cpython_differential_child.py"

#: Outcomes that count as a failing test.
FAILING = frozenset({"fail", "error", "xpass", "hang", "crash"})

MODES = ("plain", "installed")

#: regrtest's resources (3.10 to 3.13). The default leaves out what needs the network, a display,
#: sound, a terminal or huge files, and test_decimal's hour of arithmetic ('decimal'), which
#: exercises no concurrency.
ALL_RESOURCES = (
    "audio",
    "curses",
    "largefile",
    "network",
    "decimal",
    "cpu",
    "subprocess",
    "urlfetch",
    "gui",
    "walltime",
)
DEFAULT_USE = "all,-network,-urlfetch,-gui,-audio,-curses,-largefile,-decimal"

# A spec is MODULE or MODULE:PATTERN[,PATTERN...]; patterns match test ids as in the child's
# ``matches`` (fnmatch on the whole id or from any dotted part on); ``!PATTERN`` leaves tests out.
_MP_CLASSES = "*TestPool,*TestPoolWorkerErrors,*TestPoolWorkerLifetime,*TestProcess,*TestSubclassingProcess,*TestQueue"

SUBSETS: dict[str, list[str]] = {
    # Picked by measuring (docs/cpython-differential.md): threads (with the fork-after-threads
    # tests), executors (thread pools; the process pool under fork, with the deadlock tests that
    # once hung only with lsautofix), contexts across threads and tasks, asyncio's tasks, and fork,
    # spawn and forkserver multiprocessing.
    "fast": [
        "test_threading:ThreadTests,ThreadJoinOnShutdown,ThreadingExceptionTests,TimerTests,MiscTestCase",
        "test_concurrent_futures:ThreadPool*,ProcessPoolForkExecutorDeadlockTest*,ProcessPoolForkProcessPoolExecutorTest*,FutureTests",
        "test_context",
        "test_decimal:*ThreadingTest,*ContextWithStatement",
        # test_task_del_collect takes 7 s a class (gc.collect() over the SDK's heap): one class of four.
        "test_asyncio.test_tasks:*CTask*,!*PyFuture*.test_task_del_collect,!*SubclassTests.test_task_del_collect",
        (
            "test_multiprocessing_fork:WithProcessesTestPool.test_map,WithProcessesTestPool.test_apply,"
            "WithProcessesTestProcess.test_process,WithProcessesTestQueue.test_put"
        ),
        "test_multiprocessing_spawn:WithProcessesTestPool.test_map,WithProcessesTestProcess.test_process",
        "test_multiprocessing_forkserver:WithProcessesTestPool.test_map,WithProcessesTestProcess.test_process",
    ],
    # What the issues list, all of it where it runs in reasonable time here.
    "full": [
        "test_threading",
        "test_threading_local",
        "test_concurrent_futures",
        "test_context",
        "test_contextlib",
        "test_contextlib_async",
        "test_decimal",
        "test_asyncio",
        "test_multiprocessing_fork",
        "test_multiprocessing_spawn:" + _MP_CLASSES + ",*Manager*",
        "test_multiprocessing_forkserver:" + _MP_CLASSES + ",*Manager*",
    ],
}


@dataclass(frozen=True)
class KnownRace:
    """A race in CPython itself that hangs a test in plain Python too, on the versions it names."""

    module: str
    pattern: str
    issue: str
    affected: Callable[[tuple[int, ...]], bool]


#: Left out of every run on the versions they affect (``--keep-known-races`` runs them): a hang
#: there says nothing about lsautofix, and a rerun may confirm it by chance in the installed mode.
KNOWN_RACES = (
    # The executor's manager thread joins the queue feeder while holding the shutdown lock, which
    # the feeder, handling the pickling error, waits for. In a loop of that test's steps inside an
    # open trace on 3.13.0, the modes alternating, it hung 14 of 80 plain processes and 14 of 80
    # with lsautofix (docs/cpython-differential.md); 3.10's code has no such lock (0 of 30 each).
    KnownRace(
        "test.test_concurrent_futures",
        "*test_shutdown_deadlock_pickle",
        "gh-125451, fixed in 3.12.8 and 3.13.1",
        lambda v: (3, 12) <= v < (3, 12, 8) or (3, 13) <= v < (3, 13, 1),
    ),
)


def known_races(module: str, version: tuple[int, ...]) -> list[KnownRace]:
    return [r for r in KNOWN_RACES if (module == r.module or module.startswith(r.module + ".")) and r.affected(version)]


def resolve_resources(spec: str) -> list[str]:
    """regrtest's ``-u`` syntax: ``all``, ``none``, names, ``-name`` to remove."""
    chosen: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == "all":
            chosen = list(ALL_RESOURCES)
        elif part == "none":
            chosen = []
        elif part.startswith("-"):
            chosen = [r for r in chosen if r != part[1:]]
        elif part not in chosen:
            chosen.append(part)
    return chosen


def parse_spec(spec: str) -> tuple[str, list[str]]:
    """``test_threading:ThreadTests,Timer*`` -> (``test.test_threading``, [``ThreadTests``, ``Timer*``])."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name.startswith("test_"):  # CPython's; any other name is imported as given (--sys-path)
        name = "test." + name
    return name, [p.strip() for p in rest.split(",") if p.strip()]


def short(module: str) -> str:
    return module.removeprefix("test.")


# --- one run of one module in one mode ---------------------------------------------------------


@dataclass
class Result:
    """How one test ended in one run."""

    outcome: str
    detail: str = ""
    seconds: float = 0.0
    env_changed: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class ModeRun:
    """One module in one mode: every test's outcome, and what the process did around them."""

    mode: str
    seconds: float = 0.0
    exit_seconds: float | None = None
    attempts: int = 0
    results: dict[str, Result] = field(default_factory=dict)
    installed: bool | None = None
    langsmith: str | None = None
    suite_runs_sent: int = 0
    suite_runs_received: int = 0
    logs: list[str] = field(default_factory=list)
    hangs: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results.values():
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out


class Runner:
    """Starts the child interpreters, each pointed at the collector, and reads their events."""

    def __init__(self, args: argparse.Namespace, collector: Any, out_dir: Path) -> None:
        self.python: str = args.python
        self.collector = collector
        self.out_dir = out_dir
        self.test_timeout: float = args.test_timeout
        self.exit_timeout: float = args.exit_timeout
        self.module_timeout: float = args.module_timeout
        self.max_restarts: int = args.max_restarts
        self.use = resolve_resources(args.use)
        self.sys_path = [str(Path(p).resolve()) for p in args.sys_path]
        self.verbose: bool = args.verbose
        self._counter = itertools.count(1)  # modes run in two threads: next() hands out unique tags

    def environ(self, mode: str, project: str) -> dict[str, str]:
        """The child's environment: ours without any LangSmith, LangChain or lsautofix setting,
        then the collector's (tracing on, sent nowhere else) and the mode's switch."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX_"))}
        env.update(self.collector.env(project=project))
        env["LANGSMITH_AUTOFIX"] = "1" if mode == "installed" else "0"
        return env

    def run(
        self,
        module: str,
        mode: str,
        patterns: list[str],
        only: list[str] | None = None,
        label: str = "",
        skip: Iterable[str] = (),
    ) -> ModeRun:
        """Run ``module`` (its tests matching ``patterns``, or only the ids in ``only``) in ``mode``.

        A hang or a crash ends the child; it is then started again without the tests already
        ended and the one that hung, so one hang does not hide the rest of the module. ``skip``:
        test ids not to run at all.
        """
        result = ModeRun(mode=mode)
        skip = set(skip)
        started_at = time.monotonic()
        while True:
            result.attempts += 1
            progressed = self._attempt(module, mode, patterns, only, sorted(skip), result, label)
            if progressed is None:  # the child got to the end of the module
                break
            skip |= set(result.results)
            if not progressed or result.attempts > self.max_restarts:
                break
        result.seconds = round(time.monotonic() - started_at, 2)
        return result

    def _attempt(
        self,
        module: str,
        mode: str,
        patterns: list[str],
        only: list[str] | None,
        skip: list[str],
        into: ModeRun,
        label: str,
    ) -> bool | None:
        """One child process. None: it reached the end; else whether a restart would get further."""
        tag = f"{next(self._counter):03d}-{short(module)}-{mode}{'-' + label if label else ''}"
        project = f"cpydiff-{tag}"
        events, hang, log, config_path = (self.out_dir / f"{tag}{s}" for s in (".events", ".hang", ".log", ".json"))
        config = {
            "module": module,
            "patterns": patterns,
            "only": only or [],
            "skip": skip,
            "events": str(events),
            "hang": str(hang),
            "test_timeout": self.test_timeout,
            "exit_timeout": self.exit_timeout,
            "use_resources": self.use,
            "sys_path": self.sys_path,
            "trace": True,
        }
        config_path.write_text(json.dumps(config, indent=1))
        into.logs.append(str(log))
        workdir = Path(tempfile.mkdtemp(prefix=f"cpydiff-{short(module)}-"))  # tests write TESTFN here
        began = time.monotonic()
        done_at: float | None = None
        killed = False
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [self.python, str(CHILD), str(config_path)],
                cwd=workdir,
                env=self.environ(mode, project),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: whatever the tests leave behind goes with it
            )
            try:
                while proc.poll() is None:
                    time.sleep(0.2)
                    now = time.monotonic()
                    if done_at is None and _has_done(events):
                        done_at = now
                    # faulthandler ends a hang itself; these are backstops for when it cannot.
                    if (
                        done_at is not None
                        and now - done_at > self.exit_timeout + 30
                        or now - began > self.module_timeout
                    ):
                        killed = True
                    if killed:
                        _kill_group(proc.pid)
                        proc.wait()
                if done_at is None and _has_done(events):
                    done_at = time.monotonic()
            finally:
                if proc.poll() is None:
                    _kill_group(proc.pid)
                    proc.wait()
                _kill_group(proc.pid)  # leftovers in its group (managers, forkservers, stray children)
        ended = time.monotonic()
        shutil.rmtree(workdir, ignore_errors=True)
        rc = proc.returncode
        parsed = _read_events(events)
        if parsed["begin"]:
            into.installed = parsed["begin"].get("installed")
            into.langsmith = parsed["begin"].get("langsmith")
        if parsed["done"]:  # a child ended by a hang never closes its run, in either mode
            into.suite_runs_sent += 1
            into.suite_runs_received += self._suite_runs(project)
        for test_id, res in parsed["ended"].items():
            into.results.setdefault(test_id, res)
        stacks = hang.read_text(errors="replace") if hang.exists() else ""
        if self.verbose:
            print(f"    [{tag}] rc={rc} {len(parsed['ended'])} ended in {ended - began:.1f}s", flush=True)
        if parsed["done"]:
            exit_id = f"{module}.<exit>"
            into.exit_seconds = round(ended - (done_at or ended), 2)
            if rc == 0:
                into.results.setdefault(exit_id, Result("ok", seconds=into.exit_seconds))
            else:
                what = "hang" if stacks or killed else "crash"
                detail = stacks or f"exit status {rc} after the last test (log: {log})"
                into.results.setdefault(exit_id, Result(what, detail=detail[-12000:], seconds=into.exit_seconds))
                into.hangs.append({"id": exit_id, "log": str(log)})
            return None
        # The child died or was ended before the end of the module: name the culprit.
        culprit = parsed["running"] or (
            f"{module}.<fixtures after {parsed['last_ended']}>" if parsed["last_ended"] else f"{module}.<load>"
        )
        what = "hang" if stacks or killed else "crash"
        detail = stacks or _tail(log, 4000) or f"exit status {rc}"
        into.results[culprit] = Result(
            what, detail=f"exit status {rc}\n{detail}"[-12000:], seconds=round(ended - began, 2)
        )
        into.hangs.append({"id": culprit, "log": str(log)})
        # Worth another process if it ended a test, or if the culprit is a test it can leave out.
        return bool(parsed["ended"]) or parsed["running"] is not None

    def _suite_runs(self, project: str) -> int:
        """How many 'cpython-suite' runs (the open parent run) reached the collector, ended."""
        try:
            runs = self.collector.store.runs_in_project(project)
        except AttributeError:  # a collector without this query: the check reads as "none received"
            return 0
        return sum(1 for r in runs if r.get("name") == "cpython-suite" and r.get("end_time"))


def _has_done(events: Path) -> bool:
    try:
        with open(events, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 512))
            return b'"event": "done"' in f.read()
    except OSError:
        return False


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, n: int) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def _read_events(path: Path) -> dict[str, Any]:
    ended: dict[str, Result] = {}
    running: str | None = None
    last_ended: str | None = None
    begin: dict[str, Any] = {}
    done = False
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short by a kill
            continue
        kind = event.get("event")
        if kind == "begin":
            begin = event
        elif kind == "start":
            running = event["id"]
        elif kind == "end":
            test_id = event["id"]
            ended[test_id] = Result(
                outcome=event.get("outcome", "error"),
                detail=event.get("detail", ""),
                seconds=event.get("seconds", 0.0),
                env_changed=bool(event.get("env_changed")),
                warnings=list(event.get("warnings") or []),
            )
            if running == test_id:
                running = None
            last_ended = test_id
        elif kind == "done":
            done = True
    return {"ended": ended, "running": running, "last_ended": last_ended, "begin": begin, "done": done}


# --- comparing the modes, and rerunning the differences -----------------------------------------


def failing(result: Result | None) -> bool:
    return result is not None and result.outcome in FAILING


@dataclass
class Difference:
    """A test that failed in one mode only, and what its reruns showed."""

    id: str
    plain: str
    installed: str
    detail: str
    verdict: str = "not rerun"
    reruns: list[dict[str, Any]] = field(default_factory=list)


def _test_module(test_id: str, module: str) -> str:
    """The module a test id belongs to (a package's submodule, for packages)."""
    if test_id.startswith(("setUpClass (", "tearDownClass (", "setUpModule (", "tearDownModule (")):
        inner = test_id[test_id.index("(") + 1 : test_id.rindex(")")]
        return inner if test_id.startswith(("setUpModule", "tearDownModule")) else inner.rsplit(".", 1)[0]
    if "<" in test_id:
        return module
    parts = test_id.split(".")
    return ".".join(parts[:-2]) if len(parts) > 3 else module


def _is_real_test(test_id: str) -> bool:
    return "<" not in test_id and " (" not in test_id


def confirm(
    runner: Runner, module: str, patterns: list[str], diff: Difference, reruns: int, avoid: Iterable[str] = ()
) -> None:
    """Rerun a test that failed only with lsautofix: alone first, then with the rest of its module.

    It is *confirmed* when, in one of these scopes, every installed run fails and every plain run
    passes (the first run counts in the module scope). Installed runs go first, and a scope stops at
    the first installed pass: it can no longer confirm. ``avoid``: tests already confirmed to hang,
    left out of the module reruns (in both modes) so that each rerun does not wait out that hang again.
    """
    avoid = sorted(set(avoid) - {diff.id})
    failed_plain = False
    scopes: list[tuple[str, str, list[str], list[str] | None]] = []
    if _is_real_test(diff.id) and reruns > 0:
        scopes.append(("alone", module, [], [diff.id]))
    scopes.append(("module", _test_module(diff.id, module), patterns, None))
    for scope, target, pats, only in scopes:
        count = reruns if scope == "alone" else 1
        confirmed = True
        for mode in ("installed", "plain"):
            for _ in range(count):
                left_out = avoid if scope == "module" else []
                run = runner.run(target, mode, pats, only=only, label=f"rerun-{scope}", skip=left_out)
                res = run.results.get(diff.id)
                outcome = res.outcome if res is not None else "not run"
                diff.reruns.append(
                    {
                        "scope": scope,
                        "module": target,
                        "mode": mode,
                        "outcome": outcome,
                        "seconds": run.seconds,
                        "logs": run.logs,
                        "left_out": left_out,
                    }
                )
                if mode == "installed" and not failing(res):
                    confirmed = False
                    break
                if mode == "plain" and failing(res):
                    failed_plain = True
                    confirmed = False
            if not confirmed:
                break
        if confirmed:
            diff.verdict = f"confirmed ({scope})"
            return
    diff.verdict = (
        "flaky: failed in plain Python too on rerun" if failed_plain else "intermittent: not reproduced on rerun"
    )


@dataclass
class ModuleReport:
    spec: str
    module: str
    patterns: list[str]
    available: bool = True
    runs: dict[str, ModeRun] = field(default_factory=dict)
    lsautofix_only: list[Difference] = field(default_factory=list)
    plain_only: list[Difference] = field(default_factory=list)
    both: list[dict[str, str]] = field(default_factory=list)
    env_changed_only_installed: list[str] = field(default_factory=list)
    slower: list[dict[str, Any]] = field(default_factory=list)
    not_run_installed: list[str] = field(default_factory=list)

    @property
    def tests(self) -> int:
        ids = set()
        for run in self.runs.values():
            ids |= {i for i in run.results if not i.endswith(".<exit>")}
        return len(ids)


def compare(report: ModuleReport) -> None:
    plain, installed = report.runs["plain"], report.runs["installed"]
    for test_id in sorted(set(plain.results) | set(installed.results)):
        p, i = plain.results.get(test_id), installed.results.get(test_id)
        if failing(i) and failing(p):
            report.both.append({"id": test_id, "plain": p.outcome, "installed": i.outcome})  # type: ignore[union-attr]
        elif failing(i):
            report.lsautofix_only.append(
                Difference(test_id, p.outcome if p else "not run", i.outcome, i.detail)  # type: ignore[union-attr]
            )
        elif failing(p):
            report.plain_only.append(
                Difference(test_id, p.outcome, i.outcome if i else "not run", p.detail)  # type: ignore[union-attr]
            )
        elif i is not None and i.env_changed and p is not None and not p.env_changed:
            report.env_changed_only_installed.append(test_id)
        if p is not None and i is None:
            report.not_run_installed.append(test_id)
        elif p is not None and i is not None and not failing(i) and _much_slower(p.seconds, i.seconds):
            report.slower.append({"id": test_id, "plain": p.seconds, "installed": i.seconds})
    report.slower.sort(key=lambda row: row["plain"] - row["installed"])


#: A passing test this much slower with lsautofix is listed (time to start and stop is a promise too).
SLOWER_BY, SLOWER_TIMES = 2.0, 3.0


def _much_slower(plain: float, installed: float) -> bool:
    return installed - plain >= SLOWER_BY and installed >= SLOWER_TIMES * plain


# --- the probe, the report ---------------------------------------------------------------------

_PROBE = r"""
import importlib.util, json, os, sys, sysconfig
out = {"python": sys.version.split()[0], "executable": sys.executable, "modules": {}}
for name in json.loads(sys.argv[1]):
    try:
        out["modules"][name] = importlib.util.find_spec(name) is not None
    except Exception:
        out["modules"][name] = False
try:
    import importlib.metadata as md
    out["langsmith"] = md.version("langsmith")
    out["lsautofix"] = md.version("lsautofix")
except Exception as e:
    out["error"] = repr(e)
spec = importlib.util.find_spec("lsautofix")
out["lsautofix_path"] = os.path.dirname(spec.origin) if spec and spec.origin else None
out["pth"] = os.path.exists(os.path.join(sysconfig.get_paths()["purelib"], "lsautofix.pth"))
print(json.dumps(out))
"""


def probe(python: str, modules: list[str], sys_path: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX_"))}
    if sys_path:
        env["PYTHONPATH"] = os.pathsep.join([*sys_path, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [python, "-c", _PROBE, json.dumps(modules)], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    if proc.returncode != 0:
        raise SystemExit(f"cannot run {python}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def git_commit(path: str | None) -> str | None:
    if not path:
        return None
    try:
        proc = subprocess.run(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", path, "status", "--porcelain", "--", "."],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return proc.stdout.strip() + ("+dirty" if dirty else "") if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def first_line(detail: str) -> str:
    """One line that says what went wrong: a traceback's last line; for a hang, where the main thread waits.

    faulthandler lists threads newest first, so the main thread's block is the last one.
    """
    lines = [ln for ln in detail.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    timeout = next((ln for ln in lines if ln.startswith("Timeout (")), None)
    if timeout is not None:
        blocks = [i for i, ln in enumerate(lines) if ln.startswith(("Thread 0x", "Current thread 0x"))]
        where = lines[blocks[-1] + 1].strip() if blocks and blocks[-1] + 1 < len(lines) else ""
        return f"{timeout} main thread at: {where}"
    return lines[-1].strip()[:200]


def print_report(reports: list[ModuleReport], info: dict[str, Any], total_seconds: float) -> None:
    print()
    print(
        f"== CPython differential: Python {info['python']}, langsmith {info.get('langsmith')}, "
        f"lsautofix {info.get('lsautofix')} ({info.get('lsautofix_commit') or info.get('lsautofix_path')})"
    )
    header = (
        f"{'module':58} {'tests':>5} {'plain s':>8} {'lsautofix s':>11} {'ratio':>5} {'both':>4} {'only-lsautofix':>14}"
    )
    print(header)
    for r in reports:
        if not r.available:
            print(f"{r.spec[:58]:58} {'not in this Python':>30}")
            continue
        p, i = r.runs["plain"], r.runs["installed"]
        ratio = f"{i.seconds / p.seconds:.2f}" if p.seconds else "-"
        print(
            f"{r.spec[:58]:58} {r.tests:5d} {p.seconds:8.1f} {i.seconds:11.1f} {ratio:>5} {len(r.both):4d} "
            f"{len(r.lsautofix_only):14d}"
        )
    print(f"total wall time {total_seconds:.0f} s (reruns included)")

    def section(title: str, rows: Iterable[str]) -> None:
        rows = list(rows)
        if rows:
            print(f"\n{title}:")
            for row in rows:
                print(row)

    section(
        "Fail or hang only with lsautofix",
        (
            f"  {d.id}\n      plain: {d.plain}; lsautofix: {d.installed}; {d.verdict}\n      {first_line(d.detail)}"
            for r in reports
            for d in r.lsautofix_only
        ),
    )
    section(
        "Fail in both modes",
        (f"  {b['id']} (plain: {b['plain']}, lsautofix: {b['installed']})" for r in reports for b in r.both),
    )
    section(
        "Fail only in plain Python (not counted)",
        (
            f"  {d.id} (plain: {d.plain}, lsautofix: {d.installed}) {first_line(d.detail)}"
            for r in reports
            for d in r.plain_only
        ),
    )
    section(
        "Environment changed (thread exception, dangling thread or process) only with lsautofix (not counted)",
        (f"  {t}" for r in reports for t in r.env_changed_only_installed),
    )
    section(
        f"Passing, but at least {SLOWER_BY:g} s and {SLOWER_TIMES:g}x slower with lsautofix (not counted; one run each)",
        (f"  {row['id']}: {row['plain']:.1f} s -> {row['installed']:.1f} s" for r in reports for row in r.slower),
    )
    section(
        "Ran in plain Python, not with lsautofix (a hang or crash cut the run short)",
        (f"  {t}" for r in reports for t in r.not_run_installed[:20]),
    )
    sound = [
        f"  {r.spec}: {m} mode: lsautofix installed={run.installed}, suite runs received "
        f"{run.suite_runs_received} of {run.suite_runs_sent}"
        for r in reports
        if r.available
        for m, run in r.runs.items()
        if run.installed != (m == "installed") or run.suite_runs_received < run.suite_runs_sent
    ]
    section("Checks of the comparison itself", sound)


def to_json(reports: list[ModuleReport], info: dict[str, Any], args: argparse.Namespace, total: float) -> dict:
    def mode_json(run: ModeRun) -> dict[str, Any]:
        data = asdict(run)
        data["counts"] = run.counts()
        # Keep the outcomes of every test, the details of the failing ones only.
        data["results"] = {
            k: ({"outcome": v.outcome, "seconds": v.seconds} if not failing(v) else asdict(v))
            for k, v in run.results.items()
        }
        return data

    return {
        "info": info,
        "arguments": {k: v for k, v in vars(args).items() if k != "func"},
        "total_seconds": round(total, 1),
        "modules": [
            {
                "spec": r.spec,
                "module": r.module,
                "patterns": r.patterns,
                "available": r.available,
                "tests": r.tests,
                "modes": {m: mode_json(run) for m, run in r.runs.items()},
                "lsautofix_only": [asdict(d) for d in r.lsautofix_only],
                "both": r.both,
                "plain_only": [asdict(d) for d in r.plain_only],
                "env_changed_only_installed": r.env_changed_only_installed,
                "slower": r.slower,
                "not_run_installed": r.not_run_installed,
            }
            for r in reports
        ],
    }


def start_collector() -> Any:
    try:  # the collector is moving to a top-level package; both names work
        from lsautofix_collector import Collector
    except ImportError:
        from lsautofix.collector import Collector
    return Collector().start()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Subsets: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in SUBSETS.items()),
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter to test: a venv python with lsautofix installed (default: this one)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--tests",
        nargs="+",
        metavar="SPEC",
        help="test modules, as MODULE or MODULE:PATTERN[,PATTERN...] (fnmatch on test ids, "
        "e.g. test_threading:ThreadJoinOnShutdown; !PATTERN leaves the tests it matches out)",
    )
    which.add_argument("--subset", choices=sorted(SUBSETS), help="a predefined list of modules")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON ('-' for stdout)")
    parser.add_argument(
        "--out-dir",
        metavar="DIR",
        help="keep the children's logs, events and hang stacks here (default: a new temporary directory, kept)",
    )
    parser.add_argument("--use", default=DEFAULT_USE, help=f"regrtest resources, -u syntax (default: {DEFAULT_USE})")
    parser.add_argument(
        "--test-timeout",
        type=float,
        default=240.0,
        help="seconds one test (or the fixtures between two) may take before it counts as a hang "
        "(default 240); the tests' own SHORT/LONG_TIMEOUT are lowered to 80%% of it",
    )
    parser.add_argument(
        "--exit-timeout",
        type=float,
        default=60.0,
        help="seconds the child may take to exit after its last test (default 60)",
    )
    parser.add_argument(
        "--module-timeout", type=float, default=3 * 3600.0, help="backstop for one child process (default 3 h)"
    )
    parser.add_argument(
        "--reruns",
        type=int,
        default=2,
        help="times a test failing only with lsautofix is rerun alone in each mode (default 2)",
    )
    parser.add_argument(
        "--max-restarts",
        type=int,
        default=5,
        help="times a module is restarted after a hang or crash, skipping what already ran",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail on a test that failed only with lsautofix once and not on rerun",
    )
    parser.add_argument(
        "--sys-path",
        action="append",
        default=[],
        metavar="DIR",
        help="prepend DIR to the children's sys.path (to run test modules from elsewhere)",
    )
    parser.add_argument(
        "--keep-known-races",
        action="store_true",
        help="also run the tests that races in CPython itself hang on this version (see KNOWN_RACES)",
    )
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="run the plain and the installed mode one after the other, not at the same time "
        "(steadier timings for the slower-with-lsautofix list)",
    )
    parser.add_argument("--list", action="store_true", help="print the specs that would run, and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every child process as it ends")
    args = parser.parse_args(argv)
    if not args.tests and not args.subset:
        args.subset = "fast"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    specs = list(args.tests) if args.tests else list(SUBSETS[args.subset])
    if args.list:
        print("\n".join(specs))
        return 0
    parsed = [(spec, *parse_spec(spec)) for spec in specs]
    info = probe(args.python, [m for _, m, _ in parsed], args.sys_path)
    if not info.get("pth"):
        print(
            f"error: lsautofix.pth is not installed for {args.python}: `pip install -e .` there first", file=sys.stderr
        )
        return 3
    info["lsautofix_commit"] = git_commit(info.get("lsautofix_path"))
    out_dir = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="cpydiff-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    collector = start_collector()
    began = time.monotonic()
    print(
        f"cpython differential: {args.python} (Python {info['python']}, langsmith {info.get('langsmith')}); "
        f"logs in {out_dir}; collector {collector.url}",
        flush=True,
    )
    version = tuple(int(part) for part in info["python"].split(".")[:3] if part.isdigit())
    info["left_out"] = []
    if not args.keep_known_races:
        for i, (spec, module, patterns) in enumerate(parsed):
            for race in known_races(module, version):
                parsed[i] = (spec, module, [*patterns, "!" + race.pattern])
                info["left_out"].append({"module": module, "pattern": race.pattern, "issue": race.issue})
                print(f"left out: {short(module)} {race.pattern}, a race in CPython {info['python']} ({race.issue})")
    reports: list[ModuleReport] = []
    try:
        runner = Runner(args, collector, out_dir)
        for n, (spec, module, patterns) in enumerate(parsed, 1):
            report = ModuleReport(spec=spec, module=module, patterns=patterns)
            reports.append(report)
            if not info["modules"].get(module):
                report.available = False
                print(f"[{n}/{len(parsed)}] {spec}: not in this Python's test package, skipped", flush=True)
                continue
            # Both modes at once by default: most of these tests wait (timeouts, sleeps, joins), so
            # the pair takes about as long as one, and each mode sees the same load as the other.
            print(f"[{n}/{len(parsed)}] {spec}: {' and '.join(MODES)} ...", flush=True)
            with ThreadPoolExecutor(1 if args.sequential else len(MODES)) as pool:
                runs = dict(zip(MODES, pool.map(lambda mode: runner.run(module, mode, patterns), MODES)))
            for mode, run in runs.items():
                report.runs[mode] = run
                counts = " ".join(f"{k} {v}" for k, v in sorted(run.counts().items()))
                print(
                    f"    {mode}: {run.seconds:.1f} s, {counts}"
                    + (f", {run.attempts} processes" if run.attempts > 1 else ""),
                    flush=True,
                )
            compare(report)
            hangs: set[str] = set()
            # Hangs first: once confirmed, the module reruns of the other differences leave them out.
            for diff in sorted(report.lsautofix_only, key=lambda d: d.installed != "hang"):
                print(f"    fails only with lsautofix: {diff.id} ({diff.installed}); rerunning ...", end="", flush=True)
                confirm(runner, module, patterns, diff, args.reruns, avoid=hangs)
                if diff.verdict.startswith("confirmed") and diff.installed == "hang":
                    hangs.add(diff.id)
                print(f" {diff.verdict}", flush=True)
    finally:
        collector.stop()
    total = time.monotonic() - began
    print_report(reports, info, total)
    if args.json:
        data = json.dumps(to_json(reports, info, args, total), indent=1)
        if args.json == "-":
            print(data)
        else:
            Path(args.json).write_text(data)
    unsound = any(
        run.installed != (mode == "installed") for r in reports if r.available for mode, run in r.runs.items()
    )
    if unsound:
        print(
            "\nerror: lsautofix was not installed in the installed mode (or was in the plain one): "
            "the comparison means nothing",
            file=sys.stderr,
        )
        return 3
    counted = [
        d
        for r in reports
        for d in r.lsautofix_only
        if d.verdict.startswith("confirmed") or (args.strict and d.verdict.startswith("intermittent"))
    ]
    print(
        f"\n{len(counted)} test(s) fail only with lsautofix"
        + ("" if counted else "; none reproduced" if any(r.lsautofix_only for r in reports) else "")
    )
    return 1 if counted else 0


if __name__ == "__main__":
    sys.exit(main())
