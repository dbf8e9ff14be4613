"""Command line: ``lsautofix [run] [python] ARGS``, ``lsautofix doctor ...``, ``--version``, ``--help``.

A thin dispatcher: the runner is :mod:`lsautofix.runner`, the doctor :mod:`lsautofix.doctor`.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    from collections.abc import Sequence

from lsautofix.config import PATCH_NAMES  # noqa: E402  (stdlib only, cheap)

USAGE = """\
usage: lsautofix [run] [python options] (script.py | -m module | -c code | -) [args ...]
       lsautofix [run] PYTHON [python options] (script.py | -m module | ...) [args ...]
       lsautofix doctor [options] (script.py | -m module) [args ...]
       lsautofix --version | --help

Run a Python program with LangSmith tracing made safe for threads, processes, asyncio and
exit, without changing its code ("python -m lsautofix" works the same way).

commands:
  run       run the program with lsautofix active (the default)
  doctor    run the program twice against a local collector, without and with lsautofix,
            and report what it loses or misplaces (see: lsautofix doctor --help)

The runner sets LANGSMITH_AUTOFIX=1 and becomes the Python interpreter (same process), with
the arguments untouched: "lsautofix ARGS" is "LANGSMITH_AUTOFIX=1 python ARGS", on the
interpreter that runs lsautofix and with its options ("python -X dev -m lsautofix app.py" is
"python -X dev app.py"). lsautofix activates through the lsautofix.pth file that installing
it puts in site-packages, in the program and in every Python process it starts.

PYTHON, a first argument such as python, python3, python3.12 or a path to an interpreter,
runs that interpreter instead (looked up on PATH, as a shell would). If it would not load
lsautofix (not installed for it, or -S), a line on stderr says so and the program runs
without lsautofix.

Exit status: the program's own; 127 if PYTHON is not found, 126 if it cannot be run, 2 for
"lsautofix" or "lsautofix run" alone. "lsautofix python" gives Python's interactive prompt.

environment:
  LANGSMITH_AUTOFIX=1                 activate in every Python process (the installed .pth reads it)
  LANGSMITH_AUTOFIX_FLUSH_TIMEOUT=10  seconds an exit may wait for runs to be sent
  LANGSMITH_AUTOFIX_DISABLE=a,b       what to leave off, any of:
                                      {names}
""".replace("{names}", ", ".join(PATCH_NAMES))


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv`` (default: this process's command line); returns an exit status.

    The runner does not return when it starts the program: this process becomes it.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write(USAGE)
        return 2
    if args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] in ("-V", "--version"):
        from lsautofix._version import describe

        print(describe())
        return 0
    if args[0] == "doctor":
        from lsautofix import doctor

        return doctor.main(args[1:])
    from lsautofix import runner

    # Interpreter options this process got (python -X dev -m lsautofix ...) go to the program too;
    # a caller that passes argv is not this process's command line, so nothing is carried then.
    options = runner.own_options(args) if argv is None else []
    if args[0] == "run":
        args = args[1:]
        if not args:
            sys.stderr.write(USAGE)
            return 2
    return runner.run(args, options)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
