"""Instructions per task, counted by valgrind's callgrind: the thread patches' cost without the noise.

    python benchmarks/bench_instructions.py [--tasks 4000] [--collector auto|mini]

Timings of a 10 us thread hand-off on a small VM move by more than lsautofix adds (see
bench_threads.py); instruction counts do not: the same program counts the same within about 0.05%,
whatever else the machine is doing. Each variant runs twice under ``valgrind --tool=callgrind``, with
N and 2N tasks, in a fresh interpreter inside a ``@traceable`` parent pointed at a local collector;
the difference divided by N is the count per task, start-up and the parent's own run cancelled out.

Variants: plain (stdlib ThreadPoolExecutor), lsautofix (installed), ContextThreadPoolExecutor (the
SDK's manual fix, no lsautofix). Metrics: ``submit(f).result()`` one after another, and
``list(ex.map(f, range(N)))`` per item, with an untraced no-op ``f``.

What it does not count: the kernel (futex waits, context switches) and time spent waiting. Under
valgrind the threads run one at a time, so a hand-off costs no scheduling delay; what is counted is
the work each variant adds, in the submitter and in the worker, user space only. Needs valgrind
(Debian's package) and the real interpreter binary (a pyenv shim is resolved through sys.executable).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_collector_option, child_env, collector, table  # noqa: E402

CHILD = r"""
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


def count(python: str, script: Path, env: dict[str, str], variant: str, metric: str, n: int, out: Path) -> int:
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, str(script), variant, metric, str(n)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or not found:
        raise SystemExit(f"{variant} {metric} {n}: valgrind failed\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=4000, help="N: each variant runs N and 2N tasks (default 4000)")
    add_collector_option(parser)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("bench_instructions: skipped, valgrind is not installed (Debian: apt-get install valgrind)")
        return
    # valgrind follows no exec, so a shim (a script) will not do; a venv's symlink will, and keeps
    # the venv, which its target (the base interpreter) does not.
    python = sys.executable if sys.prefix != sys.base_prefix else os.path.realpath(sys.executable)
    import langsmith

    with tempfile.TemporaryDirectory() as tmp, collector(args.collector) as c:
        script = Path(tmp) / "tasks.py"
        script.write_text(CHILD)
        env = child_env(c.env())  # no LANGSMITH_AUTOFIX: the lsautofix variant installs itself
        per_task: dict[tuple[str, str], float] = {}
        for metric in METRICS:
            for variant in VARIANTS:
                low = count(python, script, env, variant, metric, args.tasks, Path(tmp) / "low.out")
                high = count(python, script, env, variant, metric, 2 * args.tasks, Path(tmp) / "high.out")
                per_task[variant, metric] = (high - low) / args.tasks
                print(f"  {metric:13s} {variant:26s} {per_task[variant, metric]:9.0f} instructions per task", flush=True)
    print(f"\nPython {sys.version.split()[0]}, langsmith {langsmith.__version__}, N = {args.tasks}")
    rows = []
    for metric in METRICS:
        plain = per_task["plain", metric]
        ctpe = per_task["ContextThreadPoolExecutor", metric] - plain
        for variant in VARIANTS:
            value = per_task[variant, metric]
            added = value - plain
            rows.append([metric, variant, f"{value:.0f}", f"{value / plain:.2f}", f"{added:+.0f}",
                         "" if variant == "plain" else f"{added / ctpe:.2f}"])  # fmt: skip
    print(table(["metric", "variant", "instructions/task", "x plain", "added", "added / CTPE's"], rows))


if __name__ == "__main__":
    main()
