"""The runner is ``python``: every program in ``runner_cases/`` gives the same bytes and exit status.

Each case runs under plain ``python`` (without lsautofix) and under each way of starting the
runner: ``python -m lsautofix``, ``python OPTIONS -m lsautofix`` (interpreter options before
``-m``), the ``lsautofix`` console script, and ``lsautofix python`` (the ``ddtrace-run`` habit).
stdout, stderr and the exit status must be equal byte for byte. Nothing is normalised: the
runner becomes the interpreter, so there is nothing of its own left to hide. What the two runs
are *given* differs only where the user typed something else: ``lsautofix python ...`` is
compared with ``python ...`` found on the same ``PATH`` (Python prints the name it was started
by), the console script with the interpreter its ``#!`` line names, and ``python -m lsautofix``
with the same interpreter path.

The cases do not print ``LANGSMITH_AUTOFIX`` (the runner sets it; that is the point), and the
ones that start threads and processes import ``langsmith`` so that lsautofix's patches are
applied in the runner's runs: they compare lsautofix active against plain Python.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import clean_environ, pth_installed

CASES = Path(__file__).parent / "runner_cases"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
CONSOLE_SCRIPT = str(BIN / "lsautofix")


def _shebang_interpreter(script: str) -> str:
    """The interpreter a console script's ``#!`` line names: the ``python`` it is compared with.

    pip writes the installing interpreter's own name there, which may be ``bin/python3.12``
    rather than ``bin/python``; Python prints the name it was started by, so the comparison
    must start plain Python by the same name.
    """
    try:
        with open(script, "rb") as f:
            first = f.readline().decode().strip()
    except OSError:
        return PYTHON
    return first[2:].split()[0] if first.startswith("#!") and first[2:].split() else PYTHON


CONSOLE_PYTHON = _shebang_interpreter(CONSOLE_SCRIPT)

STDIN_PROGRAM = b"""\
import sys
print(sys.argv, repr(sys.path[0]), __name__, "__file__" in globals(), __spec__)
raise SystemExit(4)
"""


@dataclass(frozen=True)
class Case:
    """One program run: its arguments (after the interpreter options), input, environment, signal."""

    name: str
    args: tuple[str, ...]
    options: tuple[str, ...] = ()  # interpreter options; also given before -m lsautofix
    stdin: bytes = b""
    env: dict[str, str | None] = field(default_factory=dict)  # None removes a variable
    signal: int | None = None  # sent once the program has printed its first line
    stdout_to: str | None = None  # a file instead of a pipe (to see a failing final flush)

    def __hash__(self) -> int:
        return hash(self.name)


CASES_LIST = [
    Case("probe", ("probe.py", "a", "--b", "-c")),
    Case("probe_dotted_path", ("./sub/../probe.py",)),
    Case("probe_absolute_path", ("{dir}/probe.py", "x")),
    Case(
        "probe_dev_mode_and_warning_options", ("probe.py",), options=("-X", "dev", "-W", "error::ResourceWarning", "-u")
    ),
    Case("probe_optimize_no_env_no_user_site", ("probe.py",), options=("-OO", "-E", "-s")),
    Case("probe_isolated", ("probe.py",), options=("-I",)),
    Case("probe_combined_options", ("probe.py",), options=("-bBWdefault",)),
    Case("symlinked_script", ("link.py", "via-link")),
    Case("chdir_then_open_next_to_file", ("chdir_open.py",)),
    Case("dash_c", ("-c", "import sys; print(sys.argv, repr(sys.path[0]), __name__, __spec__, __loader__)", "x", "-y")),
    Case("dash_c_traceback", ("-c", "def f():\n    return 1 / 0\nf()")),
    Case("stdin_program", ("-", "arg", "-m"), stdin=STDIN_PROGRAM),
    Case("double_dash", ("--", "probe.py", "--", "-m")),
    Case("interactive_after_c", ("-i", "-c", "x = 6"), stdin=b"print(x * 7)\n"),
    Case("unknown_option", ("-Z", "probe.py")),
    *(Case(f"exit_{how}", ("exits.py", how)) for how in ("0", "3", "message", "none", "float", "big", "os_exit")),
    Case("final_flush_fails", ("sub/real.py",), env={"PYTHONUNBUFFERED": None}, stdout_to="/dev/full"),
    Case("print_flush_fails", ("exits.py", "0"), stdout_to="/dev/full"),
    Case("traceback_chained", ("raises.py", "chained")),
    Case("traceback_during_handling", ("raises.py", "context")),
    Case("base_exception", ("raises.py", "base")),
    Case("keyboard_interrupt_raised", ("raises.py", "keyboard")),
    Case("sigint", ("wait_for_signal.py",), signal=signal.SIGINT),
    Case("sigterm", ("wait_for_signal.py",), signal=signal.SIGTERM),
    Case("sigterm_handler", ("wait_for_signal.py", "handler"), signal=signal.SIGTERM),
    Case("warnings", ("warns.py",)),
    Case("warnings_W_error", ("warns.py",), options=("-W", "error::DeprecationWarning")),
    Case(
        "warnings_PYTHONWARNINGS",
        ("warns.py",),
        env={"PYTHONWARNINGS": "ignore::UserWarning,always::DeprecationWarning"},
    ),
    Case("warnings_dev_mode", ("warns.py",), options=("-X", "dev")),
    Case("stdin_read", ("reads_stdin.py",), stdin=b"one\ntwo\nthree\n"),
    Case("module", ("-m", "pkg.mod", "a", "-c")),
    Case("module_traceback", ("-m", "pkg.mod", "fail")),
    Case("package_main", ("-m", "pkg", "b")),
    Case("module_not_found", ("-m", "nonexistent")),
    Case("submodule_not_found", ("-m", "pkg.nonexistent")),
    Case("package_without_main", ("-m", "nomain")),
    Case("module_pdb", ("-m", "pdb", "sub/real.py"), stdin=b"continue\nquit\n"),
    Case("missing_script", ("nope.py",)),
    Case("directory", ("appdir", "q")),
    Case("directory_without_main", ("emptydir",)),
    Case("zipapp", ("app.zip", "z")),
    Case("syntax_error", ("syntax_error.py",)),
    Case("thread_outlives_main", ("outlive.py",)),
    Case("atexit_sees_main", ("atexit_main.py",)),
    *(
        Case(f"pool_pickles_main_class_{method}", ("pool_pickle.py", method))
        for method in ("fork", "spawn", "forkserver")
    ),
    Case("c_locale", ("locale_probe.py",), env={"LC_ALL": None, "LC_CTYPE": None, "LANG": "C"}),
]

#: name: (command prefix for the runner, command prefix for plain Python it is compared with).
LAUNCHERS = {
    "python -m lsautofix": ([PYTHON, "-m", "lsautofix"], [PYTHON]),
    "python OPTIONS -m lsautofix": None,  # built per case: the options go before -m lsautofix
    "lsautofix": ([CONSOLE_SCRIPT], [CONSOLE_PYTHON]),
    "lsautofix python": ([CONSOLE_SCRIPT, "python"], ["python"]),
}


def commands(launcher: str, case: Case, workdir: Path) -> tuple[list[str], list[str]]:
    """The runner's command and plain Python's, for ``case``."""
    args = [arg.replace("{dir}", str(workdir)) for arg in case.args]
    plain = [PYTHON, *case.options, *args]
    if launcher == "python OPTIONS -m lsautofix":
        return [PYTHON, *case.options, "-m", "lsautofix", *args], plain
    ours, theirs = LAUNCHERS[launcher]  # type: ignore[misc]
    return [*ours, *case.options, *args], [*theirs, *case.options, *args]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``runner_cases/`` copied, plus what git does not keep well: a symlink, an empty folder, a zip, bad syntax."""
    if not pth_installed():
        pytest.fail("lsautofix.pth is not installed in this environment: run `pip install -e .` first")
    root = tmp_path_factory.mktemp("runner_cases")
    shutil.copytree(CASES, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "link.py").symlink_to(root / "sub" / "real.py")
    (root / "emptydir").mkdir()
    (root / "syntax_error.py").write_text("def broken(:\n    pass\n")
    with zipfile.ZipFile(root / "app.zip", "w") as z:
        z.writestr("__main__.py", "import sys\nprint('zip', __name__, __file__, sys.argv, sys.path[0])\n")
    yield root


