"""The runner: ``lsautofix [run] [python] ARGS`` is ``LANGSMITH_AUTOFIX=1 python ARGS``.

It does not imitate Python's start-up in this process (as ``runpy`` or coverage.py's ``PyRunner``
do): it sets ``LANGSMITH_AUTOFIX=1`` and replaces itself with the interpreter (``os.execv``, same
pid), giving it the same interpreter options and ``ARGS`` untouched. The interpreter's ``site``
runs ``lsautofix.pth``, which activates lsautofix before the program's first line. So
``__main__``, ``__file__``, ``sys.argv``, ``sys.path[0]``, ``-c``, ``-``, ``--``, interpreter options,
tracebacks, warnings, signals, exit statuses and error messages are the interpreter's own, on
every Python version: there is nothing of ours left on the stack or in ``__main__`` to differ.

``ARGS`` may start with a Python interpreter (``python``, ``python3.12``, a path to one), the
habit of ``ddtrace-run`` users; that interpreter is run instead. When it would not load
lsautofix (not installed there, or ``-S``), one line on stderr says so and the program still
runs: a program that does not start is worse than one whose runs are not fixed.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

ENABLE_VAR = "LANGSMITH_AUTOFIX"  # config.ENABLE_VAR; not imported, the runner needs nothing else of config

#: Python's short options that take an argument (CPython's Python/getopt.c, 3.10-3.13).
_OPTIONS_WITH_ARGUMENT = "cmWX"
_OPTIONS_WITHOUT_ARGUMENT = "bBdEhiIOPqRsStuvVx?"
#: Long options that take the next word as their argument; every other known one takes none.
_LONG_OPTIONS_WITH_ARGUMENT = ("--check-hash-based-pycs",)
_LONG_OPTIONS = ("--help", "--version", "--help-env", "--help-xoptions", "--help-all", *_LONG_OPTIONS_WITH_ARGUMENT)
#: The options that decide whether ``site`` runs ``lsautofix.pth``: -S skips it; -s, -I (and -E, for
#: PYTHONNOUSERSITE) decide whether the user site directory, where it may be installed, is read.
_SITE_FLAGS = "EIsS"

#: Exit statuses when no program could be started, as the shells and env(1) use them.
EXIT_NOT_FOUND = 127
EXIT_CANNOT_RUN = 126


def split_options(argv: Sequence[str]) -> tuple[list[str], str]:
    """Split a Python command line (without ``argv[0]``) the way CPython's ``getopt`` does.

    Returns the interpreter option words before the program (``-m``/``-c`` and their
    argument, ``-``, ``--`` or the script excluded; a word such as ``-Im`` keeps its ``-I``) and
    the option letters seen. Parsing stops at the first word it does not know, where Python
    itself would print its usage error.
    """
    options: list[str] = []
    letters = ""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-") or word == "-":
            break
        if word.startswith("--"):
            if word not in _LONG_OPTIONS:
                break
            width = 2 if word in _LONG_OPTIONS_WITH_ARGUMENT else 1
            options.extend(argv[i : i + width])
            i += width
            continue
        width = 1
        for j in range(1, len(word)):
            letter = word[j]
            if letter in _OPTIONS_WITH_ARGUMENT:
                if letter in "cm":  # the program: everything from here on is its own
                    if j > 1:
                        options.append(word[:j])
                    return options, letters
                width = 1 if j + 1 < len(word) else 2  # -Wdefault or -W default
                letters += letter
                break
            if letter not in _OPTIONS_WITHOUT_ARGUMENT:
                return options, letters
            letters += letter
        options.extend(argv[i : i + width])
        i += width
    return options, letters


def own_options(args: Sequence[str]) -> list[str]:
    """The interpreter options this process was started with, for ``python [options] -m lsautofix args``.

    ``sys.orig_argv`` is the command line as given; ``args`` must be its tail (``sys.argv[1:]``),
    else something rewrote it and no option is carried.
    """
    orig = list(getattr(sys, "orig_argv", ()))
    if len(orig) < 2 + len(args) or (args and orig[-len(args) :] != list(args)):
        return []
    options, _ = split_options(orig[1:])
    return options


def is_interpreter_name(word: str) -> bool:
    """``python``, ``python3``, ``python3.12``, ``python3.13t``, ``pypy3`` (with ``.exe``), or a path ending so."""
    name = os.path.basename(word)
    if name.lower().endswith(".exe"):
        name = name[:-4]
    for prefix in ("python", "pypy"):
        if name.startswith(prefix):
            version = name[len(prefix) :]
            version = version.removesuffix("t")
            major, _, minor = version.partition(".")
            return (not version or major.isdigit()) and (not minor or minor.isdigit()) and not version.endswith(".")
    return False


def _which(name: str) -> str | None:
    """The file ``PATH`` runs for ``name`` (as a shell, and CPython's getpath, look it up)."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def _resolve(word: str) -> str | None:
    """Where ``word`` (a command name or a path) leads, as an absolute path, or None."""
    if os.sep in word or (os.altsep and os.altsep in word):
        return os.path.abspath(word)
    return _which(word)


def _same_interpreter(path: str) -> bool:
    """Whether ``path`` starts this interpreter in this environment (same venv, same site-packages)."""
    here = sys.executable
    if not here:
        return False
    if path == here:
        return True
    # python, python3 and python3.11 in one bin directory are the same interpreter and venv.
    return os.path.dirname(path) == os.path.dirname(here) and os.path.realpath(path) == os.path.realpath(here)


def _pth_in_site_packages() -> bool:
    """Whether ``lsautofix.pth`` is in this interpreter's site-packages, which ``site`` always reads."""
    try:
        import site

        directories = site.getsitepackages()
    except (ImportError, AttributeError):  # pragma: no cover - a stripped-down site module: let the probe decide
        return False
    return any(os.path.isfile(os.path.join(d, "lsautofix.pth")) for d in directories)


_PROBE = "import sys; sys.stdout.write('lsautofix-loaded=%d' % ('lsautofix' in sys.modules))"


def _probe(executable: str, letters: str, env: dict[str, str]) -> str | None:
    """Start ``executable`` once with the program's site options: why it would not load lsautofix, or None."""
    import subprocess

    flags = ["-" + letter for letter in _SITE_FLAGS if letter in letters]
    try:
        done = subprocess.run(
            [executable, *flags, "-c", _PROBE],
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not ask {executable} whether it loads it: {exc}"
    out = done.stdout.decode(errors="replace")
    if "lsautofix-loaded=1" in out:
        return None
    if "lsautofix-loaded=0" not in out:
        return f"could not ask {executable} whether it loads it: exit status {done.returncode}"
    detail = done.stderr.decode(errors="replace").strip().splitlines()
    if detail:  # the .pth found lsautofix and importing it failed; it printed why
        return f"{executable} does not load it ({detail[-1]})"
    return f"{executable} does not load it; install it for that interpreter ({executable} -m pip install lsautofix)"


def activation_problem(executable: str, letters: str, env: dict[str, str]) -> str | None:
    """Why the program would run without lsautofix, or None when it will be active.

    The common case (this interpreter, ``lsautofix.pth`` in its site-packages) costs a few
    ``stat`` calls; any other interpreter or layout is asked once, with the program's site options.
    """
    if "S" in letters:
        return "-S keeps site from running lsautofix.pth"
    if _same_interpreter(executable) and _pth_in_site_packages():
        return None
    return _probe(executable, letters, env)


#: What CPython's PEP 538 coercion sets LC_CTYPE to (Python/pylifecycle.c, _TARGET_LOCALES).
_COERCED_LOCALES = ("C.UTF-8", "C.utf8", "UTF-8")


def _initial_environment() -> dict[str, str] | None:
    """The environment this process was started with (Linux: ``/proc/self/environ``), or None."""
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    entries = (entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    return {os.fsdecode(key): os.fsdecode(value) for key, value in entries}


def program_environment() -> dict[str, str]:
    """``os.environ`` with ``LANGSMITH_AUTOFIX=1``, and without this interpreter's locale coercion.

    Started in the C locale, Python sets ``LC_CTYPE=C.UTF-8`` in its own environment (PEP 538)
    and turns on UTF-8 mode (PEP 540). Passed on, that variable would make the program's
    interpreter see a UTF-8 locale, skip UTF-8 mode, and differ from ``python`` started directly
    (``sys.flags.utf8_mode``, ``locale.getpreferredencoding()``). So a ``LC_CTYPE`` that differs
    from the one this process was started with, and is one coercion sets, goes back to that one.
    """
    env = dict(os.environ)
    env[ENABLE_VAR] = "1"  # also what makes every Python child of the program active
    if env.get("LC_CTYPE") in _COERCED_LOCALES:
        initial = _initial_environment()
        if initial is not None and initial.get("LC_CTYPE") != env["LC_CTYPE"]:
            if "LC_CTYPE" in initial:
                env["LC_CTYPE"] = initial["LC_CTYPE"]
            else:
                del env["LC_CTYPE"]
    return env


def _exec(path: str, argv: list[str], env: dict[str, str]) -> NoReturn:
    """Become the program (same pid, so signals, job control and exit status are its own)."""
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # None, or closed: nothing to keep
            stream.flush()
    if os.name == "nt":  # pragma: no cover - Windows has no exec that keeps the process; untested here
        import signal
        import subprocess

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the console sends Ctrl-C to the child too
        os._exit(subprocess.call(argv, executable=path, env=env))
    try:
        os.execve(path, argv, env)
    except OSError as exc:
        sys.stderr.write(f"lsautofix: cannot run {argv[0]}: {exc.strerror}\n")
        sys.stderr.flush()
        os._exit(EXIT_NOT_FOUND if isinstance(exc, FileNotFoundError) else EXIT_CANNOT_RUN)


def run(args: Sequence[str], options: Sequence[str] = ()) -> int:
    """Run ``python *options *args`` (or ``args`` naming an interpreter first) with lsautofix active.

    ``options`` are interpreter options of this process to pass on (see :func:`own_options`).
    Returns only when nothing could be started; otherwise this process becomes the program.
    """
    args = list(args)
    env = program_environment()
    if args and is_interpreter_name(args[0]) and not os.path.isdir(args[0]):
        word, args = args[0], args[1:]
        path = _resolve(word)
        if path is None or not os.path.exists(path):
            reason = "No such file or directory" if path else "command not found"
            sys.stderr.write(f"lsautofix: {word}: {reason}\n")
            return EXIT_NOT_FOUND
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            sys.stderr.write(f"lsautofix: {word}: not an executable file\n")
            return EXIT_CANNOT_RUN
        argv0, options = word, []  # what the user typed is what Python's error messages show
    else:
        path = sys.executable
        if not path:
            sys.stderr.write("lsautofix: sys.executable is unknown, so Python cannot be started again\n")
            return EXIT_CANNOT_RUN
        argv0, options = _argv0_for_this_interpreter(), list(options)
    _, letters = split_options([*options, *args])
    problem = activation_problem(path, letters, env)
    if problem is not None:
        sys.stderr.write(f"lsautofix: running the program without lsautofix: {problem}\n")
    _exec(path, [argv0, *options, *args], env)


def _argv0_for_this_interpreter() -> str:
    """How this interpreter was named on its command line, if that still leads to ``sys.executable``.

    Python derives ``sys.executable`` (and so its venv and prefix) from ``argv[0]``, so a name is
    kept only when it resolves to the same file; Python's own messages (``python: can't open
    file ...``) then read as they would have.
    """
    orig = getattr(sys, "orig_argv", None)
    if orig and orig[0] and _resolve(orig[0]) == sys.executable:
        return str(orig[0])
    return sys.executable
