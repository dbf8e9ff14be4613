"""``lsautofix doctor``: run a program twice against a local collector, without and with lsautofix.

Both runs send to one collector embedded in this process (127.0.0.1, reset in between), and every
process of the program writes the runs it *creates* to a ledger (:mod:`lsautofix._ledger`), so each
problem is counted from evidence, as :data:`EPILOG` (the end of ``--help``) explains. Split traces
are the one count that is a comparison, not an observation: the collector cannot see where code was
called from, so a root is "split" when the other run did without it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from lsautofix import _ledger

if TYPE_CHECKING:
    from lsautofix_collector import Collector, TreeNode

DEFAULT_TIMEOUT = 120.0
TAIL_LINES = 20
#: Removed from the program's environment (within LANGSMITH_* and LANGCHAIN_* names) before the
#: collector's variables are added: nothing the user set can send runs anywhere else.
_ROUTING_WORDS = ("ENDPOINT", "API_KEY", "API_URL", "PROJECT", "TRACING", "OTEL", "WORKSPACE", "TENANT", "SAMPLING",
                  "AGENT", "SERVICE_KEY")  # fmt: skip

USAGE = "lsautofix doctor [options] (script.py | -m module) [args ...]"
DESCRIPTION = """\
Run a Python program twice against a LangSmith-compatible collector embedded in this process
(127.0.0.1; no account, nothing leaves the machine): first as plain Python (LANGSMITH_AUTOFIX=0),
then with lsautofix (LANGSMITH_AUTOFIX=1). Show the traces each run produced and, for each problem,
its count in both runs and how to fix it by hand: split traces, lost runs, duplicate runs,
unconsumed evaluations. Arguments after the script or module go to the program."""
EPILOG = """\
how problems are counted:
  lost runs        runs the program created (a ledger every process writes) that never arrived
  split traces     per run name, the roots one run created beyond those the other run created;
                   a split that lsautofix does not fix either is not seen
  duplicate runs   runs received more than once
  unconsumed evaluations
                   experiments that received runs for fewer examples than the SDK announced
                   (num_examples), or than their dataset holds
                   (with lsautofix, also its UnconsumedEvaluationWarning, which it shows, not fixes)

environment: the program gets yours, minus LANGSMITH_*/LANGCHAIN_* variables that route runs
(endpoint, API key or URL, project, tracing, sampling, OTel, workspace, tenant, agent), plus the
collector's; stdin is empty; it runs from the current directory in its own process group.

exit status: 0 when no problem remains with lsautofix and the program exited 0 under it;
1 when a problem remains or the program failed or timed out with lsautofix; 2 for usage errors."""

#: The manual fix for each problem, for users who cannot use lsautofix (split traces: by cause).
FIXES = {
    "split_threads": "in threads: run the work in langsmith.utils.ContextThreadPoolExecutor, or pass "
    "langsmith_extra={'parent': get_current_run_tree()} to the traced call",
    "split_processes": "across processes: pass get_current_run_tree().to_headers() to the child and run its "
    "work inside tracing_context(parent=headers)",
    "lost_runs": "call langsmith.run_trees.get_cached_client().flush() (LangChain: wait_for_all_tracers()) "
    "before a pool task, a worker or the program ends",
    "duplicate_runs": "create the tracing client after fork, or use the 'spawn' start method",
    "unconsumed_evaluations": "consume the results (`async for _ in results: ...`) or pass blocking=True",
}
PROBLEMS = (("split_traces", "split traces"), ("lost_runs", "lost runs"), ("duplicate_runs", "duplicate runs"),
            ("unconsumed_evaluations", "unconsumed evaluations"))  # fmt: skip
RUNS = (("plain", "plain Python", "0"), ("lsautofix", "with lsautofix", "1"))


# --- command line -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser("lsautofix doctor", USAGE, DESCRIPTION, EPILOG, formatter_class=raw)
    add = parser.add_argument
    add("--json", metavar="PATH", help="also write a machine-readable report to PATH ('-': stdout; then the "
        "human report goes to stderr)")  # fmt: skip
    add("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help="stop each run after this long: "
        f"its process group gets SIGTERM, then SIGKILL (default {DEFAULT_TIMEOUT:g})")  # fmt: skip
    add("--max-traces", type=int, default=20, metavar="N", help="draw at most N traces per run (default 20; "
        "--json has them all)")  # fmt: skip
    add("--no-color", action="store_true", help="plain text even on a terminal (rich is used only when it is "
        "installed and the output is a terminal)")  # fmt: skip
    return parser


def _split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Doctor's options, and the program's command (from ``-m`` or the first non-option on)."""
    args, i = list(argv), 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1 :]
        if arg == "-m" or not arg.startswith("-"):
            return args[:i], args[i:]
        i += 2 if arg in ("--json", "--timeout", "--max-traces") else 1
    return args, []


