"""A LangSmith pytest-plugin suite: each test is a traced experiment row, with inputs, outputs,
reference outputs and feedback logged through ``langsmith.testing``.

Run it as LangSmith's docs suggest, in parallel with pytest-xdist::

    pytest examples/langsmith_pytest -n 4

or see what reaches LangSmith, without an account: ``lsautofix doctor -m pytest examples/langsmith_pytest -n 4``.
Each worker process sends its own runs, and the last feedback of a test is sent from the plugin's
own thread pool as the worker exits.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from langsmith import testing as t
from langsmith import traceable

QUESTIONS = [("capital of France", "Paris"), ("2 + 2", "4"), ("largest planet", "Jupiter"), ("H2O", "water"),
             ("speed of light", "299792458 m/s"), ("author of Hamlet", "Shakespeare"), ("pi to 2 places", "3.14"),
             ("boiling point of water", "100 C")]  # fmt: skip
FACTS = dict(QUESTIONS)


@traceable(name="lookup", run_type="retriever")
def lookup(term: str) -> list[str]:
    return [fact for key, fact in FACTS.items() if term in key.split()]


@traceable(name="answer", run_type="chain")
def answer(question: str) -> str:
    # The lookups run in threads: under plain Python their runs are traces of their own.
    with ThreadPoolExecutor(2) as pool:
        found = [fact for facts in pool.map(lookup, question.split()) for fact in facts]
    return found[0] if found else FACTS.get(question, "unknown")


@pytest.mark.langsmith(test_suite_name="lsautofix-example-answers")
@pytest.mark.parametrize(("question", "expected"), QUESTIONS)
def test_answer(question: str, expected: str) -> None:
    t.log_inputs({"question": question})
    t.log_reference_outputs({"answer": expected})
    result = answer(question)
    t.log_outputs({"answer": result})
    t.log_feedback(key="exact", score=float(result == expected))
    assert result == expected
