"""Shared fixtures: the embedded collector, and running scenario scripts in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

import pytest

if TYPE_CHECKING:
    from lsautofix_collector import Collector

SCENARIOS = Path(__file__).parent / "scenarios"

try:  # CI (.ci/run sets HYPOTHESIS_PROFILE=ci) replays the same examples every run; locally they vary
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True)
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass

#: How a user turns lsautofix on; "off" is plain Python, which shows what breaks.
MODES = ("env", "runner", "import")

_IMPORT_BOOT = (
    "import os, runpy, sys; import lsautofix; "
    "sys.argv = sys.argv[1:]; sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0])); "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def pth_installed() -> bool:
    return (Path(sysconfig.get_paths()["purelib"]) / "lsautofix.pth").exists()


def clean_environ(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    """The test process's environment without any LangSmith, LangChain or lsautofix setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env.update(extra or {})
    return env


def command(script: str | Path, args: Sequence[str] = (), mode: str = "env") -> list[str]:
    path = str(SCENARIOS / script) if not os.path.isabs(script) else str(script)
    if mode == "runner":
        return [sys.executable, "-m", "lsautofix", path, *args]
    if mode == "import":
        return [sys.executable, "-c", _IMPORT_BOOT, path, *args]
    return [sys.executable, path, *args]


def script_environ(collector: Collector, mode: str, env: Optional[dict[str, Optional[str]]]) -> dict[str, str]:
    """The environment a scenario runs in: ``collector``'s, ``mode``'s switch, then ``env`` (None removes)."""
    environ = clean_environ(collector.env())
    if mode == "env":
        if not pth_installed():
            pytest.fail("lsautofix.pth is not installed in this environment: run `pip install -e .` first")
        environ["LANGSMITH_AUTOFIX"] = "1"
    for key, value in (env or {}).items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


def run_script(
    collector: Collector,
    script: str | Path,
    *args: str,
    mode: str = "env",
    env: Optional[dict[str, Optional[str]]] = None,
    timeout: float = 120,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a scenario in a fresh interpreter pointed at ``collector``, activated by ``mode``.

    ``env`` overrides the environment; a value of None removes that variable.
    """
    proc = subprocess.run(
        command(script, args, mode), env=script_environ(collector, mode, env), capture_output=True, text=True,
        timeout=timeout, cwd=SCENARIOS,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {args} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return proc


def run_script_timed(
    collector: Collector,
    script: str | Path,
    *args: str,
    marks: Sequence[str],
    mode: str = "env",
    env: Optional[dict[str, Optional[str]]] = None,
    timeout: float = 60,
) -> tuple[subprocess.CompletedProcess[str], list[float]]:
    """Like ``run_script`` (unchecked), and when each of ``marks`` first began a stdout line, and exit.

    Returns the seconds between consecutive moments, start-up excluded: from the first mark to the
    second, ..., from the last mark to exit. What a test bounds is what the program does after it
    started, which a loaded machine's interpreter start-up (seconds, under CI's parallel tests)
    would otherwise swamp. A mark never printed counts as printed at exit.
    """
    proc = subprocess.Popen(
        command(script, args, mode), env=script_environ(collector, mode, env), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=SCENARIOS,
    )  # fmt: skip
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    seen: dict[str, float] = {}
    out: list[str] = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            out.append(line)
            for mark in marks:
                if mark not in seen and line.startswith(mark):
                    seen[mark] = time.monotonic()
        proc.wait()
        ended = time.monotonic()
    finally:
        timer.cancel()
    reader.join()
    moments = [seen.get(m, ended) for m in marks] + [ended]
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(out), "".join(err)), gaps


@pytest.fixture
def collector() -> Iterator[Collector]:
    from lsautofix_collector import Collector

    with Collector() as c:
        yield c


#: The runner and import routes differ from env only in how lsautofix gets switched on, which
#: test_runner*.py checks on every Python. Marked ``route``, .ci/run runs them on 3.11 and leaves
#: them out on 3.10, 3.12 and 3.13; tests whose children must get lsautofix through each route
#: (spawn and forkserver pools) parametrize ``mode`` themselves and run everywhere.
_ROUTED_MODES = [MODES[0], *(pytest.param(m, marks=pytest.mark.route) for m in MODES[1:])]


@pytest.fixture(params=_ROUTED_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: Start methods whose cases run (tests parametrized by ``method``): all by default. .ci/run
#: gives each of 3.12 and 3.13 fork and one of the two methods that start a fresh interpreter
#: (spawn on 3.12, forkserver on 3.13), so every method runs on three of the four Pythons.
START_METHODS_ENV = "LSAUTOFIX_START_METHODS"
_ALL_METHODS = ("fork", "spawn", "forkserver")


def _start_methods() -> tuple[str, ...]:
    chosen = tuple(m.strip() for m in os.environ.get(START_METHODS_ENV, "").split(",") if m.strip())
    unknown = set(chosen) - set(_ALL_METHODS)
    if unknown:
        raise pytest.UsageError(f"{START_METHODS_ENV}: unknown start method(s) {sorted(unknown)}; use {_ALL_METHODS}")
    return chosen or _ALL_METHODS


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``-n N --dist loadgroup``, each engine's tests and the CPython suites run one at a time
    on one worker: a Ray or Dask cluster beside another would starve a 2-core machine.

    Cases for a start method left out of ``LSAUTOFIX_START_METHODS`` are deselected."""
    methods = _start_methods()
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        method = callspec.params.get("method") if callspec is not None else None
        (dropped if method in _ALL_METHODS and method not in methods else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in items:
        if _heavy(item.nodeid):
            item.add_marker(pytest.mark.xdist_group("heavy"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"start methods: {', '.join(_start_methods())} ({START_METHODS_ENV})"


def _heavy(nodeid: str) -> bool:
    name = nodeid.partition("::")[0].rpartition("/")[2]
    return name.startswith("test_engines_") or name == "test_cpython_differential.py"


#: xdist workers (controller side) that ran a heavy test. pytest-xdist's loadgroup silently stops
#: grouping under pytest 9.2 (pytest-dev/pytest-xdist#1386, hence the test extra's pytest<9.2):
#: should a version mix do that again, the session fails instead of running clusters side by side.
_heavy_workers: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    node = getattr(report, "node", None)  # set by xdist on the controller: the worker that ran it
    if node is not None and report.when == "call" and _heavy(report.nodeid):
        _heavy_workers.add(str(node.gateway.id))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if len(_heavy_workers) > 1 and session.config.getoption("dist", None) == "loadgroup":
        sys.stderr.write(
            f"\nconftest: the heavy tests ran on {sorted(_heavy_workers)}, not on one worker: "
            "this pytest-xdist does not apply xdist_group (see tests/conftest.py)\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
