"""Fork, signals and exit: never hang, never lose, never slow the program down.

Each test is a user program run against the collector, with lsautofix and, where the comparison
is the point, as plain Python.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Callable, Optional

import pytest

from conftest import SCENARIOS, clean_environ, command, run_script
from faults import FaultProxy
from trees import assert_trees, received_shapes, store_is_clean

METHODS = ("fork", "spawn", "forkserver")


def _environ(collector, mode: str, **extra: str) -> dict[str, str]:
    env = clean_environ(collector.env())
    if mode != "off":
        env["LANGSMITH_AUTOFIX"] = "1"
    env.update(extra)
    return env


# --- fork children --------------------------------------------------------------------------


def test_fork_children_leaving_by_sys_exit_do_not_hang_and_deliver_their_runs(collector):
    proc = run_script(collector, "fork_exit.py", "traced", timeout=60)
    assert proc.stdout.count("child exit status 0") == 2, proc.stdout + proc.stderr
    assert_trees(collector.store, ("parent", ["leaf"]), ("child_work", ["leaf"]), ("child_work", ["leaf"]))


def test_fork_children_that_never_trace_exit_at_once(collector):
    proc = run_script(collector, "fork_exit.py", "quiet", timeout=60)
    assert proc.stdout.count("child exit status 0") == 2, proc.stdout + proc.stderr
    assert_trees(collector.store, ("parent", ["leaf"]))


def test_fork_children_leave_though_a_thread_of_lsautofix_was_importing_at_the_fork(collector):
    # A module being imported when the parent forks stays locked for ever in the child. The SIGTERM
    # watcher used to import ctypes as it started, and a child's exit imported it too: 4 of 120
    # fork_exit.py runs hung under load. The scenario holds every import of lsautofix's threads.
    proc = run_script(collector, "fork_during_import.py", timeout=90)
    assert proc.stdout.count("child exit status 0") == 2, proc.stdout + proc.stderr
    assert_trees(collector.store, ("parent", []), ("child_work", []))


def test_fork_child_has_the_threads_plain_python_gives_it(collector):
    plain = run_script(collector, "fork_exit.py", "threads", mode="off", timeout=60)
    fixed = run_script(collector, "fork_exit.py", "threads", timeout=60)
    assert "child threads: ['MainThread']" in plain.stdout
    assert fixed.stdout == plain.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn_stop(collector, mode: str, requests: int, worker: str = "sync", graceful: int = 30, workers: int = 2,
                   then: Optional[Callable[[int], None]] = None) -> float:  # fmt: skip
    """Serve ``requests`` requests from `gunicorn --preload -w workers -k worker` (then call ``then``
    with its port), SIGTERM the master, time its stop."""
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", str(workers), "-k", worker,
           "--graceful-timeout", str(graceful), "-b", f"127.0.0.1:{port}", "gunicorn_app:app"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=SCENARIOS, env=_environ(collector, mode), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/warm", timeout=5) as answer:
                    answer.read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"gunicorn did not start: {proc.communicate(timeout=5)}")
                time.sleep(0.1)
        for i in range(requests - 1):
            _get(port, f"/r{i}")
        if then is not None:
            then(port)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        return time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _get(port: int, path: str) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        assert answer.read() == f"hello {path}".encode()


def test_gunicorn_preload_stops_as_fast_as_plain_and_delivers_every_run(collector):
    pytest.importorskip("gunicorn")
    plain = _gunicorn_stop(collector, "off", 6)
    collector.reset()
    fixed = _gunicorn_stop(collector, "env", 6)
    assert fixed <= plain + 1.0, (plain, fixed)
    assert_trees(collector.store, "boot", *["handle"] * 6)


def test_gunicorn_preload_with_a_gevent_worker_serves_on_after_its_uploads_and_stops_as_plain(collector):
    """A gevent worker monkey-patches ``threading`` and ``queue`` after the fork, when lsautofix has
    already given the inherited client fresh state: that state must work once green. Before, the
    worker's first upload failed with a TypeError; with that fixed, the worker froze after its
    first upload (a greenlet waited on the real ``SimpleQueue`` of a send pool made at the fork),
    and later requests went unanswered.

    The stop is compared with gunicorn's own bound: with the SDK preloaded, a gevent worker
    sometimes misses the master's SIGTERM and is killed at the graceful timeout, with or without
    lsautofix (plain Python also loses the worker's runs).
    """
    pytest.importorskip("gunicorn")
    pytest.importorskip("gevent")

    def after_the_first_uploads(port: int) -> None:
        deadline = time.monotonic() + 10
        while len(collector.store.runs()) < 1 + 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        for i in range(6):
            _get(port, f"/again{i}")

    plain = _gunicorn_stop(collector, "off", 6, "gevent", graceful=3, workers=1)
    collector.reset()
    fixed = _gunicorn_stop(collector, "env", 6, "gevent", graceful=3, workers=1, then=after_the_first_uploads)
    assert plain < 3 + 2.0 and fixed < 3 + 2.0, (plain, fixed)
    assert_trees(collector.store, "boot", *["handle"] * 12)


# --- signals --------------------------------------------------------------------------------


def _terminate_seconds(proc: subprocess.CompletedProcess[str]) -> float:
    return float(proc.stdout.split()[2])


@pytest.mark.parametrize("method", METHODS)
def test_with_pool_ending_while_workers_hold_the_gil_in_a_c_call_is_not_delayed(collector, method):
    # No Python runs in such a worker until the call returns: nothing can be flushed there, and
    # the parent kills it after a moment instead of waiting for the call (8 s here).
    plain = run_script(collector, "busy_terminate.py", method, "8", "gil", mode="off", timeout=120)
    collector.reset()
    fixed = run_script(collector, "busy_terminate.py", method, "8", "gil", timeout=120)
    assert _terminate_seconds(fixed) <= _terminate_seconds(plain) + 0.5, (plain.stdout, fixed.stdout)
    shapes = received_shapes(collector.store)
    assert len(shapes) == 1 and shapes[0][0] == "parent" and store_is_clean(collector.store), shapes


@pytest.mark.parametrize("method", METHODS)
def test_with_pool_ending_while_workers_are_in_a_gil_free_c_call_flushes_them_promptly(collector, method):
    plain = run_script(collector, "busy_terminate.py", method, "8", "nogil", mode="off", timeout=120)
    collector.reset()
    fixed = run_script(collector, "busy_terminate.py", method, "8", "nogil", timeout=120)
    assert _terminate_seconds(fixed) <= _terminate_seconds(plain) + 0.5, (plain.stdout, fixed.stdout)
    assert_trees(collector.store, ("parent", ["leaf"] * 4))


def _sigterm(collector, mode: str, *args: str, wait_after_ready: float = 0.0) -> tuple[int, float, str]:
    proc = subprocess.Popen(command("sigterm_idle.py", args, "env"), cwd=SCENARIOS, env=_environ(collector, mode),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
        time.sleep(wait_after_ready)
        started = time.monotonic()
        if "cthread" in args:  # the kernel tries the thread a pid names first
            os.kill(int(proc.stdout.readline()), signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, time.monotonic() - started, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("how", ["sleep", "nogil"])
def test_sigterm_with_no_handler_delivers_the_queue_then_dies_of_sigterm(collector, how):
    status, took, err = _sigterm(collector, "env", "32", how)
    assert status == -signal.SIGTERM, (status, err)
    assert took < 5.0, took
    assert_trees(collector.store, *["job"] * 32)


def test_sigterm_taken_by_a_thread_without_python_state_still_delivers_and_dies(collector):
    # The thread the kernel gives SIGTERM to may be one a C library started (zstd's, BLAS's) while
    # the main thread waits on a lock, which no signal given to another thread interrupts: plain
    # Python dies at once; lsautofix must still wake its watcher, flush and die, not wait forever.
    plain, plain_took, _ = _sigterm(collector, "off", "32", "cthread")
    assert plain == -signal.SIGTERM
    collector.reset()
    status, took, err = _sigterm(collector, "env", "32", "cthread")
    assert status == -signal.SIGTERM, (status, err)
    assert took < plain_took + 5.0, (plain_took, took)
    assert_trees(collector.store, *["job"] * 32)


def test_a_program_setting_and_unsetting_its_own_wakeup_fd_sees_plain_values_and_sigterm_still_delivers(collector):
    # lsautofix wakes its watcher through the interpreter's signal wakeup fd. A program that sets
    # its own (asyncio, trio: trio warns if it finds one set) must see what plain Python shows,
    # and once it unsets it, a SIGTERM that only the wakeup fd can see (taken by a thread without
    # Python state while the main thread waits on a lock) must still deliver and kill.
    plain, _, plain_err = _sigterm(collector, "off", "32", "cthread", "wakeup")
    assert plain == -signal.SIGTERM and "wakeup: -1 True" in plain_err, plain_err
    collector.reset()
    status, took, err = _sigterm(collector, "env", "32", "cthread", "wakeup")
    assert status == -signal.SIGTERM and "wakeup: -1 True" in err, (status, err)
    assert took < 5.0, took
    assert_trees(collector.store, *["job"] * 32)


def test_a_handler_installed_after_tracing_began_gets_sigterm_alone(collector):
    # Tracing began first (lsautofix took SIGTERM), then the program installed its own handler, as
    # gunicorn's master does: the handler decides, and the process is not flushed and killed.
    script = (
        "import os, signal, sys, time\n"
        "from langsmith import traceable\n"
        "traceable(name='job')(lambda: 1)()\n"
        "signal.signal(signal.SIGTERM, lambda *a: (print('handled', flush=True), sys.exit(7)))\n"
        "print('ready', flush=True)\n"
        "for _ in range(600):\n"  # short sleeps: see tests/runner_cases/wait_for_signal.py
        "    time.sleep(0.1)\n"
    )
    for mode in ("off", "env"):
        proc = subprocess.Popen([sys.executable, "-c", script], env=_environ(collector, mode), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            assert (proc.returncode, out.strip()) == (7, "handled"), (mode, proc.returncode, out, err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_sigterm_while_threads_churn_never_crashes_the_process(collector):
    # The watcher used to be woken by faulthandler dumping every thread's traceback from the
    # signal handler; reading other threads' frames while they change crashed 6 of 60 such
    # processes with SIGSEGV on 3.13 (CPython issue 116008). The wakeup fd writes one byte.
    # 12 rounds catch that rate 7 times in 10: 12 on 3.13, where it crashed, and 6 on the others.
    statuses = []
    for _ in range(ROUNDS := 12 if sys.version_info >= (3, 13) else 6):
        proc = subprocess.Popen(command("sigterm_churn.py", ["12"], "env"), cwd=SCENARIOS,
                                env=_environ(collector, "env"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)  # fmt: skip
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
            statuses.append(proc.returncode)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert statuses == [-signal.SIGTERM] * ROUNDS, statuses
    assert_trees(collector.store, *["job"] * ROUNDS)


def test_sigterm_during_a_c_call_holding_the_gil_waits_for_the_call(collector):
    # The documented limit (README, "SIGTERM"): no Python can run until the call returns, so the
    # queue is delivered and the process dies of SIGTERM only then; plain Python dies at once.
    status, took, err = _sigterm(collector, "env", "32", "gil")
    assert status == -signal.SIGTERM, (status, err)
    assert_trees(collector.store, *["job"] * 32)


def test_sigterm_without_lsautofix_loses_the_queue(collector):
    status, _, _ = _sigterm(collector, "off", "32", "sleep")
    assert status == -signal.SIGTERM
    assert len(collector.store.runs()) < 32


def test_sigterm_with_nothing_queued_is_as_fast_as_plain(collector):
    plain = min(_sigterm(collector, "off", "4", "none")[1] for _ in range(3))
    fixed = [_sigterm(collector, "env", "4", "none") for _ in range(3)]
    assert all(status == -signal.SIGTERM for status, _, _ in fixed)
    assert min(took for _, took, _ in fixed) <= plain + 0.05, (plain, fixed)


# --- exit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_pool_apply_loop_against_a_slow_endpoint_is_not_slowed(collector, method):
    proxy = FaultProxy(collector.url, delay=0.5)
    try:
        env = {"LANGSMITH_ENDPOINT": proxy.url}
        plain = run_script(collector, "pool_apply_loop.py", method, "10", mode="off", env=env, timeout=120)
        fixed = run_script(collector, "pool_apply_loop.py", method, "10", env=env, timeout=120)
    finally:
        proxy.close()
    took = {name: float(p.stdout.split()[2]) for name, p in (("plain", plain), ("fixed", fixed))}
    # A round trip to the endpoint on this path costs 0.5 s per apply (5 s for the loop); the loop
    # itself takes milliseconds, so the allowance is absolute as well as relative.
    assert took["fixed"] <= 1.2 * took["plain"] + 0.25, took


def test_runs_created_late_in_exit_are_delivered(collector, mode):
    run_script(collector, "exit_late_runs.py", mode=mode)
    # The thread started inside main() carries main's run (it outlives it, and nests all the same).
    assert_trees(collector.store, ("main", ["late"] * 3), "late", "late")


def test_daemon_threads_still_tracing_at_exit_are_not_blamed_on_the_endpoint(collector):
    proc = run_script(collector, "exit_daemon_threads.py")
    assert "slow or unreachable" not in proc.stderr, proc.stderr
    assert ("main", ()) in [(name, ()) for name, _ in received_shapes(collector.store)]


# --- clients --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["context", pytest.param("extra", marks=pytest.mark.per_sdk)])  # SDK API
@pytest.mark.parametrize("method", METHODS)
def test_a_custom_client_follows_work_into_child_processes(collector, method, how):
    from lsautofix_collector import Collector

    with Collector() as tenant:
        key = tenant.env()["LANGSMITH_API_KEY"]
        run_script(collector, "custom_client.py", method, tenant.url, key, how, timeout=120)
        assert_trees(tenant.store, ("parent", ["leaf", "leaf"]))
    assert collector.store.runs() == {}


@pytest.mark.parametrize("method", METHODS)
def test_with_pool_ending_right_after_its_work_never_hangs_and_loses_nothing(collector, method):
    # Seen before: 1 end in 25 hung (the handler, inside lsautofix's bootstrap wrapper, waited for
    # a Python call that a worker blocked in sem_wait never makes), and on 3.12 a worker already
    # in threading._shutdown could not start the flush thread and died with its runs.
    # Spawn starts every worker with a fresh import of the SDK (a second of CPU each here): fewer
    # rounds; the forkserver, which preloads it, ends as many workers as fork.
    rounds = 4 if method == "spawn" else 8
    run_script(collector, "pool_rounds.py", method, str(rounds), timeout=120)
    assert_trees(collector.store, *[("round", ["leaf"] * 4)] * rounds)
