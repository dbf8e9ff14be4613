"""Instructions per task, counted by valgrind's callgrind, in the submitting thread and in the worker.

    python benchmarks/bench_instructions.py [--tasks 2000] [--repeat 3] [--collector auto|mini]

Timings of a 10 us thread hand-off on a small VM move by more than lsautofix adds (see
bench_threads.py); instruction counts move far less. Each variant runs under ``valgrind
--tool=callgrind --separate-threads=yes``, with N and 2N tasks, in a fresh interpreter inside a
``@traceable`` parent pointed at a local collector; the difference divided by N is the count per
task, start-up and the parent's own run cancelled out. ``gc.freeze()`` after the warm-up keeps the
SDK's heap out of the collections the counted tasks trigger (one full collection of it landing in
one count and not the other moved a total by 2,000 instructions a task).

Counted apart, because they differ in how well they repeat:

- the worker (the executor's one thread: a task's run side). The same within about 1%.
- the submitter (the main thread: ``submit``, ``result()``, ``map``'s loop). Whether
  ``result()`` finds the future done or has to wait depends on where the scheduler switched, and the
  waiting path is about 2,000 instructions longer: so the submitter moves by a few percent from
  run to run, and the table gives the median of ``--repeat`` runs and the range.
- the SDK's background threads are left out: they wake on timers, so what they count grows with
  the wall time valgrind takes, not with the tasks.

Variants: plain (stdlib ThreadPoolExecutor), lsautofix (installed), ContextThreadPoolExecutor (the
SDK's manual fix, no lsautofix). Metrics: ``submit(f).result()`` one after another, and
``list(ex.map(f, range(N)))`` per item, with an untraced no-op ``f``.

What it does not count: the kernel (futex waits, context switches) and time spent waiting. Under
valgrind the threads run one at a time, so a hand-off costs no scheduling delay. Needs valgrind
(Debian's package) and the real interpreter binary (a pyenv shim is resolved through
sys.executable). About 12 minutes per repeat at ``--tasks 2000`` on a 2-core VM (12 runs under
valgrind); ``--repeat 1`` for a first look.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_collector_option, child_env, collector, table  # noqa: E402

CHILD = r"""
import gc
import sys
from concurrent.futures import ThreadPoolExecutor

variant, metric, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if variant == "lsautofix":
    import lsautofix

    lsautofix.install()
from langsmith import traceable
from langsmith.utils import ContextThreadPoolExecutor


def f(*args):
    return None


@traceable(name="parent")
def parent():
    executor = (ContextThreadPoolExecutor if variant == "ContextThreadPoolExecutor" else ThreadPoolExecutor)(max_workers=1)
    executor.submit(f).result()  # the worker thread exists before the counted tasks
    list(executor.map(f, range(10)))
    gc.collect()
    gc.freeze()
    if metric == "submit+result":
        for _ in range(n):
            executor.submit(f).result()
    else:
        list(executor.map(f, range(n)))
    executor.shutdown()


