"""Every private SDK name lsautofix touches still exists, named by what it is for.

lsautofix reaches langsmith's and langchain_core's internals only through ``lsautofix._sdk``; this
test resolves each of them on the Python and SDK version it runs on, so a release that renames
one fails here, by name, before it breaks anyone's traces.
"""

from __future__ import annotations

import ast
import contextvars
from pathlib import Path

import pytest

from lsautofix import _sdk

SRC = Path(__file__).resolve().parents[1] / "src" / "lsautofix"


@pytest.mark.parametrize(("module", "name", "why"), _sdk.PRIVATE_NAMES, ids=[f"{m}.{n}" for m, n, _ in _sdk.PRIVATE_NAMES])
def test_private_langsmith_name_exists(module, name, why):
    _sdk.resolve(module, name)  # raises ImportError or AttributeError naming what is gone


@pytest.mark.parametrize(("module", "name", "why"), _sdk.LANGCHAIN_NAMES, ids=[f"{m}.{n}" for m, n, _ in _sdk.LANGCHAIN_NAMES])
def test_private_langchain_core_name_exists(module, name, why):
    pytest.importorskip("langchain_core")
    _sdk.resolve(module, name)


def test_tracing_variables_are_context_variables_with_a_none_default():
    variables = _sdk.langsmith_context_vars() + _sdk.langchain_context_vars()
    assert len(variables) >= 9
    assert all(isinstance(v, contextvars.ContextVar) for v in variables)
    fresh = contextvars.Context()
    assert all(fresh.run(v.get) is None for v in variables)  # "unset" reads as None


def test_the_current_run_variable_comes_first_and_holds_a_weak_reference():
    from langsmith import tracing_context
    from langsmith.run_trees import RunTree

    first = _sdk.langsmith_context_vars()[0]
    run = RunTree(name="adapter-test")  # made, never posted: no endpoint is needed
    with tracing_context(parent=run):
        ref = first.get()
    assert callable(ref) and ref() is run


def test_the_upload_thread_daemon_flag_is_a_slot_lsautofix_can_stand_in_for():
    from langsmith.client import Client

    slot = Client.__dict__["_use_daemon_threads"]
    assert hasattr(slot, "__get__") and hasattr(slot, "__set__")


def _private_attributes_outside_the_adapter() -> list[str]:
    """``x._name`` attribute reads of SDK objects outside _sdk.py (a coarse, syntactic check)."""
    found = []
    sdk_words = ("client", "run_helpers", "run_tree", "results", "bg", "langsmith", "langchain")
    for path in SRC.rglob("*.py"):
        if path.name == "_sdk.py" or "collector" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            if node.attr.startswith("_") and not node.attr.startswith(("__", "_lsautofix")):
                base = ast.unparse(node.value)
                if any(word in base.lower() for word in sdk_words):
                    found.append(f"{path.name}:{node.lineno}: {base}.{node.attr}")
    return found


def test_no_module_but_the_adapter_reads_private_sdk_attributes():
    assert _private_attributes_outside_the_adapter() == []


def test_a_compressed_frame_between_buffer_and_request_counts_as_a_send_in_flight(collector):
    # A frame the compression thread has taken off the buffer is in neither the buffer nor a
    # future until its request ends (and is sent on that thread once the send pool is shut down):
    # a SIGTERM flush must wait for it. The thread is held exactly there: this test holds the
    # buffer's lock, which the thread takes first inside _drain_and_send_compressed (it drains
    # every 0.5 s, and at once when told data is there).
    import time

    from langsmith import Client
    from langsmith.run_trees import RunTree

    client = Client(api_url=collector.url, api_key=collector.env()["LANGSMITH_API_KEY"])
    run = RunTree(name="probe", run_type="chain", client=client, project_name="adapter-probe")
    run.post()
    deadline = time.monotonic() + 10
    while (client.compressed_traces is None or _sdk.pending(client)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.compressed_traces is not None, "the collector did not enable compressed uploads"
    assert _sdk.pending(client) == 0

    def sending_for_this_client():  # the SDK's threads get a weak reference to their client
        return [t for t in _sdk.upload_threads_sending() if t._args and t._args[0]() is client]

    assert sending_for_this_client() == []
    seen = []
    with client.compressed_traces.lock:
        client._data_available_event.set()
        while not seen and time.monotonic() < deadline:
            seen = sending_for_this_client()
            time.sleep(0.01)
    assert seen, "a thread inside _drain_and_send_compressed was not seen as sending"
    client.flush(timeout=5)
    client.cleanup()
