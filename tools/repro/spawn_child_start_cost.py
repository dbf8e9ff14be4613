"""A spawn or forkserver child of a traced parent starts 8 to 26 times slower with lsautofix.

    python tools/repro/spawn_child_start_cost.py [spawn|forkserver]                      # plain
    LANGSMITH_AUTOFIX=1 python tools/repro/spawn_child_start_cost.py [spawn|forkserver]  # lsautofix

CPython's test_multiprocessing_spawn and _forkserver (Pool, Process, Queue and Manager classes)
take 4.1x and 2.8x as long with lsautofix (275.6 s vs 66.7 s; 219.5 s vs 79.5 s on 3.13 here),
with no failure: every process they start pays this. The child does nothing and never traces,
but ``BaseProcess._bootstrap`` (src/lsautofix/patches/processes.py, ``_process_bootstrap``)
enters the parent's snapshot through ``context.run_remote`` (src/lsautofix/context.py), which
imports ``langsmith.run_helpers`` (and with it some 670 modules) before the target runs. Untraced,
the stowaway's ``install_in_child`` alone costs less (wrapt and the patches: about +70 ms, +105
modules, measured here). Measured on this machine (2 busy cores), 3.13, per process:
spawn 77 ms plain, 656 ms with lsautofix; forkserver 19 ms and 482 ms (3.10: 59/612, 18/478).
No network: the tracing context is a project name; nothing is sent.
"""

import multiprocessing
import sys
import time

import langsmith  # lsautofix applies its patches when langsmith is imported


def report(queue) -> None:
    queue.put(("langsmith.run_helpers" in sys.modules, len(sys.modules)))


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else "spawn"
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    n = 5
    with langsmith.tracing_context(project_name="repro"):  # any tracing state; nothing is sent
        started = time.perf_counter()
        for _ in range(n):
            process = ctx.Process(target=report, args=(queue,))
            process.start()
            process.join()
        per_process = (time.perf_counter() - started) / n
    results = [queue.get() for _ in range(n)]
    imported, modules = results[-1]
    print(
        f"{method}: {per_process * 1000:.0f} ms per process (start to exit); in the child: "
        f"{modules} modules, langsmith.run_helpers imported: {imported}"
    )
    sys.exit(1 if imported else 0)