def _program(target: list[str]) -> list[str]:
    """``python script.py args`` or ``python -m module args``; ``ValueError`` says what is wrong."""
    if not target or target == ["-m"]:
        raise ValueError("name a script or -m module to run")
    if target[0] != "-m" and not os.path.exists(target[0]):
        raise ValueError(f"can't open file {os.path.abspath(target[0])!r}: No such file or directory")
    return [sys.executable, *target]


# --- running the program ------------------------------------------------------------------------


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


def _signal_group(proc: subprocess.Popen, sig: int) -> bool:
    """Send ``sig`` to the program's process group; False when nobody is left in it."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig:
            proc.kill()
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
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


def _reap_leftovers(proc: subprocess.Popen, wait: float = 1.0) -> bool:
    """Kill what the program left running in its group (it could send runs into the next run)."""
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


def _tail(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read().splitlines()[-TAIL_LINES:]


def run_once(
    collector: Collector, command: list[str], key: str, autofix: str, timeout: float, workdir: str
) -> dict[str, Any]:
    """Run the program once; return the facts: exit status, output tails, ledger and what arrived."""
    collector.reset()
    ledger = os.path.join(workdir, key)
    os.mkdir(ledger)
    out_path, err_path = os.path.join(workdir, f"{key}.out"), os.path.join(workdir, f"{key}.err")
    env = child_env(collector, f"lsautofix-doctor-{key}", autofix, ledger)
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=os.name == "posix"
        )
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
    stderr = _tail(err_path)
    with open(err_path, encoding="utf-8", errors="replace") as handle:
        warned = handle.read().count("UnconsumedEvaluationWarning")
    return {
        "key": key,
        "autofix": autofix,
        "pid": proc.pid,
        "exit_status": proc.returncode,
        "timed_out": timed_out,
        "leftover_processes_killed": leftovers,
        "seconds": round(elapsed, 3),
        "stdout_tail": _tail(out_path),
        "stderr_tail": stderr,
        "evaluation_warnings": warned,
        **examine(collector, _ledger.read(ledger), proc.pid),
    }


# --- judging ------------------------------------------------------------------------------------


def examine(collector: Collector, records: list[dict[str, Any]], main_pid: int) -> dict[str, Any]:
    """What one run created (ledger) and delivered (collector), per process, plus its trees."""
    store = collector.store
    runs = store.runs()
    created: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("id"):
            created.setdefault(str(record["id"]), record)
    ledger_ok = bool(created) or not runs
    processes: dict[int, dict[str, Any]] = {}
    for run_id, record in created.items():
        pid = int(record.get("pid") or 0)
        entry = processes.setdefault(
            pid,
            {"pid": pid, "ppid": record.get("ppid"), "main": pid == main_pid, "created": 0, "delivered": 0, "lost": []},
        )
        entry["created"] += 1
        if run_id in runs:
            entry["delivered"] += 1
        else:
            entry["lost"].append(record.get("name"))
    source = created.values() if ledger_ok else runs.values()
    roots = Counter(str(r.get("name")) for r in source if not r.get("parent_run_id"))
    experiments: list[dict[str, Any]] = []
    datasets = store.datasets()
    for project in store.projects().values():
        dataset = datasets.get(str(project.get("reference_dataset_id")))
        if dataset is None:
            continue
        done = {
            r.get("reference_example_id")
            for r in store.runs_in_project(project["id"])
            if not r.get("parent_run_id") and r.get("reference_example_id")
        }
        expected = project.get("num_examples")  # what the SDK said it would run; else the whole dataset
        if not isinstance(expected, int):
            expected = dataset.get("example_count", 0)
        experiments.append({"name": project.get("name"), "examples": expected, "evaluated": len(done)})
    trees = store.trees()
    return {
        "ledger_ok": ledger_ok,
        "created": len(created) if ledger_ok else None,
        "received": len(runs),
        "traces_received": len(trees),
        "roots_created": dict(roots),
        "processes": sorted(processes.values(), key=lambda p: (not p["main"], p["pid"])),
        "lost": sum(len(p["lost"]) for p in processes.values()) if ledger_ok else None,
        "not_in_ledger": len(set(runs) - set(created)) if ledger_ok else None,
        "duplicates": len(store.duplicates()),
        "experiments": experiments,
        "incomplete_experiments": sum(1 for e in experiments if e["evaluated"] < e["examples"]),
        "_trees": trees,
        "_created": created,
    }


def _split_counts(this: dict[str, Any], other: dict[str, Any]) -> dict[str, int]:
    """Per name, the roots ``this`` run created beyond the roots of that name ``other`` created."""
    theirs = other["roots_created"]
    return {n: c - theirs.get(n, 0) for n, c in this["roots_created"].items() if c > theirs.get(n, 0)}


def _split_fix(names: dict[str, int], fixed: dict[str, Any]) -> list[str]:
    """Threads or processes? Where lsautofix placed the runs with those names says which."""
    created, kinds = fixed["_created"], set()
    for record in created.values():
        parent = created.get(str(record.get("parent_run_id")))
        if record.get("name") in names and parent is not None:
            kinds.add("split_threads" if parent.get("pid") == record.get("pid") else "split_processes")
    return [FIXES[k] for k in sorted(kinds or {"split_threads", "split_processes"}, reverse=True)]


def judge(plain: dict[str, Any], fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One verdict per problem: the count in each run, which runs of which names, the manual fix."""
    split_plain, split_fixed = _split_counts(plain, fixed), _split_counts(fixed, plain)
    plain["split"], fixed["split"] = split_plain, split_fixed
    return {
        "split_traces": {
            "plain": sum(split_plain.values()),
            "lsautofix": sum(split_fixed.values()),
            "names": {"plain": split_plain, "lsautofix": split_fixed},
            "fix": _split_fix({**split_plain, **split_fixed}, fixed),
        },
        "lost_runs": {"plain": plain["lost"], "lsautofix": fixed["lost"], "fix": [FIXES["lost_runs"]]},
        "duplicate_runs": {
            "plain": plain["duplicates"],
            "lsautofix": fixed["duplicates"],
            "fix": [FIXES["duplicate_runs"]],
        },
        "unconsumed_evaluations": {
            "plain": plain["incomplete_experiments"],
            "lsautofix": max(fixed["incomplete_experiments"], fixed["evaluation_warnings"]),
            "warned_by_lsautofix": fixed["evaluation_warnings"],
            "fix": [FIXES["unconsumed_evaluations"]],
        },
    }


