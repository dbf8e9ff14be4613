"""A traced parent fanning traced children out through dask.distributed: `engines_dask.py KIND...`.

A LocalCluster of 2 worker processes (nannies), one thread each. KIND: submit, map, compute
(dask.delayed through Client.compute), persist (Client.persist, then gather), dask_compute
(dask.compute with the client as default scheduler), started_inside (the cluster is started
inside another traced function), restart (Client.restart between two halves: the nannies kill and
restart their workers), untraced (work handed over outside any trace, on a cluster started
inside one), remote (a cluster in another process started without lsautofix, as a remote one
would be), remote_plugin (the same, with the worker plugin registered). Several of submit, map,
compute, persist and dask_compute run in turn on one cluster, each parent named `parent_KIND`.
"""

import os
import subprocess
import sys

import dask
from dask.distributed import Client, LocalCluster
from langsmith import traceable

N = 8


@traceable(name="child")
def child(i: int) -> int:
    return i * i


def cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)


def parent(client: Client, kind: str, name: str = "parent") -> object:
    return traceable(name=name)(fan_out)(client, kind)


def fan_out(client: Client, kind: str) -> object:
    if kind in ("submit", "started_inside", "remote", "remote_plugin"):
        return client.gather([client.submit(child, i) for i in range(N)])
    if kind == "map":
        return client.gather(client.map(child, range(N)))
    if kind == "compute":
        return client.compute([dask.delayed(child)(i) for i in range(N)], sync=True)
    if kind == "persist":
        return dask.compute(*client.persist([dask.delayed(child)(i) for i in range(N)]))
    if kind == "dask_compute":
        return dask.compute(*[dask.delayed(child)(i) for i in range(N)])
    if kind == "restart":
        first = client.gather(client.map(child, range(N // 2)))
        client.restart()
        return first + client.gather(client.map(child, range(N // 2, N)))
    raise SystemExit(f"unknown kind {kind}")


@traceable(name="setup")
def setup() -> tuple[LocalCluster, Client]:
    local = cluster()
    return local, Client(local)


def serve() -> None:
    """The remote cluster: print its address, run until stdin closes, then close."""
    with cluster() as local:
        print(local.scheduler_address, flush=True)
        sys.stdin.read()


def remote(kind: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LANGSMITH_AUTOFIX"}
    server = subprocess.Popen(
        [sys.executable, __file__, "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        with Client(server.stdout.readline().strip()) as client:
            if kind == "remote_plugin":
                from lsautofix.integrations.dask import LangSmithAutofix

                client.register_plugin(LangSmithAutofix())
            print(parent(client, kind))
    finally:
        server.stdin.close()
        server.wait(60)


def main() -> None:
    kind, *more = sys.argv[1:]
    if more:  # several kinds in turn on one cluster, each parent named after its kind
        with cluster() as local, Client(local) as client:
            for each in (kind, *more):
                print(parent(client, each, f"parent_{each}"))
        return
    if kind == "serve":
        return serve()
    if kind.startswith("remote"):
        return remote(kind)
    if kind in ("started_inside", "untraced"):
        local, client = setup()
    else:
        local = cluster()
        client = Client(local)
    if kind == "untraced":
        print(client.gather([client.submit(child, i) for i in range(N)]))
    else:
        print(parent(client, kind))
    client.close()
    local.close()


if __name__ == "__main__":
    main()
