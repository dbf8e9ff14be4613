"""A traced parent fanning traced children out through Celery: `engines_celery.py KIND`.

The script is the whole deployment: it starts a redis-server on a free port of 127.0.0.1 (unless
CELERY_BROKER_URL names one), a prefork worker with 2 children on this module, and stops both
when done: the worker with SIGTERM (Celery's warm shutdown), right after the last result. KIND:
delay (8 x child.delay), group (a group of 8 signatures), max_tasks (the worker recycles each
child after one task: worker_max_tasks_per_child=1), untraced (tasks sent outside any trace),
gevent (as delay, on a `--pool=gevent` worker: Celery monkey-patches it with gevent at start).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from celery import Celery, group
from langsmith import traceable

N = 8
app = Celery("engines_celery", broker=os.environ.get("CELERY_BROKER_URL"), backend=os.environ.get("CELERY_BROKER_URL"))
app.conf.broker_connection_retry_on_startup = True


@traceable(name="child")
def traced_child(i: int) -> int:
    return i * i


@app.task(name="engines_celery.child")
def child(i: int) -> int:
    return traced_child(i)


@traceable(name="parent")
def parent(kind: str) -> list:
    if kind == "group":
        return group(child.s(i) for i in range(N)).apply_async().get(timeout=60)
    return [r.get(timeout=60) for r in [child.delay(i) for i in range(N)]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)  # waiting for the server to listen
    server.kill()
    raise SystemExit("redis-server did not start")


def start_worker(url: str, kind: str) -> subprocess.Popen:
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "CELERY_BROKER_URL": url, "PYTHONPATH": here}
    pool = "--pool=gevent" if kind == "gevent" else "--pool=prefork"
    command = [sys.executable, "-m", "celery", "-A", "engines_celery", "worker", pool, "--concurrency=2",
               "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"w{os.getpid()}@%h"]  # fmt: skip
    if kind == "max_tasks":
        command.append("--max-tasks-per-child=1")
    return subprocess.Popen(command, env=env, cwd=here, stdout=sys.stderr)


def main() -> None:
    kind = sys.argv[1]
    workdir = tempfile.mkdtemp()
    redis = None
    url = os.environ.get("CELERY_BROKER_URL")
    if not url:
        redis, url = start_redis(workdir)
    app.conf.broker_url = app.conf.result_backend = url
    worker = start_worker(url, kind)
    try:
        if kind == "untraced":
            print([r.get(timeout=60) for r in [child.delay(i) for i in range(N)]])
        else:
            print(parent(kind))
    finally:
        worker.send_signal(signal.SIGTERM)  # warm shutdown
        print("worker exit status", worker.wait(60))
        if redis is not None:
            redis.terminate()
            redis.wait(20)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
