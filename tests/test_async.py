"""Streaming async code keeps the full tree with no manual hand-off, on 3.10 as on 3.11."""

from __future__ import annotations

import sys

import pytest

from conftest import run_script
from trees import assert_trees, received_shapes

GENERATORS = ("main", [("outer_stream", [("inner_stream", [("span_in_generator", ["leaf"] * 3)])])])
GATHER = ("main", [("outer_stream", [("inner_stream", [("span_in_generator", ["leaf"] * 2)])])] * 2)


def test_traced_async_generator_streaming_from_another(collector, mode):
    run_script(collector, "async_streams.py", "generators", mode=mode)
    assert_trees(collector.store, GENERATORS)


def test_concurrent_consumers_under_gather(collector):
    run_script(collector, "async_streams.py", "gather")
    assert_trees(collector.store, GATHER)


def test_tasks_created_inside_a_traced_async_generator(collector):
    run_script(collector, "async_streams.py", "tasks")
    assert_trees(collector.store, ("main", [("tasks_stream", ["leaf"] * 3)]))


def test_runnable_streaming_to_a_child_runnable(collector):
    pytest.importorskip("langchain_core")
    run_script(collector, "async_streams.py", "runnables")
    assert_trees(collector.store, ("parent_runnable", ["child_runnable"]))


def test_runnables_mixed_with_traceable(collector):
    pytest.importorskip("langchain_core")
    run_script(collector, "async_streams.py", "mixed")
    assert_trees(collector.store, ("main", [("parent_runnable", ["child_runnable", "leaf", "leaf"])]))


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.11 passes context= natively")
def test_without_lsautofix_python_310_loses_the_span_in_the_generator(collector):
    run_script(collector, "async_streams.py", "generators", mode="off")
    assert len(collector.store.runs()) == 7
    assert received_shapes(collector.store) != [received_shape(GENERATORS)]


def received_shape(shape):
    from trees import _normalize

    return _normalize(shape)
