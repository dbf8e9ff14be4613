"""A WSGI app for `gunicorn --preload`: the master imports it, traces once, then forks workers."""

from langsmith import traceable


@traceable(name="boot")
def boot() -> str:
    return "warm"


boot()  # in the master, before the fork: its client has a compressed buffer and upload threads


@traceable(name="handle")
def handle(path: str) -> str:
    return f"hello {path}"


def app(environ, start_response):
    body = handle(environ.get("PATH_INFO", "/")).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
