"""`python -m lsautofix` runs a program exactly as `python` would, with lsautofix active.

Byte-for-byte equality with `python` is `test_runner_differential.py`; this file holds what the
runner decides on its own: activation, other interpreters, its own options and exit statuses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import clean_environ

import lsautofix
from lsautofix import runner

CONSOLE_SCRIPT = str(Path(sys.executable).with_name("lsautofix"))

PROBE = """\
import json, os, sys
print(json.dumps({
    "argv": sys.argv, "name": __name__, "path0": sys.path[0],
    "main_file": getattr(sys.modules["__main__"], "__file__", None),
    "env": os.environ.get("LANGSMITH_AUTOFIX"),
    "activated": "lsautofix._startup" in sys.modules and sys.modules["lsautofix._startup"].is_activated(),
}))
if len(sys.argv) > 1 and sys.argv[1] == "fail":
    def inner():
        raise ValueError("boom")
    inner()
if len(sys.argv) > 1 and sys.argv[1].startswith("exit"):
    sys.exit(int(sys.argv[1][4:]))
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "probe.py").write_text(PROBE)
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    return script


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env or clean_environ(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _console(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONSOLE_SCRIPT, *args], cwd=cwd, env=clean_environ(), capture_output=True, text=True, timeout=120, check=False
    )


def test_script_sees_what_plain_python_gives_it(probe):
    plain = _run([str(probe), "a", "--b"], probe.parent)
    ours = _run(["-m", "lsautofix", str(probe), "a", "--b"], probe.parent)
    p, o = json.loads(plain.stdout), json.loads(ours.stdout)
    for key in ("argv", "name", "path0", "main_file"):
        assert o[key] == p[key], key
    assert o["env"] == "1" and o["activated"] is True


def test_run_subcommand_is_the_same(probe):
    ours = json.loads(_run(["-m", "lsautofix", "run", str(probe), "x"], probe.parent).stdout)
    assert ours["argv"] == [str(probe), "x"] and ours["name"] == "__main__"


def test_module_mode_matches_python_dash_m(probe):
    cwd = probe.parent
    plain = json.loads(_run(["-m", "pkg.probe", "z"], cwd).stdout)
    ours = json.loads(_run(["-m", "lsautofix", "-m", "pkg.probe", "z"], cwd).stdout)
    for key in ("argv", "name", "main_file"):
        assert ours[key] == plain[key], key
    assert ours["path0"] == plain["path0"] == str(cwd)


@pytest.mark.parametrize("code", [0, 3, 7])
def test_exit_status_passes_through(probe, code):
    assert _run(["-m", "lsautofix", str(probe), f"exit{code}"], probe.parent).returncode == code


def test_uncaught_exception_traceback_matches_plain_python(probe):
    plain = _run([str(probe), "fail"], probe.parent)
    ours = _run(["-m", "lsautofix", str(probe), "fail"], probe.parent)
    assert ours.returncode == plain.returncode == 1
    assert ours.stderr == plain.stderr
    assert "lsautofix" not in ours.stderr and "runpy" not in ours.stderr


def test_missing_script_is_reported_like_python(tmp_path):
    ours = _run(["-m", "lsautofix", "nope.py"], tmp_path)
    assert ours.returncode == 2 and "can't open file" in ours.stderr


def test_help_and_version():
    out = _run(["-m", "lsautofix", "--help"], Path.cwd())
    assert out.returncode == 0 and "usage: lsautofix" in out.stdout and "doctor" in out.stdout
    version = _run(["-m", "lsautofix", "--version"], Path.cwd())
    import lsautofix

    assert version.returncode == 0 and version.stdout.startswith(f"lsautofix {lsautofix.__version__}")


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("lsautofix")
    if not exe.exists():
        pytest.fail("the `lsautofix` console script is not installed next to the interpreter: pip install -e .")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=clean_environ(), check=False)
    assert out.returncode == 0 and out.stdout.startswith("lsautofix ")


def test_children_of_the_runner_are_active(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import subprocess, sys\n"
        "print(subprocess.run([sys.executable, '-c', 'import sys; print(\"lsautofix\" in sys.modules)'],"
        " capture_output=True, text=True).stdout.strip())\n"
    )
    out = _run(["-m", "lsautofix", str(script)], tmp_path)
    assert out.stdout.strip() == "True", out.stderr


def test_runner_becomes_the_program_with_the_same_pid(tmp_path):
    """exec, not a child process: signals, job control and waiting parents see the program itself."""
    script = tmp_path / "pid.py"
    script.write_text("import os\nprint(os.getpid())\n")
    for command in ([sys.executable, "-m", "lsautofix", str(script)], [CONSOLE_SCRIPT, str(script)]):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=clean_environ())
        out, _ = proc.communicate(timeout=60)
        assert int(out) == proc.pid


def _venv_without_lsautofix(root: Path) -> Path:
    """A fresh venv of this Python (no pip: fast) where lsautofix is not installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    return root / "bin" / "python"


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def other_pythons(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two interpreters that are not this one: one without lsautofix, one where its .pth loads it."""
    root = tmp_path_factory.mktemp("pythons")
    bare = _venv_without_lsautofix(root / "bare")
    equipped = _venv_without_lsautofix(root / "equipped")
    site = _site_packages(equipped)
    # What an install puts there: the package on the path (first: .pth files run in name order), then our .pth.
    (site / "_lsautofix_path.pth").write_text(str(Path(lsautofix.__file__).parent.parent) + "\n")
    shutil.copy(Path(sysconfig.get_paths()["purelib"]) / "lsautofix.pth", site / "lsautofix.pth")
    return {"bare": bare, "equipped": equipped}


