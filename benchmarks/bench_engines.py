"""joblib (loky) and Dask with lsautofix: untraced cost, and traced wall time against the manual fix.

    python benchmarks/bench_engines.py [--rounds 7] [--engines joblib dask] [--tasks 200]

(a) Untraced. ``langsmith`` is imported, tracing is on (to the local collector) but nothing is
    traced: the program hands plain functions to the engine. With and without
    ``lsautofix.install()``, each in fresh processes, interleaved, ``--rounds`` per variant;
    workers are started (and warmed) before the clock. Per process, 15 (joblib) or 7 (dask) calls of:

      joblib   ``Parallel(n_jobs=2)(delayed(square)(i) for i in range(100000))`` (loky, auto batches)
      dask     ``client.gather(client.map(square, range(500), pure=False))`` on a LocalCluster of
               2 worker processes, 1 thread each

    Goal: lsautofix <= 1.05x plain wall time (median over all repeats of a variant). The CPU time
    of the main process and the engine's worker processes per call (the median over processes of
    each one's mean) is shown too: on a machine shared with other work, wall time varies by 2x
    between calls, CPU time much less.

(b) Traced. A ``@traceable`` parent fans ``--tasks`` ``@traceable`` children out through the
    engine; every run goes to a local collector and is counted there. Timed from the parent's call
    until every process has delivered its runs: the engine's workers are shut down inside the
    window (loky: ``shutdown(wait=True)`` of the reusable executor; Dask: ``client.close()`` and
    ``cluster.close()``) and the main process flushes last. Workers start before the clock.

      lsautofix  ``lsautofix.install()``, then the code a user writes: no headers, no flush.
      manual     no lsautofix. The parent passes ``get_current_run_tree().to_headers()`` with every
                 task; the child is called with ``langsmith_extra={"parent": headers}``; each
                 worker flushes once: loky's workers when they exit (the SDK's own exit flush, as
                 the sentinel ends them normally), Dask's from a worker plugin's ``teardown``.

    Goal: lsautofix <= 1.2x manual (median wall over ``--rounds`` processes each), every run
    delivered: ``tasks + 1`` runs in one trace, ``tasks`` of them under the parent. The fastest
    process of each variant is compared too (the one least disturbed by other work).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_collector_option, child_env, collector, median, run_json, table, verdict

GOAL_UNTRACED = 1.05
GOAL_TRACED = 1.2
UNTRACED_ITEMS = {"joblib": 100_000, "dask": 500}
UNTRACED_REPEATS = {"joblib": 15, "dask": 7}  # calls per process, after a warm-up call


# --- what the workers run (module level: importable by loky's and Dask's workers) ----------------


def square(x: int) -> int:
    return x * x


def _double(i: int) -> int:
    return i * 2


def child(i: int) -> int:
    """The child a user writes: a traced function, run by the engine's worker."""
    import langsmith

    return langsmith.traceable(name="child")(_double)(i)


def child_manual(i: int, headers: dict[str, Any]) -> int:
    import langsmith

    return langsmith.traceable(name="child")(_double)(i, langsmith_extra={"parent": headers})


def _flush_plugin() -> Any:
    from distributed.diagnostics.plugin import WorkerPlugin

    class FlushAtTeardown(WorkerPlugin):
        """The manual fix's flush per worker: when the worker closes."""

        def teardown(self, worker: Any) -> None:
            from langsmith.run_trees import get_cached_client

            get_cached_client().flush()

    return FlushAtTeardown()


# --- measured in a child process -----------------------------------------------------------------


def _cluster() -> tuple[Any, Any]:
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster, Client(cluster)


