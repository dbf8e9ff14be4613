"""A small web server: a traced async handler hands blocking work to a thread with ``run_in_executor``.

The example starts uvicorn on 127.0.0.1 (a free port) in a thread, sends it four requests, and
stops it. ``loop.run_in_executor`` does not carry the request's tracing context into the worker
thread, so without lsautofix every ``load_user`` is a trace of its own, apart from its request.
``lsautofix doctor examples/web_server.py`` shows both. Needs uvicorn (``pip install uvicorn``);
without it the script says so and exits.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import urllib.request
from typing import Any

try:
    import uvicorn
except ImportError:
    print("this example needs uvicorn: pip install uvicorn")
    sys.exit(0)

from langsmith import traceable

USERS = {"/users/1": "ada", "/users/2": "grace", "/users/3": "barbara", "/users/4": "frances"}


@traceable(name="load_user", run_type="retriever")
def load_user(path: str) -> str:
    time.sleep(0.01)  # a blocking database call
    return USERS.get(path, "nobody")


@traceable(name="render", run_type="chain")
async def render(user: str) -> str:
    return f"hello, {user}\n"


@traceable(name="handle_request", run_type="chain")
async def handle_request(path: str) -> str:
    user = await asyncio.get_running_loop().run_in_executor(None, load_user, path)
    return await render(user)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI application: every path is a user page."""
    if scope["type"] != "http":
        return
    body = (await handle_request(scope["path"])).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sys.exit("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        for path in USERS:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                print(response.read().decode().strip())
    finally:
        server.should_exit = True
        thread.join()


if __name__ == "__main__":
    main()
