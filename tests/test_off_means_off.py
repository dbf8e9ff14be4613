"""With tracing off, langsmith absent, or LANGSMITH_AUTOFIX=0: no behaviour change, no thread of ours."""

from __future__ import annotations

from typing import Optional

import pytest

from conftest import run_script

# Whether tracing is off is the SDK's reading of its variables; lsautofix then patches nothing:
# .ci/run runs these once per SDK line (see pyproject's markers).
pytestmark = pytest.mark.per_sdk

TRACING_VARS = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING")
CASES: dict[str, tuple[dict[str, Optional[str]], tuple[str, ...]]] = {
    "tracing unset": (dict.fromkeys(TRACING_VARS), ()),
    "tracing false": (dict.fromkeys(TRACING_VARS, "false"), ()),
    "autofix 0 with tracing": ({"LANGSMITH_AUTOFIX": "0"}, ()),
    "langsmith absent": ({}, ("no-langsmith",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_results_equal_and_no_lsautofix_thread(collector, case):
    env, args = CASES[case]
    plain = run_script(collector, "untraced.py", *args, mode="off", env=env)
    collector.reset()
    ours = run_script(collector, "untraced.py", *args, mode="env", env=env)
    assert ours.stdout == plain.stdout
    assert "lsautofix threads: []" in ours.stdout
    assert "[0, 1, 4, 9]" in ours.stdout and "'unset'" in ours.stdout
    if "tracing" in case and "with" not in case:
        assert collector.store.runs() == {}