def _failed(run: dict[str, Any]) -> bool:
    return bool(run["timed_out"] or run["exit_status"])


def _status(verdict: dict[str, Any]) -> str:
    before, after = verdict["plain"], verdict["lsautofix"]
    if after is None or before is None:
        return "not measured (ledger missing)"
    if after:
        return "lsautofix warns; fix the code" if verdict.get("warned_by_lsautofix") else "remains"
    return "fixed by lsautofix" if before else "none"


# --- showing ------------------------------------------------------------------------------------


def _plural(count: int | None, noun: str) -> str:
    return f"{_count(count)} {noun}{'' if count == 1 else 's'}"


def _describe(run: dict[str, Any]) -> str:
    if run["timed_out"]:
        how = f"killed after the {run['timeout']:g} s timeout"
    elif run["exit_status"] < 0:
        how = f"killed by signal {-run['exit_status']} after {run['seconds']:.1f} s"
    else:
        how = f"exit {run['exit_status']} after {run['seconds']:.1f} s"
    return (
        f"{how}; {_plural(run['created'], 'run')} created, {run['received']} received "
        f"in {_plural(run['traces_received'], 'trace')}"
    )


def _label(node: TreeNode) -> str:
    from lsautofix_collector import duration_ms

    run = node.run
    if run.get("run_type") == "missing":
        return f"? parent {run.get('id')} (never received)"
    ms = duration_ms(run)
    took = f" {ms:.1f} ms" if ms is not None else " (not ended)"
    return f"{run.get('name')} [{run.get('run_type')}]{took}{' ERROR' if run.get('error') else ''}"


