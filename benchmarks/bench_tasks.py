# mypy: disable-error-code="call-arg"
"""Task creation cost: plain ``create_task`` vs the patched one, without and with ``context=``.

    python benchmarks/bench_tasks.py [--tasks 200000] [--batch 1000]

All variants run in one event loop, interleaved batch by batch so that drift hits them alike.
"create" times only the ``create_task`` calls; "create+run" also runs the tasks (a trivial
coroutine each) to completion with ``gather``, which includes the per-step cost of ``context=``.
Figures are medians over batches, in nanoseconds per task; ratios are against plain create_task.
On Python >= 3.11 the patch is a no-op and ``context=`` is native.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from lsautofix.patches import tasks as tasks_patch
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from lsautofix.patches import tasks as tasks_patch


async def trivial() -> None:
    pass


Create = Callable[[Any], Any]


def variants(ctx: contextvars.Context) -> list[tuple[str, bool, Create]]:
    """(label, patched?, how to create a task from a coroutine)."""
    rows: list[tuple[str, bool, Create]] = [
        ("create_task(coro), unpatched", False, lambda coro: asyncio.create_task(coro)),
        ("create_task(coro), patched", True, lambda coro: asyncio.create_task(coro)),
        ("create_task(coro, context=ctx), patched", True, lambda coro: asyncio.create_task(coro, context=ctx)),
    ]
    if tasks_patch.NEEDED:  # the SDK's 3.10 fallback, for reference (gives the task a copy of ctx)
        rows.append(("ctx.run(create_task, coro), unpatched", False, lambda coro: ctx.run(asyncio.create_task, coro)))
    return rows


async def batch(create: Create, size: int) -> tuple[float, float]:
    """Seconds to create ``size`` tasks, and to create and run them."""
    coros = [trivial() for _ in range(size)]
    clock = time.perf_counter
    start = clock()
    tasks = [create(coro) for coro in coros]
    created = clock()
    await asyncio.gather(*tasks)
    return created - start, clock() - start


async def measure(n_tasks: int, size: int) -> list[tuple[str, float, float]]:
    ctx = contextvars.copy_context()
    rows = variants(ctx)
    create_ns: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    total_ns: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    for label, patched, create in rows:  # warm up
        (tasks_patch.apply if patched else tasks_patch.revert)()
        await batch(create, size)
    for _ in range(max(1, n_tasks // size)):
        for label, patched, create in rows:
            (tasks_patch.apply if patched else tasks_patch.revert)()
            created, total = await batch(create, size)
            create_ns[label].append(created / size * 1e9)
            total_ns[label].append(total / size * 1e9)
    tasks_patch.revert()
    return [(label, statistics.median(create_ns[label]), statistics.median(total_ns[label])) for label, _, _ in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200_000, help="tasks per variant (default 200000)")
    parser.add_argument("--batch", type=int, default=1_000, help="tasks per timed batch (default 1000)")
    args = parser.parse_args()

    started = time.perf_counter()
    results = asyncio.run(measure(args.tasks, args.batch))
    base_create, base_total = results[0][1], results[0][2]

    print(
        f"Python {sys.version.split()[0]}, backport {'needed' if tasks_patch.NEEDED else 'not needed (no-op)'}, "
        f"{args.tasks} tasks per variant, batches of {args.batch}"
    )
    width = max(len(label) for label, _, _ in results)
    print(f"{'variant':<{width}}  {'create ns':>9}  {'ratio':>5}  {'create+run ns':>13}  {'ratio':>5}")
    for label, create, total in results:
        print(f"{label:<{width}}  {create:9.0f}  {create / base_create:5.2f}  {total:13.0f}  {total / base_total:5.2f}")
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