def _cpu_seconds() -> float:
    """CPU time of this process and every live descendant (the engine's workers, the nannies)."""
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for proc in me.children(recursive=True):
        try:
            total += sum(proc.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def child_untraced(engine: str, use_lsautofix: bool, repeats: int) -> dict[str, Any]:
    import langsmith  # noqa: F401  (imported in both variants: the patches apply when it is)

    if use_lsautofix:
        import lsautofix

        lsautofix.install()
    items = UNTRACED_ITEMS[engine]
    samples, cpu = [], []
    cluster = client = None
    if engine == "joblib":
        from joblib import Parallel, delayed

        def work() -> None:
            Parallel(n_jobs=2)(delayed(square)(i) for i in range(items))

    else:
        cluster, client = _cluster()

        def work() -> None:
            client.gather(client.map(square, range(items), pure=False))

    work()  # starts and warms the workers
    cpu_start = _cpu_seconds()
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    cpu.append((_cpu_seconds() - cpu_start) / repeats)  # CPU times tick at 10 ms: one figure per process
    if client is not None:
        client.close()
        cluster.close()
    return {"seconds": samples, "cpu": cpu}


def child_traced(engine: str, variant: str, tasks: int) -> dict[str, Any]:
    import langsmith
    from langsmith.run_helpers import get_current_run_tree
    from langsmith.run_trees import get_cached_client

    if variant == "lsautofix":
        import lsautofix

        lsautofix.install()
    info: dict[str, Any] = {}
    client = get_cached_client()  # created before the clock starts, as in any traced program
    if engine == "joblib":
        from joblib import Parallel, delayed
        from joblib.externals.loky import get_reusable_executor

        Parallel(n_jobs=2)(delayed(square)(i) for i in range(4))  # the workers start before the clock

        @langsmith.traceable(name="parent")
        def parent() -> None:
            run = get_current_run_tree()
            info["root"] = str(run.id)
            if variant == "lsautofix":
                Parallel(n_jobs=2)(delayed(child)(i) for i in range(tasks))
            else:
                headers = run.to_headers()
                Parallel(n_jobs=2)(delayed(child_manual)(i, headers) for i in range(tasks))

        start = time.perf_counter()
        parent()
        info["parent_seconds"] = time.perf_counter() - start
        get_reusable_executor().shutdown(wait=True)  # the workers exit, and flush
    else:
        cluster, dask_client = _cluster()
        if variant == "manual":
            dask_client.register_plugin(_flush_plugin())
        dask_client.gather(dask_client.map(square, range(4), pure=False))  # warm, before the clock

        @langsmith.traceable(name="parent")
        def parent() -> None:
            run = get_current_run_tree()
            info["root"] = str(run.id)
            if variant == "lsautofix":
                dask_client.gather(dask_client.map(child, range(tasks)))
            else:
                headers = run.to_headers()
                dask_client.gather(dask_client.map(child_manual, range(tasks), headers=headers))

        start = time.perf_counter()
        parent()
        info["parent_seconds"] = time.perf_counter() - start
        dask_client.close()
        cluster.close()
    info["shutdown_seconds"] = time.perf_counter() - start - info["parent_seconds"]
    client.flush(timeout=60)
    info["seconds"] = time.perf_counter() - start
    return info


# --- orchestration -------------------------------------------------------------------------------


def check_trace(runs: dict[str, dict[str, Any]], root: str) -> dict[str, int]:
    in_trace = [r for r in runs.values() if r.get("trace_id") == root]
    children = [r for r in in_trace if r.get("parent_run_id") == root and r.get("name") == "child"]
    return {"runs": len(in_trace), "children": len(children)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="fresh processes per variant (default 7)")
    parser.add_argument("--engines", nargs="+", default=["joblib", "dask"], choices=["joblib", "dask"])
    parser.add_argument("--tasks", type=int, default=200, help="traced children (default 200)")
    add_collector_option(parser)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        if spec["kind"] == "untraced":
            result = child_untraced(spec["engine"], spec["lsautofix"], spec["repeats"])
        else:
            result = child_traced(spec["engine"], spec["variant"], spec["tasks"])
        print(json.dumps(result))
        return 0

    import importlib.util

    missing = [
        e for e in args.engines if importlib.util.find_spec({"joblib": "joblib", "dask": "distributed"}[e]) is None
    ]
    if missing:
        print(f"skipped (not installed): {', '.join(missing)}; pip install -e '.[engines]'")
    args.engines = [e for e in args.engines if e not in missing]
    if not args.engines:
        return 0
    import langsmith

    print(
        f"Python {sys.version.split()[0]}, langsmith {langsmith.__version__}, {os.cpu_count()} CPUs, "
        f"2 workers per engine, {args.rounds} processes per variant, interleaved"
    )
    ok_all = True
    with collector(args.collector) as c:
        env = child_env(c.env())
        untraced_rows, traced_rows = [], []
        for engine in args.engines:
            # (a) untraced
            seconds: dict[str, list[float]] = {"plain": [], "lsautofix": []}
            cpu: dict[str, list[float]] = {"plain": [], "lsautofix": []}
            for _ in range(args.rounds):
                for name in ("plain", "lsautofix"):
                    spec = {
                        "kind": "untraced",
                        "engine": engine,
                        "lsautofix": name == "lsautofix",
                        "repeats": UNTRACED_REPEATS[engine],
                    }
                    result = run_json([sys.executable, __file__, "--child", json.dumps(spec)], env, 300)
                    if result is None:
                        raise SystemExit(f"untraced {engine} {name}: hung")
                    seconds[name] += result["seconds"]
                    cpu[name] += result["cpu"]
            plain, fixed = median(seconds["plain"]), median(seconds["lsautofix"])
            ratio = fixed / plain
            ok_all &= ratio <= GOAL_UNTRACED
            cpu_plain, cpu_fixed = median(cpu["plain"]), median(cpu["lsautofix"])
            untraced_rows.append(
                [
                    engine,
                    f"{plain * 1e3:.1f}",
                    f"{fixed * 1e3:.1f}",
                    f"{ratio:.3f}",
                    f"{cpu_plain * 1e3:.1f}",
                    f"{cpu_fixed * 1e3:.1f}",
                    f"{cpu_fixed / cpu_plain:.3f}",
                    verdict(ratio <= GOAL_UNTRACED),
                ]
            )
            # (b) traced
            wall: dict[str, list[float]] = {"lsautofix": [], "manual": []}
            checks: dict[str, list[dict[str, int]]] = {"lsautofix": [], "manual": []}
            for _ in range(args.rounds):
                for variant in ("lsautofix", "manual"):
                    spec = {"kind": "traced", "engine": engine, "variant": variant, "tasks": args.tasks}
                    info = run_json([sys.executable, __file__, "--child", json.dumps(spec)], env, 300)
                    if info is None:
                        raise SystemExit(f"traced {engine} {variant}: hung")
                    wall[variant].append(info["seconds"])
                    checks[variant].append(check_trace(c.store.runs(), info["root"]))
            complete = {
                v: all(g["runs"] == args.tasks + 1 and g["children"] == args.tasks for g in checks[v]) for v in wall
            }
            ratio = median(wall["lsautofix"]) / median(wall["manual"])
            ok = ratio <= GOAL_TRACED and all(complete.values())
            ok_all &= ok
            traced_rows.append(
                [
                    engine,
                    f"{median(wall['manual']):.3f}",
                    f"{median(wall['lsautofix']):.3f}",
                    f"{ratio:.2f}",
                    f"{min(wall['lsautofix']) / min(wall['manual']):.2f}",
                    "/".join(str(g["runs"]) for g in checks["lsautofix"]),
                    "/".join(str(g["runs"]) for g in checks["manual"]),
                    verdict(ok),
                ]
            )
    print()
    items = UNTRACED_ITEMS
    print(
        f"(a) untraced: median per call, {UNTRACED_REPEATS['joblib']} calls per process for joblib "
        f"({items['joblib']} items), {UNTRACED_REPEATS['dask']} for dask ({items['dask']} tasks); "
        "CPU: main process and workers"
    )
    print(
        table(
            [
                "engine",
                "plain ms",
                "lsautofix ms",
                "x plain",
                "plain CPU ms",
                "lsautofix CPU ms",
                "x plain",
                f"goal <= {GOAL_UNTRACED}",
            ],
            untraced_rows,
        )
    )
    print()
    print(f"(b) traced: @traceable parent, {args.tasks} @traceable children; median s to full delivery")
    print(
        table(
            [
                "engine",
                "manual s",
                "lsautofix s",
                "x manual",
                "x manual (fastest)",
                f"runs lsautofix (of {args.tasks + 1})",
                f"runs manual (of {args.tasks + 1})",
                f"goal <= {GOAL_TRACED}",
            ],
            traced_rows,
        )
    )
    print("goals met" if ok_all else "goals missed: see MISS above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