def environment(case: Case) -> dict[str, str]:
    env = clean_environ({"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"})
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def execute(command: list[str], case: Case, cwd: Path) -> tuple[int, bytes, bytes]:
    """Run one command as the case says; its exit status, stdout and stderr."""
    with contextlib.ExitStack() as stack:
        stdout = stack.enter_context(open(case.stdout_to, "wb")) if case.stdout_to else subprocess.PIPE
        proc = stack.enter_context(
            subprocess.Popen(
                command,
                cwd=cwd,
                env=environment(case),
                stdin=subprocess.PIPE if case.signal is None else subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.PIPE,
            )
        )
        if case.signal is None:
            out, err = proc.communicate(case.stdin, timeout=120)
        else:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # the program is in its main body, its handlers set
            _wait_until_sleeping(proc.pid)  # so that the traceback points at its sleep, not at its print
            proc.send_signal(case.signal)
            rest, err = proc.communicate(timeout=120)
            out = first + rest
    return proc.returncode, out or b"", err or b""


def _wait_until_sleeping(pid: int, limit: float = 10.0) -> None:
    """Wait until the process is in an interruptible sleep (state S in /proc/PID/stat), at most ``limit`` s."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat.rsplit(")", 1)[1].split()[0] == "S":
            return
        time.sleep(0.01)


_plain_results: dict[tuple[str, tuple[str, ...]], tuple[int, bytes, bytes]] = {}


def plain(command: list[str], case: Case, cwd: Path) -> tuple[int, bytes, bytes]:
    """Plain Python's result, run once per case and command (several launchers share it)."""
    key = (case.name, tuple(command))
    if key not in _plain_results:
        _plain_results[key] = execute(command, case, cwd)
    return _plain_results[key]


