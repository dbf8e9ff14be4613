"""Work traced to a second endpoint (a tenant's) follows its parent into child processes.

`custom_client.py METHOD URL_B KEY_B context|extra`: the parent runs under
tracing_context(client=B) or with langsmith_extra={"client": B}; a Process and a Pool task each
run a traced child. Every run must reach B, under B's parent; none the default endpoint.
"""

import multiprocessing as mp
import sys

from langsmith import Client, traceable, tracing_context


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent(method: str) -> None:
    ctx = mp.get_context(method)
    process = ctx.Process(target=leaf, args=(1,))
    process.start()
    process.join()
    with ctx.Pool(1) as pool:
        pool.apply(leaf, (2,))
        pool.close()
        pool.join()


if __name__ == "__main__":
    method, url, key, how = sys.argv[1:5]
    tenant = Client(api_url=url, api_key=key)
    if how == "context":
        with tracing_context(client=tenant):
            parent(method)
    else:
        parent(method, langsmith_extra={"client": tenant})
    tenant.flush()
