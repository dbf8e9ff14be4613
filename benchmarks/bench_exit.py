"""What lsautofix's exit, fork and SIGTERM handling costs a program that stops: never a stall.

    python benchmarks/bench_exit.py [--rounds 3] [--only NAME ...]

Each measurement runs a user program from tests/scenarios/ as plain Python and with
``LANGSMITH_AUTOFIX=1`` (the installed .pth), interleaved, and prints the medians side by side:

  pool C call (GIL held)  ``with Pool()`` ends while both workers are in ``sum(range(...))`` (8 s):
                          seconds from the end of the block to its return. Goal: <= plain + 0.5 s.
  pool C call (GIL free)  the same in ``hashlib.pbkdf2_hmac``, which releases the GIL (the
                          workers' runs are flushed). Goal: <= plain + 0.5 s.
  apply loop, 0.5 s endpoint
                          10 x ``pool.apply(handle, (i,))`` in a traced parent, the endpoint
                          answering every request 0.5 s late. Goal: <= 1.2x plain. Run
                          3 x --rounds times (the loop lasts about 6 ms).
  gunicorn --preload stop gunicorn -w 2 --preload serving 6 traced requests, SIGTERM to the master:
                          seconds until it exited, and runs delivered. Goal: <= plain + 1 s, all runs.
  SIGTERM, nothing queued a traced process waiting in time.sleep, nothing queued: seconds from
                          SIGTERM to its death. Goal: as fast as plain (+ 0.05 s).

Needs lsautofix installed with its .pth in this interpreter, and gunicorn for its row.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, child_env, collector, median, table, verdict  # noqa: E402

SCENARIOS = ROOT / "tests" / "scenarios"
sys.path.insert(0, str(ROOT / "tests"))


def _env(c: Any, autofix: bool, **extra: str) -> dict[str, str]:
    env = child_env(c.env())
    env["LANGSMITH_AUTOFIX"] = "1" if autofix else "0"
    env.update(extra)
    return env


def _script(c: Any, autofix: bool, *args: str, **extra: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=SCENARIOS, env=_env(c, autofix, **extra),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def pool_c_call(c: Any, autofix: bool, how: str) -> float:
    out = _script(c, autofix, "busy_terminate.py", "fork", "8", how)
    return float(out.split()[2])


def apply_loop(c: Any, autofix: bool) -> float:
    from faults import FaultProxy

    proxy = FaultProxy(c.url, delay=0.5)
    try:
        out = _script(c, autofix, "pool_apply_loop.py", "fork", "10", LANGSMITH_ENDPOINT=proxy.url)
    finally:
        proxy.close()
    return float(out.split()[2])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_stop(c: Any, autofix: bool) -> tuple[float, int]:
    c.reset()
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "-b", f"127.0.0.1:{port}", "gunicorn_app:app"]
    proc = subprocess.Popen(cmd, cwd=SCENARIOS, env=_env(c, autofix), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        for i in range(6):
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/r{i}", timeout=5) as answer:
                        answer.read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("gunicorn did not start")
                    time.sleep(0.1)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.3)
    return took, len(c.store.runs())


def sigterm_idle(c: Any, autofix: bool) -> float:
    proc = subprocess.Popen([sys.executable, "sigterm_idle.py", "4", "none"], cwd=SCENARIOS, env=_env(c, autofix),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit("sigterm_idle.py did not start")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return time.monotonic() - started


def _pair(rounds: int, measure: Callable[[bool], Any]) -> tuple[list[Any], list[Any]]:
    plain, fixed = [], []
    for _ in range(rounds):  # interleaved: the machine's load drifts
        plain.append(measure(False))
        fixed.append(measure(True))
    return plain, fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=("gil", "nogil", "apply", "gunicorn", "sigterm"))
    args = parser.parse_args()
    wanted = set(args.only or ("gil", "nogil", "apply", "gunicorn", "sigterm"))
    rows: list[list[Any]] = []
    with collector() as c:
        for key, name in (("gil", "pool C call (GIL held)"), ("nogil", "pool C call (GIL free)")):
            if key in wanted:
                plain, fixed = _pair(args.rounds, lambda on, how=key: pool_c_call(c, on, how))
                p, f = median(plain), median(fixed)
                rows.append([name, f"{p:.2f} s", f"{f:.2f} s", f"+{f - p:.2f} s", "<= plain + 0.5 s",
                             verdict(f <= p + 0.5)])  # fmt: skip
        if "apply" in wanted:
            # The loop takes about 6 ms, so one scheduling hiccup moves a run by 20%: three times
            # the rounds of the other rows.
            plain, fixed = _pair(3 * args.rounds, lambda on: apply_loop(c, on))
            p, f = median(plain), median(fixed)
            rows.append(["apply loop, 0.5 s endpoint", f"{p * 1e3:.2f} ms", f"{f * 1e3:.2f} ms", f"{f / p:.2f}x", "<= 1.2x",
                         verdict(f <= 1.2 * p)])  # fmt: skip
        if "gunicorn" in wanted:
            try:
                import gunicorn  # noqa: F401
            except ImportError:
                print("gunicorn is not installed: its row is skipped")
            else:
                plain, fixed = _pair(args.rounds, lambda on: gunicorn_stop(c, on))
                p, f = median(t for t, _ in plain), median(t for t, _ in fixed)
                delivered = min(n for _, n in fixed)
                rows.append(["gunicorn --preload stop", f"{p:.2f} s", f"{f:.2f} s", f"+{f - p:.2f} s",
                             "<= plain + 1 s, 7/7 runs", f"{verdict(f <= p + 1.0 and delivered == 7)} ({delivered}/7)"])
        if "sigterm" in wanted:
            plain, fixed = _pair(max(args.rounds, 5), lambda on: sigterm_idle(c, on))
            p, f = median(plain), median(fixed)
            rows.append(["SIGTERM, nothing queued", f"{p:.3f} s", f"{f:.3f} s", f"+{f - p:.3f} s", "<= plain + 0.05 s",
                         verdict(f <= p + 0.05)])  # fmt: skip
    print(table(["measure", "plain", "lsautofix", "difference", "goal", "verdict"], rows))


if __name__ == "__main__":
    main()