parent()
"""

VARIANTS = ["plain", "lsautofix", "ContextThreadPoolExecutor"]
METRICS = ["submit+result", "map"]
SIDES = ["submitter", "worker"]


def count(
    python: str, script: Path, env: dict[str, str], variant: str, metric: str, n: int, out: Path
) -> dict[str, int]:
    """Instructions in the submitting thread and in the worker thread of one run."""
    for old in out.parent.glob(out.name + "*"):
        old.unlink()
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
         python, str(script), variant, metric, str(n)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    per_thread: dict[int, int] = {}
    for path in out.parent.glob(out.name + "-*"):
        found = re.search(r"^summary: (\d+)", path.read_text(errors="replace"), re.MULTILINE)
        if found:
            per_thread[int(path.name.rsplit("-", 1)[1])] = int(found.group(1))
    if proc.returncode != 0 or 1 not in per_thread or len(per_thread) < 2:
        raise SystemExit(f"{variant} {metric} {n}: valgrind failed\n{proc.stderr[-2000:]}")
    # Thread 1 is the main thread. The worker is the busiest of the others: at 500 tasks and more
    # it counts several times what an idle SDK thread does; checked, not assumed.
    others = sorted((v for k, v in per_thread.items() if k != 1), reverse=True)
    if len(others) > 1 and others[0] < 2 * others[1]:
        raise SystemExit(f"{variant} {metric} {n}: no thread stands out as the worker: {per_thread}")
    return {"submitter": per_thread[1], "worker": others[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="N: each variant runs N and 2N tasks (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant; medians are shown (default 3)")
    add_collector_option(parser)
    args = parser.parse_args()
    if args.tasks < 500 or args.repeat < 1:
        parser.error("--tasks must be at least 500 (the worker must stand out), --repeat at least 1")
    if shutil.which("valgrind") is None:
        print("bench_instructions: skipped, valgrind is not installed (Debian: apt-get install valgrind)")
        return
    # valgrind follows no exec, so a shim (a script) will not do; a venv's symlink will, and keeps
    # the venv, which its target (the base interpreter) does not.
    python = sys.executable if sys.prefix != sys.base_prefix else os.path.realpath(sys.executable)
    import langsmith

    samples: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, collector(args.collector) as c:
        script = Path(tmp) / "tasks.py"
        script.write_text(CHILD)
        env = child_env(c.env())  # no LANGSMITH_AUTOFIX: the lsautofix variant installs itself
        for round_ in range(args.repeat):
            for metric in METRICS:
                for variant in VARIANTS:  # interleaved, so that a slow spell of the machine hits all three
                    low = count(python, script, env, variant, metric, args.tasks, Path(tmp) / "low.out")
                    high = count(python, script, env, variant, metric, 2 * args.tasks, Path(tmp) / "high.out")
                    got = {side: (high[side] - low[side]) / args.tasks for side in SIDES}
                    for side in SIDES:
                        samples.setdefault((variant, metric, side), []).append(got[side])
                    print(f"  run {round_ + 1}: {metric:13s} {variant:26s} submitter {got['submitter']:8.0f}"
                          f"  worker {got['worker']:8.0f}", flush=True)  # fmt: skip
    print(f"\nPython {sys.version.split()[0]}, langsmith {langsmith.__version__}, N = {args.tasks}, "
          f"{args.repeat} run(s); medians, [min-max] where runs differ")  # fmt: skip

    def med(variant: str, metric: str, side: str) -> float:
        return statistics.median(samples[variant, metric, side])

    def spread(variant: str, metric: str, side: str) -> str:
        values = samples[variant, metric, side]
        return f"{med(variant, metric, side):.0f}" + (
            f" [{min(values):.0f}-{max(values):.0f}]" if len(values) > 1 else ""
        )

    rows = []
    for metric in METRICS:
        plain = med("plain", metric, "submitter") + med("plain", metric, "worker")
        ctpe = med("ContextThreadPoolExecutor", metric, "submitter") + med(
            "ContextThreadPoolExecutor", metric, "worker"
        )
        for variant in VARIANTS:
            total = med(variant, metric, "submitter") + med(variant, metric, "worker")
            added = [med(variant, metric, side) - med("plain", metric, side) for side in SIDES]
            rows.append([metric, variant, spread(variant, metric, "submitter"), spread(variant, metric, "worker"),
                         f"{total:.0f}", f"{total / plain:.3f}", f"{added[0]:+.0f} / {added[1]:+.0f}",
                         "" if variant == "plain" else f"{(total - plain) / (ctpe - plain):.2f}"])  # fmt: skip
    print(table(["metric", "variant", "submitter", "worker", "total", "x plain", "added (submitter / worker)",
                 "added / CTPE's"], rows))  # fmt: skip


if __name__ == "__main__":
    main()
