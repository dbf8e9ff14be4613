"""The parent run follows work into child processes, and no worker loses a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import MODES, run_script
from trees import assert_trees, received_shapes

METHODS = ("fork", "spawn", "forkserver")
POOL_LEAVES = 3 + 2 + 2 + 2 + 1 + 1 + 2 + 1  # map, imap, imap_unordered, starmap, apply, apply_async, map_async, starmap_async


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)  # every route on every Python: children get lsautofix by each
def test_every_pool_method_nests_and_terminate_loses_no_runs(collector, mode, method):
    run_script(collector, "processes.py", method, "pool", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * POOL_LEAVES))


@pytest.mark.parametrize("method", METHODS)
def test_pool_close_join_delivers_every_run(collector, method):
    run_script(collector, "processes.py", method, "pool_close")
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_reusing_its_callers_parents_nests_each_task_and_keeps_no_child_run(collector, method):
    # Two traced callers in two threads share a one-worker Pool; the worker makes each caller's
    # state once and reuses it for that caller's next tasks.
    done = run_script(collector, "processes.py", method, "interleaved")
    assert_trees(collector.store, ("parent", [("caller", ["leaf"] * 12), ("caller", ["leaf"] * 12)]))
    kept = json.loads(done.stdout.strip().splitlines()[-1])
    assert 1 <= kept["states"] <= 8 and kept["children"] == 0, kept


@pytest.mark.parametrize("method", METHODS)
def test_process_pool_executor_submit_and_map_nest(collector, method):
    run_script(collector, "processes.py", method, "executor")
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


@pytest.mark.parametrize("method", METHODS)
def test_process_target_and_subclass_nest(collector, method):
    run_script(collector, "processes.py", method, "process")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


@pytest.mark.parametrize("method", METHODS)
def test_child_leaving_by_sys_exit_or_os_exit_flushes(collector, method):
    run_script(collector, "processes.py", method, "exits")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


@pytest.mark.parametrize("method", METHODS)
def test_threads_in_processes_in_threads_keep_one_tree(collector, method):
    run_script(collector, "processes.py", method, "nested")
    assert_trees(collector.store, ("parent", [("inner", ["leaf", "leaf"])]))


def test_spawn_children_load_the_sdk_only_when_their_work_does_and_then_nest(collector, mode):
    """A spawn worker whose tasks never import langsmith does not load it (a second of CPU here),
    as in plain Python; one whose task imports it enters the parent's run at that import."""
    expected = str([(i * i, False) for i in range(4)])
    if mode == "env":  # the premise, once: plain Python's workers do not load it either
        plain = run_script(collector, "spawn_lazy_sdk.py", "spawn", mode="off")
        assert plain.stdout.strip() == expected
        collector.reset()
    fixed = run_script(collector, "spawn_lazy_sdk.py", "spawn", mode=mode)
    assert fixed.stdout.strip() == expected
    assert_trees(collector.store, ("parent", [("child", ["leaf"])] * 4 + ["thread_child"] * 2 + ["process_child"]))


def test_raw_fork_child_runs_arrive_once(collector):
    run_script(collector, "raw_fork.py")
    assert_trees(collector.store, ("parent", ["leaf", "leaf"]))


def test_main_program_leaving_by_os_exit_loses_nothing(collector, mode):
    run_script(collector, "main_os_exit.py", mode=mode)
    assert_trees(collector.store, ("parent", ["leaf"] * 3))


# --- without lsautofix: the failures these fixes are for ------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_without_lsautofix_pool_loses_or_splits_runs(collector, method):
    run_script(collector, "processes.py", method, "pool", mode="off")
    shapes = received_shapes(collector.store)
    assert shapes != [("parent", tuple([("leaf", ())] * POOL_LEAVES))]


def test_without_lsautofix_spawned_process_splits(collector):
    run_script(collector, "processes.py", "spawn", "process", mode="off")
    shapes = received_shapes(collector.store)
    # The parent arrives childless; whatever the children delivered is a trace of its own.
    assert ("parent", ()) in shapes
    assert all(shape == ("leaf", ()) for shape in shapes if shape[0] != "parent")


def test_without_lsautofix_main_os_exit_loses_every_run(collector):
    run_script(collector, "main_os_exit.py", mode="off")
    assert collector.store.runs() == {}


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_without_lsautofix_forked_process_loses_its_runs(collector):
    run_script(collector, "processes.py", "fork", "process", mode="off")
    names = sorted(r["name"] for r in collector.store.runs().values())
    assert names.count("leaf") < 2


