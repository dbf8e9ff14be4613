"""``lsautofix doctor``'s command line: options, the program to run, and the exit status."""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import IO

from lsautofix.doctor.analyse import EXIT_USAGE, TITLES, Report, changed_line, examine, judge, verdict
from lsautofix.doctor.render import Plain, Rich, render
from lsautofix.doctor.supervise import run_once

DEFAULT_TIMEOUT = 120.0
USAGE = "lsautofix doctor [options] (script.py | -m module) [args ...]"
DESCRIPTION = """\
Run a Python program twice against a LangSmith-compatible collector on 127.0.0.1 (no account,
nothing leaves the machine): first as plain Python (LANGSMITH_AUTOFIX=0), then with lsautofix
(LANGSMITH_AUTOFIX=1). Show the traces each run produced and, for each problem, its count in both
runs and how to fix it by hand: split traces, lost runs, runs never ended, runs started after their
parent ended, duplicate runs, unconsumed evaluations. Arguments after the script or module go to
the program; its subprocesses and pools report too."""
EPILOG = """\
how problems are counted (each run once, in the first that applies):
  lost runs        runs the program created (a ledger every process writes) that never arrived
  duplicate runs   runs received more than once
  runs never ended runs received without an end (the ledger tells whether the program ended them)
  runs after their parent ended
                   runs that started after their parent had ended (shown per process and thread),
                   when that parent has several (long-lived workers started inside a traced
                   function); a lone one is a fire-and-forget thread: shown, not counted
  split traces     per run name, the roots one run created beyond those the other run created (or
                   attached to an ended parent); a split that lsautofix does not fix either is not seen
  unconsumed evaluations
                   experiments that received runs for fewer examples than the SDK announced
                   (num_examples), or than their dataset holds
                   (with lsautofix, also its UnconsumedEvaluationWarning, which it shows, not fixes)

environment: the program gets yours, minus LANGSMITH_*/LANGCHAIN_* variables that route runs
(endpoint, API key or URL, project, tracing, sampling, OTel, workspace, tenant, agent), plus the
collector's; stdin is empty; it runs from the current directory in its own process group.

exit status:
  0  no problem remains with lsautofix (and the program ended as without it)
  1  a problem remains with lsautofix, nothing was traced, or the program failed in both runs
  2  usage error (bad option, no such script or module)
  3  lsautofix changed the program: it failed, or ended differently, only with lsautofix"""


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser("lsautofix doctor", USAGE, DESCRIPTION, EPILOG, formatter_class=raw)
    add = parser.add_argument
    add("--json", metavar="PATH", help="also write a machine-readable report to PATH ('-': stdout; then the "
        "human report goes to stderr)")  # fmt: skip
    add("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help="stop each run after this long: "
        f"its process group gets SIGTERM, then SIGKILL (default {DEFAULT_TIMEOUT:g})")  # fmt: skip
    add("--max-traces", type=int, default=20, metavar="N", help="draw at most N traces per run, those with a "
        "problem first (default 20; --json has them all)")  # fmt: skip
    add("--show-output", action="store_true", help="show the program's stdout and stderr of both runs (shown "
        "anyway, the last lines, for a run that failed)")  # fmt: skip
    add("--no-color", action="store_true", help="plain text even on a terminal (rich is used only when it is "
        "installed and the output is a terminal)")  # fmt: skip
    return parser


#: Doctor's options that take a value (the next argument).
_VALUED = ("--json", "--timeout", "--max-traces")


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Doctor's options, and the program's command (from ``-m`` or the first non-option on)."""
    args, i = list(argv), 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[:i], args[i + 1 :]
        if arg == "-m" or not arg.startswith("-"):
            return args[:i], args[i:]
        i += 2 if arg in _VALUED else 1
    return args, []


def module_problem(name: str, cwd: str | None = None) -> str | None:
    """Why ``python -m name`` would fail to find it, as Python says it, or None; imports nothing.

    The search path is the program's: the current directory first (as ``-m`` puts it), then this
    interpreter's. Submodules are looked up in their package's directories without running it.
    """
    saved = sys.path[:]
    sys.path[:] = [cwd or os.getcwd(), *sys.path[1:]]
    try:
        parts = name.split(".")
        spec = importlib.util.find_spec(parts[0]) if name and all(parts) else None
        for depth in range(1, len(parts)):
            if spec is None or spec.submodule_search_locations is None:
                break
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]),
                                                            list(spec.submodule_search_locations))  # fmt: skip
        if spec is None:
            return f"No module named {name}"
        if spec.submodule_search_locations is not None:
            main = importlib.machinery.PathFinder.find_spec(f"{name}.__main__", list(spec.submodule_search_locations))
            if main is None:
                return f"No module named {name}.__main__; '{name}' is a package and cannot be directly executed"
        return None
    except (ImportError, ValueError):
        return None  # let Python itself say it, in the program's output
    finally:
        sys.path[:] = saved


def program(target: list[str]) -> list[str]:
    """``python script.py args`` or ``python -m module args``; ``ValueError`` says what is wrong."""
    if not target or target == ["-m"]:
        raise ValueError("name a script or -m module to run")
    if target[0] == "-m":
        problem = module_problem(target[1])
        if problem:
            raise ValueError(problem)
    elif not os.path.exists(target[0]):
        raise ValueError(f"can't open file {os.path.abspath(target[0])!r}: No such file or directory")
    return [sys.executable, *target]


def diagnose(command: list[str], timeout: float) -> Report:
    """Run the program without and with lsautofix and judge both executions."""
    from lsautofix._version import describe

    runs = {}
    with tempfile.TemporaryDirectory(prefix="lsautofix-doctor-") as workdir:
        for key, autofix in (("plain", "0"), ("lsautofix", "1")):
            runs[key] = examine(run_once(command, key, autofix, timeout, workdir))
    plain, fixed = runs["plain"], runs["lsautofix"]
    problems = judge(plain, fixed)
    status, text, notes = verdict(problems, plain, fixed)
    return Report(
        command=["python", *command[1:]],
        python=sys.executable,
        versions=describe(),
        runs={key: runs[key] for key in TITLES},
        problems=problems,
        verdict=text,
        exit_status=status,
        changed=changed_line(plain, fixed),
        nothing_traced=plain.nothing_traced and fixed.nothing_traced,
        notes=notes,
    )


def main(argv: Sequence[str]) -> int:
    """``lsautofix doctor [options] (script.py | -m module) [args...]``; returns the exit status."""
    parser = _parser()
    options, target = split_argv(argv)
    args = parser.parse_args(options)  # exits 2 on a usage error, 0 for --help
    try:
        command = program(target)
        if args.timeout <= 0 or args.max_traces < 0:
            raise ValueError("--timeout must be positive and --max-traces not negative")
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"lsautofix doctor: error: {exc}\n")
        return EXIT_USAGE
    try:
        report = diagnose(command, args.timeout)
    except KeyboardInterrupt:
        sys.stderr.write("lsautofix doctor: interrupted\n")
        return 130
    if args.json:
        data = json.dumps(report.to_json(), indent=2, default=str)
        if args.json == "-":
            sys.stdout.write(data + "\n")
        else:
            with open(args.json, "w", encoding="utf-8") as handle:
                handle.write(data + "\n")
    out = sys.stderr if args.json == "-" else sys.stdout
    render(report, Rich(out) if use_rich(out, args.no_color) else Plain(out), args.max_traces, args.show_output)
    out.flush()
    return report.exit_status


def use_rich(out: IO[str], no_color: bool) -> bool:
    """rich for a terminal, when it is installed and not refused."""
    if no_color or not out.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True
