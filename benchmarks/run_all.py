"""Run every benchmark script in this directory with the current interpreter and print all tables.

    python benchmarks/run_all.py [--only NAME ...] [--collector auto|mini]

Runs ``bench_*.py`` then ``measure_*.py`` (files starting with ``_`` are helpers), each in its own
process, streaming its output under a header, then prints a summary: seconds and exit status per
script. Exits non-zero if any script failed. Each script is meant to finish in about a minute.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_startup", "bench_threads", "bench_tasks", "bench_pool", "bench_engines", "measure_deps"]


def scripts() -> list[Path]:
    found = sorted(HERE.glob("bench_*.py")) + sorted(HERE.glob("measure_*.py"))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.stem, len(ORDER)), p.name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (stem or file name)")
    parser.add_argument("--collector", choices=("auto", "mini"),
                        help="collector for the traced benchmarks (sets LSAUTOFIX_BENCH_COLLECTOR)")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.collector:
        env["LSAUTOFIX_BENCH_COLLECTOR"] = args.collector
    selected = scripts()
    if args.only:
        wanted = {Path(n).stem for n in args.only}
        selected = [p for p in selected if p.stem in wanted]
    print(f"{sys.executable} (Python {sys.version.split()[0]}), {len(selected)} scripts", flush=True)
    summary = []
    for path in selected:
        print(f"\n=== {path.name} " + "=" * max(0, 70 - len(path.name)), flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(path)], env=env, check=False).returncode
        summary.append((path.name, time.perf_counter() - start, code))
    print("\n=== summary " + "=" * 62)
    width = max(len(name) for name, _, _ in summary) if summary else 10
    for name, seconds, code in summary:
        print(f"{name:<{width}}  {seconds:6.1f} s  {'ok' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if all(code == 0 for _, _, code in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
