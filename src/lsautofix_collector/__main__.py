"""``python -m lsautofix_collector``: serve a LangSmith-compatible endpoint and summarize what arrives."""

from __future__ import annotations

import argparse
import os
import queue
import shlex
import signal
import subprocess
import sys
from typing import IO, Any

from lsautofix_collector.render import render_trees
from lsautofix_collector.server import Collector, RemoteHostError

PROG = "python -m lsautofix_collector"
DESCRIPTION = """\
Serve a LangSmith-compatible endpoint that the langsmith SDK can send runs to, keep everything it
receives in memory, and print a summary with the trace trees when asked and when it stops.

It prints its URL and the environment that sends a program's runs to it: the endpoint, a random
API key made for this start (requests without it get 401), tracing on, and a project."""
EPILOG = """\
signals:
  Ctrl-C, SIGTERM   print the summary and stop
  SIGUSR1           print the summary so far and keep serving (kill -USR1 PID)

examples:
  python -m lsautofix_collector                 serve here; copy the export lines into another shell
  eval "$(python -m lsautofix_collector --env)" serve in the background, set the variables in this
                                                shell; kill -USR1 $LSAUTOFIX_COLLECTOR_PID for a
                                                summary, kill $LSAUTOFIX_COLLECTOR_PID to stop

Nothing is written to disk. It listens on 127.0.0.1 unless told otherwise, and refuses an address
that is not a loopback one without --allow-remote: whoever reaches it with the key can read every
input and output received."""
#: Ends the export lines a ``--env`` child sends its parent; the parent does not print it.
_END = "# end of environment"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    add("--port", type=int, default=0, help="port to listen on (default: any free one)")
    add("--allow-remote", action="store_true", help="allow a --host that is not a loopback address")
    add("--project", default="default", help="the LANGSMITH_PROJECT to print (default: default)")
    add("--env", action="store_true", help="print only 'export' lines for a shell to eval, and serve in the "
        "background; they include LSAUTOFIX_COLLECTOR_PID, and summaries go to this terminal's stderr")  # fmt: skip
    add("--max-traces", type=int, default=20, metavar="N", help="trees drawn in a summary (default 20)")
    add("--no-zstd", action="store_true", help="tell the SDK not to compress runs")
    add("--no-multipart", action="store_true", help="tell the SDK to send /runs/batch JSON instead of multipart")
    add("--serve-detached", action="store_true", help=argparse.SUPPRESS)  # the --env child
    return parser


def exports(env: dict[str, str]) -> list[str]:
    """``export NAME=value`` lines, quoted for a POSIX shell; empty values switch SDK overrides off."""
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def summary(collector: Collector, max_traces: int) -> str:
    """What arrived so far: counts in one line, then the trees (like siblings collapsed)."""
    counts = collector.store.summary()
    trees = collector.store.trees()
    head = (
        f"lsautofix collector: {counts['runs']} runs in {counts['traces']} "
        f"trace{'' if counts['traces'] == 1 else 's'}; {counts['duplicates']} duplicates, "
        f"{counts['orphans']} orphans, {counts['consistency_errors']} consistency errors; "
        f"{counts['feedback']} feedback; {counts['requests']} requests, {counts['unknown_requests']} to unknown endpoints"
    )
    hidden = len(trees) - max_traces
    more = f"... {hidden} more trace{'' if hidden == 1 else 's'}" if hidden > 0 else ""
    return render_trees(trees[:max_traces], title=head, more=more) if trees else head


def handle_signals() -> queue.SimpleQueue[str]:
    """Turn SIGINT and SIGTERM into "stop", SIGUSR1 into "summary"; before anything is printed,
    so that a signal sent as soon as the URL appears is not the default (death without a summary)."""
    actions: queue.SimpleQueue[str] = queue.SimpleQueue()  # put() is safe from a signal handler

    def on(action: str) -> Any:
        return lambda signum, frame: actions.put(action)

    signal.signal(signal.SIGINT, on("stop"))
    signal.signal(signal.SIGTERM, on("stop"))
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, on("summary"))
    return actions


def serve(collector: Collector, actions: queue.SimpleQueue[str], out: IO[str], max_traces: int) -> None:
    """Serve until "stop", printing a summary for each action."""
    while True:
        try:
            # A bounded wait: a signal the kernel hands to a server thread just as this thread
            # starts to wait never interrupts the wait, and its handler runs only when it ends.
            action = actions.get(timeout=0.25)
        except queue.Empty:
            continue
        out.write(summary(collector, max_traces) + "\n")
        out.flush()
        if action == "stop":
            return


def _detach(argv: list[str]) -> int:
    """Start the collector as a background child, relay its export lines, and leave it serving."""
    child = subprocess.Popen(
        [sys.executable, "-m", "lsautofix_collector", *argv, "--serve-detached"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the shell's Ctrl-C and hang-up are not its
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.rstrip("\n") == _END:
            return 0
        sys.stdout.write(line)
    return child.wait() or 1  # it failed before serving; it said why on stderr


def main(argv: list[str] | None = None) -> int:
    """Serve; returns the exit status (2 for usage errors)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.env and not args.serve_detached:
        return _detach(args_list)
    try:
        collector = Collector(
            args.host, args.port, zstd=not args.no_zstd, multipart=not args.no_multipart, allow_remote=args.allow_remote
        )
        collector.start()
    except (RemoteHostError, OSError) as exc:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    actions = handle_signals()
    with collector:
        env = {**collector.env(project=args.project), "LSAUTOFIX_COLLECTOR_PID": str(os.getpid())}
        if args.serve_detached:
            sys.stdout.write("\n".join([*exports(env), _END]) + "\n")
            sys.stdout.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the parent reads to end of file: close our end
            os.close(devnull)
            serve(collector, actions, sys.stderr, args.max_traces)
        else:
            print(f"lsautofix collector listening on {collector.url} (pid {os.getpid()})", flush=True)
            print("send a program's runs here with:\n" + "\n".join(f"  {line}" for line in exports(env)) + "\n", flush=True)
            serve(collector, actions, sys.stdout, args.max_traces)
    return 0


if __name__ == "__main__":
    sys.exit(main())
