"""Ray (a local ray.init()): remote functions and actor methods under their caller, nothing lost at shutdown."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import clean_environ, run_script
from trees import assert_trees, received_shapes

pytest.importorskip("ray")

N = 8
SCRIPT = "engines_ray.py"
TIMEOUT = 240  # starting a Ray node takes seconds on 2 busy cores


#: Every kind of hand-off, in turn on one cluster (starting a Ray node is most of a test's time):
#: remote functions, actor methods (sync and async), remote functions fanning out from workers,
#: two parents on the same workers, then calls made outside any trace.
KINDS = ("tasks", "actor", "async_actor", "nested", "two_parents", "untraced")


def test_every_kind_of_call_nests_on_one_cluster_and_shutdown_loses_nothing(collector):
    run_script(collector, SCRIPT, *KINDS, timeout=TIMEOUT)
    assert_trees(
        collector.store,
        ("parent_tasks", ["child"] * N),
        ("parent_actor", ["child"] * N),
        ("parent_async_actor", ["child"] * N),
        ("parent_nested", [("middle", ["child"] * (N // 2))] * 2),
        ("parent_two_parents", ["child"] * N),
        ("parent_b_two_parents", ["child"] * N),
        ("parent_untraced", ["child"] * N),
        *["child"] * N,  # the untraced calls, made after traced ones on the same workers
    )


@pytest.mark.parametrize("mode", ["runner", "import"])  # env: the test above
def test_remote_functions_nest_and_shutdown_loses_nothing(collector, mode):
    run_script(collector, SCRIPT, "tasks", mode=mode, timeout=TIMEOUT)
    assert_trees(collector.store, ("parent", ["child"] * N))


def test_without_lsautofix_the_children_are_lost_or_split(collector):
    run_script(collector, SCRIPT, "tasks", mode="off", timeout=TIMEOUT)
    shapes = received_shapes(collector.store)
    assert ("parent", ()) in shapes
    assert all(shape == ("child", ()) for shape in shapes if shape[0] != "parent")


_WITHOUT_LSAUTOFIX = """
import pickle, sys
sys.modules["lsautofix"] = None  # this worker cannot import lsautofix
function = pickle.loads(sys.stdin.buffer.read())
print(function(3, lsautofix_parent={"parent": {"langsmith-trace": "x"}}), function(4))
"""


def test_a_worker_without_lsautofix_runs_the_carrying_function_plainly(tmp_path):
    """What Ray pickles for its workers unpickles and runs where lsautofix cannot be imported."""
    import cloudpickle

    from lsautofix.integrations import ray as integration

    (tmp_path / "user_module.py").write_text("def square(i, *, power=2):\n    return i ** power\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import user_module

        carrying = integration._carrying(user_module.square)
        payload = cloudpickle.dumps(carrying)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("user_module", None)
    assert carrying is not None and "lsautofix_parent" in str(integration.inspect.signature(carrying))
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LSAUTOFIX],
        input=payload,
        capture_output=True,
        env={**clean_environ(), "PYTHONPATH": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().split() == ["9", "16"]
