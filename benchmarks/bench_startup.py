"""Interpreter startup cost of lsautofix: the ``.pth`` line with ``LANGSMITH_AUTOFIX=1``, and ``import lsautofix``.

    python benchmarks/bench_startup.py [--python PATH] [--runs 40]

Measures the wall time of ``python -c pass`` started as a subprocess, with and without
``LANGSMITH_AUTOFIX=1`` (the installed ``lsautofix.pth`` then imports lsautofix in every process),
and of ``python -c "import lsautofix"``. The variants are interleaved run by run so that machine
noise hits them alike; the table shows medians (and minimums) and ratios against plain
``python -c pass``. Goal: both ratios <= 1.10.

It also checks that activation imports no third-party module: with ``LANGSMITH_AUTOFIX=1`` and no
``langsmith`` import, ``sys.modules`` must contain no ``wrapt``, ``asyncio`` or ``langsmith``, and
the only new modules are lsautofix's own.

The interpreter measured needs ``lsautofix.pth`` in its site-packages. Without ``--python``, the
script uses a throwaway venv, ``/tmp/lsautofix-bench-venv``, created on first use with
``python -m venv`` and ``pip install --no-deps -e <repo>`` (or, if pip cannot build offline, by
writing the two ``.pth`` files an editable install would write). That venv holds nothing else,
so the baseline is a bare interpreter.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SRC, median, table, verdict

VENV = Path("/tmp/lsautofix-bench-venv")
GOAL = 1.10


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _purelib(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env=_bare_env(),
    )
    return Path(out.stdout.strip())


def _bare_env() -> dict[str, str]:
    """No LangSmith/lsautofix variables, no PYTHONPATH: the interpreter's own site-packages only."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LANGSMITH_", "LANGCHAIN_", "LSAUTOFIX_", "PYTHON"))
    }


def build_venv(venv: Path) -> Path:
    """Create the throwaway venv with lsautofix installed editable (no dependencies)."""
    python = _venv_python(venv)
    if python.exists() and (_purelib(python) / "lsautofix.pth").exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)],
        capture_output=True, text=True, env=_bare_env(), check=False,
    )
    purelib = _purelib(python)
    if pip.returncode != 0 or not (purelib / "lsautofix.pth").exists():
        # What an editable install amounts to: src on sys.path, and the activation line.
        print(f"(pip install -e failed or wrote no lsautofix.pth; writing the .pth files by hand)\n{pip.stderr[-500:]}")
        (purelib / "_lsautofix_bench_src.pth").write_text(str(SRC) + "\n")
        shutil.copy(SRC / "lsautofix" / "lsautofix.pth", purelib / "lsautofix.pth")
    return python


def timed_run(python: Path, code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(python), "-c", code], env=env, check=True)
    return time.perf_counter() - start


MODULE_CHECK = (
    "import sys\n"
    "names = set(sys.modules)\n"
    "print(repr(sorted(names)))\n"
)


def modules(python: Path, env: dict[str, str]) -> set:
    out = subprocess.run([str(python), "-c", MODULE_CHECK], env=env, capture_output=True, text=True, check=True)
    import ast

    return set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="interpreter with lsautofix.pth installed (default: a throwaway venv)")
    parser.add_argument("--runs", type=int, default=40, help="runs per variant (default 40)")
    args = parser.parse_args()

    started = time.perf_counter()
    python = Path(args.python) if args.python else build_venv(VENV)
    pth = _purelib(python) / "lsautofix.pth"
    if not pth.exists():
        print(f"{python}: no lsautofix.pth in {pth.parent}; install lsautofix there first (pip install -e {ROOT})")
        return 2

    bare = _bare_env()
    on = dict(bare, LANGSMITH_AUTOFIX="1")
    variants = [
        ("python -c pass", "pass", bare),
        ("LANGSMITH_AUTOFIX=1 python -c pass", "pass", on),
        ('python -c "import lsautofix"', "import lsautofix", bare),
    ]
    times: dict[str, list[float]] = {label: [] for label, _, _ in variants}
    for label, code, env in variants:  # warm the page cache and .pyc files
        timed_run(python, code, env)
    for _ in range(args.runs):
        for label, code, env in variants:
            times[label].append(timed_run(python, code, env))

    version = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, env=bare, check=True).stdout.strip()
    print(f"Python {version} ({python}), {args.runs} interleaved runs per variant, wall time of the whole subprocess")
    base = median(times[variants[0][0]])
    base_min = min(times[variants[0][0]])
    rows = []
    ratios = []
    for label, _, _ in variants:
        med, low = median(times[label]), min(times[label])
        ratio = med / base
        if label != variants[0][0]:
            ratios.append(ratio)
        rows.append([label, f"{med * 1e3:.1f}", f"{low * 1e3:.1f}", f"{ratio:.3f}", f"{low / base_min:.3f}"])
    print(table(["variant", "median ms", "min ms", "ratio (median)", "ratio (min)"], rows))
    print(f"goal: ratio <= {GOAL:.2f}: {verdict(all(r <= GOAL for r in ratios))} (worst median ratio {max(ratios):.3f})")

    # What activation loads: compare sys.modules with and without the variable.
    without = modules(python, bare)
    with_on = modules(python, on)
    added = sorted(with_on - without)
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    third_party = sorted(n for n in added if n.split(".")[0] not in stdlib | {"lsautofix"})
    print()
    print("sys.modules with LANGSMITH_AUTOFIX=1, no langsmith import:")
    rows = [[name, "yes" if name in with_on else "no"] for name in ("lsautofix", "wrapt", "asyncio", "langsmith")]
    print(table(["module", "loaded"], rows))
    print(f"modules added by activation ({len(added)}): {', '.join(added) or '-'}")
    print(f"of which third-party (neither stdlib nor lsautofix): {', '.join(third_party) or 'none'}")
    ok = "lsautofix" in with_on and not ({"wrapt", "asyncio", "langsmith"} & with_on) and not third_party
    print(f"check: no third-party module, none of wrapt/asyncio/langsmith: {verdict(ok)}")

    # Where the time goes: -X importtime of lsautofix itself (cumulative, microseconds).
    cumulative = []
    for _ in range(10):
        out = subprocess.run([str(python), "-X", "importtime", "-c", "import lsautofix"],
                             env=bare, capture_output=True, text=True, check=True)
        for line in out.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "lsautofix":
                cumulative.append(int(parts[1]))
    if cumulative:
        print(f"-X importtime: import lsautofix takes {median(cumulative):.0f} us cumulative (median of 10)")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