# --- terminate() while the workers are deep in the SDK ----------------------------------------


def _terminate_busy(collector, tmp_path, method, mode="env"):
    """Run terminate_busy.py with the run ledger; return (created ids by process, seconds that
    terminate() and join() took)."""
    from lsautofix import _ledger

    ledger = tmp_path / "ledger"
    ledger.mkdir()
    env = {"LSAUTOFIX_LEDGER": str(ledger)}
    if mode == "off":  # the ledger alone would activate lsautofix (as `import lsautofix` does)
        env["LANGSMITH_AUTOFIX"] = "0"
    proc = run_script(collector, "terminate_busy.py", method, "2", "0.5", mode=mode, env=env)
    (took,) = re.findall(r"terminated in ([0-9.]+) s", proc.stdout)
    return _ledger.read(str(ledger)), float(took)


@pytest.mark.parametrize("method", METHODS)
def test_terminate_while_workers_trace_delivers_every_created_run(collector, tmp_path, method):
    # Before the SIGTERM handler moved its flush to a thread, 5 of 10 such runs lost runs and
    # waited out the whole flush timeout: the signal had stopped the worker inside the SDK,
    # holding the lock the flush needed.
    created, elapsed = _terminate_busy(collector, tmp_path, method)
    runs = collector.store.runs()
    made_in_workers = [r for r in created if r["name"] == "leaf"]
    assert len(made_in_workers) > 2 * 200  # the workers were busy when terminate() came
    missing = {r["id"] for r in created} - set(runs)
    assert not missing, f"{len(missing)} of {len(created)} created runs never arrived"
    assert len(runs) == len(created)  # and nothing arrived that no process created
    assert collector.store.duplicates() == [] and collector.store.orphans() == []
    # Killed mid-task: each worker's "busy" run, and the leaf it was in, never end. Nothing else.
    unfinished = [e for e in collector.store.consistency_errors() if "never ended" in e]
    assert unfinished == collector.store.consistency_errors()
    assert sum("'busy'" in e for e in unfinished) == 2 and len(unfinished) <= 4
    (parent,) = collector.store.roots()
    busy = {r["id"] for r in runs.values() if r["name"] == "busy"}
    assert len(busy) == 2 and all(runs[b]["parent_run_id"] == parent["id"] for b in busy)
    assert all(r["parent_run_id"] in busy for r in runs.values() if r["name"] == "leaf")
    assert elapsed < 10  # terminate() never waited out the default flush timeout (10 s)


def test_without_lsautofix_terminate_while_busy_loses_runs(collector, tmp_path):
    created, _ = _terminate_busy(collector, tmp_path, "fork", mode="off")
    assert {r["id"] for r in created} - set(collector.store.runs())


def test_forkserver_preload_gets_the_sdk_and_the_programs_list_is_kept(tmp_path):
    # The server imports the SDK once, so a child entering its parent's snapshot need not (about
    # 0.1 s a child), also a server launched after the first died; the list the program set stays
    # as it set it, and an empty one stays empty.
    script = tmp_path / "preload.py"
    script.write_text(
        "import multiprocessing as mp, multiprocessing.forkserver as fs, os, signal, sys, time\n"
        "import langsmith.run_helpers\n"
        "import lsautofix\n"
        "lsautofix.install()\n"
        "def probe(q):\n"
        "    q.put(True)\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('forkserver')\n"
        "    ctx.set_forkserver_preload(sys.argv[1:])\n"
        "    q = ctx.Queue()\n"
        "    p = ctx.Process(target=probe, args=(q,))\n"
        "    p.start(); q.get(timeout=60); p.join()\n"
        "    print(fs._forkserver._preload_modules)\n"
        "    for _ in range(2):  # the first server, then one launched after it died\n"
        "        pid = fs._forkserver._forkserver_pid\n"
        "        with open(f'/proc/{pid}/cmdline', 'rb') as f:\n"
        "            print('langsmith.run_helpers' in f.read().decode(errors='replace'))\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "        while open(f'/proc/{pid}/stat').read().rpartition(')')[2].split()[0] != 'Z':\n"
        "            time.sleep(0.01)\n"
        "        p = ctx.Process(target=probe, args=(q,))\n"
        "        p.start(); q.get(timeout=60); p.join()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    for preload, expected in ((["__main__"], "True"), ([], "False")):
        out = subprocess.run([sys.executable, str(script), *preload], env=env, capture_output=True, text=True,
                             timeout=120, cwd=tmp_path)  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == [repr(preload), expected, expected], out