def test_named_interpreter_without_lsautofix_runs_the_program_and_says_so(probe, other_pythons):
    python = other_pythons["bare"]
    out = _console([str(python), str(probe), "x"], probe.parent)
    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["argv"] == [str(probe), "x"] and result["activated"] is False and result["env"] == "1"
    assert out.stderr == (
        f"lsautofix: running the program without lsautofix: {python} does not load it; "
        f"install it for that interpreter ({python} -m pip install lsautofix)\n"
    )


def test_named_interpreter_with_lsautofix_runs_it_active_and_quiet(probe, other_pythons):
    out = _console([str(other_pythons["equipped"]), str(probe), "x"], probe.parent)
    assert out.stderr == "" and out.returncode == 0
    assert json.loads(out.stdout)["activated"] is True


@pytest.mark.parametrize("word", ["python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"])
def test_python_on_path_is_this_interpreter_active(probe, word):
    env = clean_environ({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    out = _run(["-m", "lsautofix", word, str(probe), "y"], probe.parent, env)
    assert out.stderr == "" and out.returncode == 0
    result = json.loads(out.stdout)
    assert result["argv"] == [str(probe), "y"] and result["activated"] is True


def test_dash_S_runs_without_lsautofix_and_says_so(probe):
    out = _console(["-S", str(probe)], probe.parent)
    assert out.returncode == 0 and json.loads(out.stdout)["activated"] is False
    assert out.stderr == "lsautofix: running the program without lsautofix: -S keeps site from running lsautofix.pth\n"


def test_interpreter_not_found_or_not_executable(tmp_path):
    missing = _console(["python3.999", "app.py"], tmp_path)
    assert (missing.returncode, missing.stderr) == (127, "lsautofix: python3.999: command not found\n")
    absent_path = _console(["./bin/python3", "app.py"], tmp_path)
    assert (absent_path.returncode, absent_path.stderr) == (
        127,
        "lsautofix: ./bin/python3: No such file or directory\n",
    )
    (tmp_path / "python3").write_text("print('a script named python3 is not an interpreter')\n")
    not_executable = _console(["./python3"], tmp_path)
    assert (not_executable.returncode, not_executable.stderr) == (126, "lsautofix: ./python3: not an executable file\n")


def test_a_directory_named_like_python_is_a_program(tmp_path):
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "__main__.py").write_text("print('the directory ran')\n")
    out = _console(["python"], tmp_path)
    assert out.stdout == "the directory ran\n" and out.returncode == 0


def test_usage_errors(tmp_path):
    for args in ([], ["run"]):
        out = _console(args, tmp_path)
        assert out.returncode == 2 and out.stdout == "" and out.stderr.startswith("usage: lsautofix")


def test_doctor_is_still_dispatched(tmp_path):
    out = _console(["doctor", "--help"], tmp_path)
    assert out.returncode == 0 and "doctor" in out.stdout


@pytest.mark.parametrize(
    ("argv", "options", "letters"),
    [
        (["-m", "lsautofix", "x.py"], [], ""),
        (["-X", "dev", "-Wdefault", "-m", "lsautofix"], ["-X", "dev", "-Wdefault"], "XW"),
        (["-Im", "lsautofix"], ["-I"], "I"),
        (["-Imlsautofix", "a"], ["-I"], "I"),
        (["-bBW", "error", "-S", "app.py", "-I"], ["-bBW", "error", "-S"], "bBWS"),
        (["--check-hash-based-pycs", "always", "-u", "-", "-S"], ["--check-hash-based-pycs", "always", "-u"], "u"),
        (["--", "-S"], [], ""),
        (["-c", "pass", "-S"], [], ""),
        (["-Z", "-S"], [], ""),  # Python stops at an unknown option too, with a usage error
    ],
)
def test_split_options_reads_a_command_line_as_cpython_does(argv, options, letters):
    assert runner.split_options(argv) == (options, letters)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("python", True),
        ("python3", True),
        ("python3.12", True),
        ("python3.13t", True),
        ("pypy3", True),
        ("/usr/bin/python3.11", True),
        ("python.exe", True),
        ("python3.py", False),
        ("python-config", False),
        ("python3.", False),
        ("app.py", False),
        ("pythonista", False),
    ],
)
def test_interpreter_names(word, expected):
    assert runner.is_interpreter_name(word) is expected


def test_a_bad_setting_warns_once_under_the_runner(tmp_path):
    # Settings other than LANGSMITH_AUTOFIX are read when lsautofix installs (langsmith imported):
    # the runner's own process never does, the program does, once.
    script = tmp_path / "traces.py"
    script.write_text("import langsmith\nprint('ok')\n")
    bad = {"LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": "abc"}
    ours = _run(["-m", "lsautofix", str(script)], tmp_path, clean_environ(bad))
    direct = _run([str(script)], tmp_path, clean_environ({"LANGSMITH_AUTOFIX": "1", **bad}))
    assert direct.stderr.count("ConfigurationWarning") == 1, direct.stderr
    assert ours.stderr == direct.stderr and ours.stdout == direct.stdout == "ok\n"