def _notes(run: dict[str, Any]) -> list[str]:
    """Per process created/delivered, split-off names, experiments and warnings, one line each."""
    lines = []
    if run.get("split"):
        lines.append(f"split off (created as roots): {_names(run['split'])}")
    if not run["ledger_ok"]:
        lines.append(
            "the run ledger did not start (is lsautofix installed with its .pth in this Python?): "
            "lost runs were not measured"
        )
    for p in run["processes"]:
        role = "main" if p["main"] else f"child of {p['ppid']}"
        lost = f", lost: {_names(Counter(p['lost']))}" if p["lost"] else ""
        lines.append(f"pid {p['pid']} ({role}): {p['created']} created, {p['delivered']} delivered{lost}")
    if run["not_in_ledger"]:
        lines.append(f"{run['not_in_ledger']} runs received that no ledger recorded (a process without lsautofix?)")
    for e in run["experiments"]:
        lines.append(f"experiment {e['name']!r}: runs for {e['evaluated']} of {e['examples']} examples")
    if run["evaluation_warnings"]:
        lines.append(f"UnconsumedEvaluationWarning on stderr: {run['evaluation_warnings']}")
    return lines


def _names(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} ×{count}" for name, count in counts.items())


class _Plain:
    """Plain text: indented trees and a space-aligned table."""

    def __init__(self, out: IO[str]) -> None:
        self.write = out.write

    def line(self, text: str = "", style: str = "") -> None:
        self.write(text + "\n")

    def trees(self, title: str, style: str, nodes: list[TreeNode], more: str) -> None:
        def draw(node: TreeNode, depth: int) -> None:
            self.line("  " * depth + _label(node))
            for child in node.children:
                draw(child, depth + 1)

        self.line(f"\n== {title}")
        for node in nodes:
            draw(node, 1)
        if more:
            self.line(f"  {more}")

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]], styles: list[str]) -> None:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    def pairs(self, items: list[tuple[str, str]]) -> None:
        for title, text in items:
            self.line(f"  {title}: {text}")


class _Rich(_Plain):
    """``rich``: tree guides, colors and a boxed table (imported only when stdout is a terminal)."""

    def __init__(self, out: IO[str]) -> None:
        from rich.console import Console
        from rich.markup import escape

        self.console, self.escape = Console(file=out, highlight=False), escape

    def line(self, text: str = "", style: str = "") -> None:
        self.console.print(self.escape(text), style=style or None)

    def trees(self, title: str, style: str, nodes: list[TreeNode], more: str) -> None:
        from rich.tree import Tree

        def add(branch: Tree, node: TreeNode) -> None:
            kind = "yellow" if node.run.get("run_type") == "missing" else "red" if node.run.get("error") else ""
            child = branch.add(self.escape(_label(node)), style=kind)
            for kid in node.children:
                add(child, kid)

        root = Tree(self.escape(title), style=style, guide_style="dim")
        for node in nodes:
            add(root, node)
        if more:
            root.add(self.escape(more), style="dim")
        self.console.print()
        self.console.print(root)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]], styles: list[str]) -> None:
        from rich.table import Table

        table = Table(*header)
        for column in table.columns[1:3]:
            column.justify = "right"
        for row, style in zip(rows, styles):
            table.add_row(*row[:-1], f"[{style}]{self.escape(row[-1])}[/]")
        self.console.print(table)

    def pairs(self, items: list[tuple[str, str]]) -> None:
        from rich.padding import Padding
        from rich.table import Table

        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(style="yellow", no_wrap=True)
        grid.add_column()
        for i, (title, text) in enumerate(items):
            grid.add_row("" if i and items[i - 1][0] == title else self.escape(title), self.escape(text))
        self.console.print(Padding(grid, (0, 0, 0, 2)))