def _params() -> Iterator[object]:
    for case in CASES_LIST:
        for launcher in LAUNCHERS:
            if launcher == "python OPTIONS -m lsautofix" and not case.options:
                continue  # the same command as python -m lsautofix
            # The console script and `lsautofix python` reach the same main() as `-m lsautofix`
            # by a launcher pip writes: .ci/run runs them on one Python (the route marker).
            marks = [pytest.mark.route] if launcher.startswith("lsautofix") else []
            yield pytest.param(case, launcher, id=f"{case.name}[{launcher}]", marks=marks)


@pytest.mark.parametrize(("case", "launcher"), list(_params()))
def test_runner_output_equals_python_byte_for_byte(case: Case, launcher: str, workdir: Path) -> None:
    ours_cmd, plain_cmd = commands(launcher, case, workdir)
    expected = plain(plain_cmd, case, workdir)
    got = execute(ours_cmd, case, workdir)
    assert got[1].decode(errors="replace") == expected[1].decode(errors="replace"), "stdout differs"
    assert got[2].decode(errors="replace") == expected[2].decode(errors="replace"), "stderr differs"
    assert got[0] == expected[0], "exit status differs"
    assert got == expected  # and byte for byte, beyond what decoding shows


def test_the_cases_cover_what_they_claim(workdir: Path) -> None:
    """A few of plain Python's results, so that a case that silently does nothing is noticed."""
    by_name = {case.name: case for case in CASES_LIST}

    def run(name: str) -> tuple[int, bytes, bytes]:
        case = by_name[name]
        return plain(commands("lsautofix", case, workdir)[1], case, workdir)

    assert run("sigint")[0] == -signal.SIGINT and b"KeyboardInterrupt" in run("sigint")[2]
    assert run("keyboard_interrupt_raised")[0] == -signal.SIGINT
    assert run("sigterm")[0] == -signal.SIGTERM and run("sigterm_handler")[0] == 7
    assert run("final_flush_fails")[0] == 120
    assert b"thread after main: set by the main body __main__ Checkpoint 3" in run("thread_outlives_main")[1]
    for method in ("fork", "spawn", "forkserver"):
        assert b"[Checkpoint(0), Checkpoint(10)" in run(f"pool_pickles_main_class_{method}")[1]
    assert b"read next to the script after chdir: the data" in run("chdir_then_open_next_to_file")[1]
    beyond = b"<sys>:0" if sys.version_info >= (3, 13) else b"sys:1"
    assert beyond + b": UserWarning: attributed beyond the top of the stack" in run("warnings")[2]
    assert b"42" in run("interactive_after_c")[1]
    assert b"No module named nonexistent" in run("module_not_found")[2]
    assert b"'nomain' is a package and cannot be directly executed" in run("package_without_main")[2]
