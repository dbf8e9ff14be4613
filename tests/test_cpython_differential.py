"""CPython's own regression tests pass the same with lsautofix as without, inside an open trace.

``tools/cpython_differential.py`` runs each module of its ``fast`` subset twice in fresh
interpreters (plain, ``LANGSMITH_AUTOFIX=0``, and installed, ``=1``), tracing on against the
embedded collector, inside ``with langsmith.trace("cpython-suite")``; a test that fails or hangs
only with lsautofix (and again on rerun) fails here. docs/cpython-differential.md has the full run.

The self-test first proves the comparison can fail: a fake suite whose tests fail, hang or flake
in one mode only must get exactly the verdicts they deserve.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "cpython_differential.py"
FIXTURE = Path(__file__).resolve().parent / "cpydiff_fixture"

sys.path.insert(0, str(TOOL.parent))
try:
    import cpython_differential as tool
finally:
    sys.path.remove(str(TOOL.parent))

# CI runs CPython's suites, and this tool's self-test, on the two interpreters whose test packages
# here are whole (pyenv's 3.11 and 3.12 builds ship part of theirs): both together cost about two
# minutes per interpreter, a budget the CI run (under 30 minutes on two cores) spends on these two.
# The tool itself runs on any of them: LSAUTOFIX_CPYDIFF_EVERYWHERE=1 runs these tests anywhere.
SUITE_VERSIONS = {(3, 10), (3, 13)}

pytestmark = [
    pytest.mark.skipif(
        not hasattr(os, "fork"), reason="the differential run needs fork (CPython's suites here are POSIX ones)"
    ),
    pytest.mark.skipif(
        sys.version_info[:2] not in SUITE_VERSIONS and os.environ.get("LSAUTOFIX_CPYDIFF_EVERYWHERE") != "1",
        reason="CPython's suites run on 3.10 and 3.13, whose test packages are whole here "
        "(LSAUTOFIX_CPYDIFF_EVERYWHERE=1 runs them on this Python too)",
    ),
]


def run_tool(tmp_path: Path, *args: str, timeout: float, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--python",
            sys.executable,
            "--json",
            str(out),
            "--out-dir",
            str(tmp_path / "logs"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    text = proc.stdout + proc.stderr
    assert out.exists(), f"no report written (exit {proc.returncode}):\n{text[-4000:]}"
    return proc.returncode, json.loads(out.read_text()), text


@pytest.mark.per_sdk  # the tool's logic: once (3.10), not again on 3.13
def test_the_comparison_reports_each_kind_of_difference(tmp_path: Path) -> None:
    """Failures and hangs only with lsautofix count, confirmed on rerun; flakes, both-mode and
    plain-only failures and slowdowns are reported and do not count; the tests ran inside the open trace."""
    state = tmp_path / "state"
    state.mkdir()
    code, report, text = run_tool(
        tmp_path,
        "--tests",
        "cpydiff_fake_suite:!*left_out_by_the_spec",
        "--sys-path",
        str(FIXTURE),
        "--test-timeout",
        "4",
        "--reruns",
        "1",
        timeout=300,
        env={"CPYDIFF_FAKE_STATE": str(state)},
    )
    assert code == 1, text
    [module] = report["modules"]
    prefix = "cpydiff_fake_suite.FakeSuite."
    verdicts = {d["id"].removeprefix(prefix): (d["installed"], d["verdict"]) for d in module["lsautofix_only"]}
    assert verdicts == {
        "test_fails_only_with_lsautofix": ("fail", "confirmed (alone)"),
        "test_hangs_only_with_lsautofix": ("hang", "confirmed (alone)"),
        "test_fails_once_with_lsautofix": ("fail", "intermittent: not reproduced on rerun"),
    }, text
    assert [b["id"].removeprefix(prefix) for b in module["both"]] == ["test_fails_in_both"]
    assert [d["id"].removeprefix(prefix) for d in module["plain_only"]] == ["test_fails_only_plain"]
    hang = next(d for d in module["lsautofix_only"] if d["installed"] == "hang")
    assert "test_hangs_only_with_lsautofix" in hang["detail"], "a hang must come with the stacks that name it"
    for mode, run in module["modes"].items():
        assert run["installed"] is (mode == "installed")
        assert run["results"][prefix + "test_runs_inside_the_open_trace"]["outcome"] == "ok", text
        assert run["results"][prefix + "test_skipped"]["outcome"] == "skip"
        assert run["suite_runs_received"] == run["suite_runs_sent"] >= 1, "the open run reached the collector"
    assert [row["id"].removeprefix(prefix) for row in module["slower"]] == ["test_slow_only_with_lsautofix"]
    assert "2 test(s) fail only with lsautofix" in text
    assert not any("left_out_by_the_spec" in test for run in module["modes"].values() for test in run["results"])


def test_known_races_in_cpython_are_left_out_only_where_they_exist() -> None:
    def left_out(module: str, version: tuple[int, ...]) -> list[str]:
        return [race.pattern for race in tool.known_races(module, version)]

    deadlock = ["*test_shutdown_deadlock_pickle"]
    assert left_out("test.test_concurrent_futures", (3, 13, 0)) == deadlock
    assert left_out("test.test_concurrent_futures.test_deadlock", (3, 12, 7)) == deadlock
    assert left_out("test.test_concurrent_futures", (3, 13, 1)) == []
    assert left_out("test.test_concurrent_futures", (3, 12, 8)) == []
    assert left_out("test.test_concurrent_futures", (3, 10, 13)) == []
    assert left_out("test.test_concurrent_futures_x", (3, 13, 0)) == []
    assert left_out("test.test_threading", (3, 13, 0)) == []


def _missing(spec: str) -> str | None:
    module, _ = tool.parse_spec(spec)
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:
        found = False
    if found:
        return None
    return (
        f"Python {sys.version.split()[0]}'s test package has no {module} "
        "(pyenv's 3.11 and 3.12 builds ship a partial one; 3.10 and 3.13 have it)"
    )


#: Modules of the fast subset run on one of the two interpreters only. The executor tests (about a
#: minute of the two) exercise ``concurrent.futures``, whose thread pool is the same code on 3.10
#: and 3.13 but for a few lines: they run on 3.13, the newer. LSAUTOFIX_CPYDIFF_EVERYWHERE=1 runs
#: them everywhere too.
ONLY_ON = {"test_concurrent_futures": (3, 13)}


@pytest.mark.parametrize("spec", tool.SUBSETS["fast"])
def test_cpython_suite_fails_the_same_with_lsautofix(spec: str, tmp_path: Path) -> None:
    reason = _missing(spec)
    if reason:
        pytest.skip(reason)
    only = ONLY_ON.get(tool.parse_spec(spec)[0].removeprefix("test."))
    if only and sys.version_info[:2] != only and os.environ.get("LSAUTOFIX_CPYDIFF_EVERYWHERE") != "1":
        pytest.skip(f"{spec.partition(':')[0]} runs on Python {only[0]}.{only[1]} in CI (ONLY_ON)")
    code, report, text = run_tool(tmp_path, "--tests", spec, "--test-timeout", "60", "--reruns", "1", timeout=900)
    [module] = report["modules"]
    for mode, run in module["modes"].items():
        assert run["installed"] is (mode == "installed"), text
        assert sum(n for outcome, n in run["counts"].items() if outcome != "skip") > 1, f"{mode}: nothing ran\n{text}"
    only: list[dict[str, Any]] = module["lsautofix_only"]
    confirmed = [
        f"{d['id']}: {d['installed']} (plain: {d['plain']})" for d in only if d["verdict"].startswith("confirmed")
    ]
    assert not confirmed, "fail only with lsautofix:\n" + "\n".join(confirmed) + "\n\n" + text[-6000:]
    assert code == 0, text
