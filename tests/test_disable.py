"""LANGSMITH_AUTOFIX_DISABLE: each patch left off leaves a program at least as well off as plain Python.

Each concern has one module, so leaving one off cannot break another (the exit flush no longer
depends on the threads patch, nor the daemon upload threads on the exit patch being on).
"""

from __future__ import annotations


import pytest

from conftest import run_script, run_script_timed
from faults import HangingEndpoint
from lsautofix._lifecycle import PATCHES
from trees import assert_trees


@pytest.mark.parametrize("name", PATCHES)
def test_a_short_script_delivers_every_run_with_any_one_patch_off(collector, name):
    run_script(collector, "short_trace.py", "4", env={"LANGSMITH_AUTOFIX_DISABLE": name})
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


@pytest.mark.parametrize("name", [n for n in PATCHES if n != "exit"])
def test_exit_stays_bounded_on_a_hanging_endpoint_with_any_other_patch_off(collector, name):
    hang = HangingEndpoint()
    try:
        proc, (exit_,) = run_script_timed(
            collector, "short_trace.py", "3", marks=("result ok",),
            env={"LANGSMITH_ENDPOINT": hang.url, "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": "1",
                 "LANGSMITH_AUTOFIX_DISABLE": name},
        )  # fmt: skip
    finally:
        hang.close()
    assert proc.returncode == 0 and "result ok" in proc.stdout, proc.stderr
    assert exit_ < 1 + 2.0, exit_  # the flush timeout, then teardown (see test_faults.EXIT_BUDGET)


def test_everything_off_is_plain_python(collector):
    names = ",".join(PATCHES)
    plain = run_script(collector, "threads.py", mode="off")
    plain_shapes = len(collector.store.roots())
    collector.reset()
    off = run_script(collector, "threads.py", env={"LANGSMITH_AUTOFIX_DISABLE": names})
    assert off.stdout == plain.stdout and off.stderr == plain.stderr
    assert len(collector.store.roots()) == plain_shapes  # split exactly as plain Python splits