def render(report: dict[str, Any], ui: _Plain, max_traces: int) -> None:
    """The human report: each run's traces and notes, the verdict table, the manual fixes."""
    ui.line(f"lsautofix doctor: {' '.join(report['command'])}", "bold")
    for key, title, autofix in RUNS:
        run = report["runs"][key]
        trees, failed = run["_trees"], _failed(run)
        more = f"... {len(trees) - max_traces} more traces (--json has them all)" if len(trees) > max_traces else ""
        header = f"{title} (LANGSMITH_AUTOFIX={autofix}): {_describe(run)}"
        ui.trees(header, "bold red" if failed else "bold", trees[:max_traces], more)
        for line in _notes(run):
            ui.line(f"  {line}", "dim")
        if failed:
            ui.line("  stderr (last lines):", "red")
            for line in run["stderr_tail"] or ["(empty)"]:
                ui.line(f"  | {line}")
    rows: list[tuple[str, ...]] = []
    styles: list[str] = []
    for name, title in PROBLEMS:
        verdict = report["problems"][name]
        status = _status(verdict)
        rows.append((title, _count(verdict["plain"]), _count(verdict["lsautofix"]), status))
        styles.append("green" if status in ("none", "fixed by lsautofix") else "red")
    ui.line()
    ui.table(("problem", "plain Python", "with lsautofix", "status"), rows, styles)
    found = [(title, report["problems"][name]) for name, title in PROBLEMS]
    fixes = [(title, fix) for title, v in found if v["plain"] or v["lsautofix"] for fix in v["fix"]]
    if fixes:
        ui.line("\nhow to fix by hand, without lsautofix:", "bold")
        ui.pairs(fixes)
    ui.line()
    ui.line(report["verdict"], "bold red" if report["exit_status"] else "bold green")


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


# --- the command ----------------------------------------------------------------------------------


def _verdict(problems: dict[str, dict[str, Any]], plain: dict[str, Any], fixed: dict[str, Any]) -> tuple[int, str]:
    remaining = [title for (name, title) in PROBLEMS if problems[name]["lsautofix"]]
    found = sum(v["plain"] or 0 for v in problems.values())
    if remaining:
        return 1, f"problems remain with lsautofix: {', '.join(remaining)}"
    if fixed["timed_out"]:
        return 1, "the program timed out with lsautofix: raise --timeout, or see its stderr above"
    if fixed["exit_status"]:
        return 1, f"the program failed with lsautofix (exit status {fixed['exit_status']}): see its stderr above"
    if found:
        return 0, f"lsautofix fixes every problem found ({found} in plain Python, 0 with lsautofix)"
    note = " (the program failed without lsautofix)" if _failed(plain) else ""
    return 0, f"no problem found{note}"


def _public(run: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in run.items() if not k.startswith("_")}
    data["traces"] = [tree.to_dict() for tree in run["_trees"]]
    return data


def main(argv: Sequence[str]) -> int:
    """``lsautofix doctor [options] (script.py | -m module) [args...]``; returns the exit status."""
    parser = _parser()
    options, target = _split_argv(argv)
    args = parser.parse_args(options)  # exits 2 on a usage error, 0 for --help
    try:
        command = _program(target)
        if args.timeout <= 0 or args.max_traces < 0:
            raise ValueError("--timeout must be positive and --max-traces not negative")
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"lsautofix doctor: error: {exc}\n")
        return 2
    from lsautofix._version import describe
    from lsautofix_collector import Collector

    runs: dict[str, dict[str, Any]] = {}
    try:
        with Collector() as collector, tempfile.TemporaryDirectory(prefix="lsautofix-doctor-") as workdir:
            for key, _title, autofix in RUNS:
                runs[key] = run_once(collector, command, key, autofix, args.timeout, workdir)
                runs[key]["timeout"] = args.timeout
    except KeyboardInterrupt:
        sys.stderr.write("lsautofix doctor: interrupted\n")
        return 130
    plain, fixed = runs["plain"], runs["lsautofix"]
    problems = judge(plain, fixed)
    status, verdict = _verdict(problems, plain, fixed)
    display = ["python", *command[1:]]
    report = {
        "command": display,
        "python": sys.executable,
        "versions": describe(),
        "runs": runs,
        "problems": problems,
        "verdict": verdict,
        "exit_status": status,
    }
    if args.json:
        data = json.dumps({**report, "runs": {k: _public(r) for k, r in runs.items()}}, indent=2, default=str)
        if args.json == "-":
            sys.stdout.write(data + "\n")
        else:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(data + "\n")
    out = sys.stderr if args.json == "-" else sys.stdout
    render(report, _Rich(out) if _use_rich(out, args.no_color) else _Plain(out), args.max_traces)
    out.flush()
    return status


def _use_rich(out: IO[str], no_color: bool) -> bool:
    if no_color or not out.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True
