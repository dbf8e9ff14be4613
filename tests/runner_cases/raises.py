"""An uncaught exception, chained, from nested calls; or KeyboardInterrupt; or BaseException."""

import sys


class Checkpoint(Exception):
    pass


def load(name):
    return {"a": 1}[name]


def step(name):
    try:
        load(name)
    except KeyError as exc:
        raise Checkpoint(f"step {name!r} failed") from exc


kind = sys.argv[1] if len(sys.argv) > 1 else "chained"
print("started", flush=True)
if kind == "keyboard":
    raise KeyboardInterrupt
if kind == "base":
    raise BaseException("not an Exception")  # noqa: TRY002 - what this case is about
if kind == "context":
    try:
        step("b")
    except Checkpoint:
        print(undefined_name)  # noqa: F821 - a NameError while handling another error
step("b")
