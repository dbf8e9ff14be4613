"""A LangChain runnable pipeline that fans out to threads and to processes inside its steps.

``retrieve`` looks documents up in parallel with a plain ``ThreadPoolExecutor``, calling the
``lookup`` runnable and a ``@traceable`` helper there; ``grade`` scores the documents in a
spawn-started ``ProcessPoolExecutor``. Neither the worker threads nor the worker processes inherit
the pipeline's tracing context, so without lsautofix every lookup and every score becomes a trace
of its own, and the scores, sent from processes that leave through ``os._exit``, may never arrive.
Needs ``langchain_core`` (``pip install langchain-core``); without it the script says so and exits.
"""

import multiprocessing as mp
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

try:
    from langchain_core.runnables import RunnableLambda
    from langchain_core.tracers.langchain import wait_for_all_tracers
except ImportError:
    print("this example needs langchain_core: pip install langchain-core")
    sys.exit(0)

from langsmith import traceable


@traceable(name="rank", run_type="tool")
def rank(doc: str) -> int:
    return len(doc)


def _lookup(query: str) -> str:
    doc = f"doc about {query}"
    rank(doc)
    return doc


lookup = RunnableLambda(_lookup).with_config(run_name="lookup")


def _retrieve(question: str) -> list[str]:
    terms = question.split()
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lookup.invoke, terms))


@traceable(name="score", run_type="llm")
def score(doc: str) -> float:
    return sum(map(ord, doc)) % 100 / 100


def _grade(docs: list[str]) -> list[str]:
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        scores = list(pool.map(score, docs))
    return [doc for doc, s in zip(docs, scores) if s > 0.2]


def _answer(docs: list[str]) -> str:
    return f"answer from {len(docs)} documents"


pipeline = (
    RunnableLambda(str.lower).with_config(run_name="normalize")
    | RunnableLambda(_retrieve).with_config(run_name="retrieve")
    | RunnableLambda(_grade).with_config(run_name="grade")
    | RunnableLambda(_answer).with_config(run_name="answer")
).with_config(run_name="qa_pipeline")


if __name__ == "__main__":
    print(pipeline.invoke("How do threads lose traces"))
    wait_for_all_tracers()
