"""Command line: ``lsautofix [run] script.py [args]``, ``lsautofix -m module [args]``, ``lsautofix doctor``.

The runner executes the target as ``python script.py`` would (``sys.argv``, ``__main__``,
``sys.path[0]``, exit status, tracebacks) with lsautofix active, and sets
``LANGSMITH_AUTOFIX=1`` so every Python child process it starts is active too.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Optional, Sequence

USAGE = """\
usage: lsautofix [run] script.py [args ...]
       lsautofix [run] -m module [args ...]
       lsautofix doctor [options] (script.py | -m module) [args ...]
       lsautofix --version | --help

Run a Python program with LangSmith tracing made safe for threads, processes, asyncio and
exit, without changing its code ("python -m lsautofix" works the same way).

commands:
  run       run the program with lsautofix active (the default)
  doctor    run the program twice against a local collector, without and with lsautofix,
            and report split traces, lost runs and duplicates (see: lsautofix doctor --help)

environment:
  LANGSMITH_AUTOFIX=1                 activate in every Python process (the installed .pth reads it)
  LANGSMITH_AUTOFIX_FLUSH_TIMEOUT=10  seconds an exit may wait for runs to be sent
  LANGSMITH_AUTOFIX_DISABLE=a,b       patches to leave off: threads, tasks, processes, exit, evaluation
"""


def _trim(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """Drop the runner's own frames so the traceback reads as under plain ``python``."""
    here = os.path.normcase(os.path.abspath(__file__))
    import runpy

    ours = (here, os.path.normcase(os.path.abspath(runpy.__file__)), "<frozen runpy>")
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename not in ours and os.path.normcase(os.path.abspath(filename)) not in ours:
            break
        tb = tb.tb_next
    return tb


def run(argv: Sequence[str]) -> int:
    """Run ``script.py args`` or ``-m module args`` as ``__main__`` with lsautofix active."""
    import runpy

    from lsautofix import _lifecycle

    if not argv or argv[0] in ("-m",) and len(argv) < 2:
        sys.stderr.write(USAGE)
        return 2
    os.environ["LANGSMITH_AUTOFIX"] = "1"
    _lifecycle.arm()
    try:
        if argv[0] == "-m":
            sys.argv[:] = list(argv[1:])
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            path = argv[0]
            if not os.path.exists(path):
                sys.stderr.write(f"{sys.executable}: can't open file {os.path.abspath(path)!r}: No such file or directory\n")
                return 2
            sys.argv[:] = list(argv)
            sys.path[0] = os.path.dirname(os.path.realpath(path))
            runpy.run_path(path, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        tb = _trim(exc.__traceback__)
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        from lsautofix._version import describe

        print(describe())
        return 0
    if args[0] == "doctor":
        from lsautofix import doctor

        return doctor.main(args[1:])
    if args[0] == "run":
        args = args[1:]
    return run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
