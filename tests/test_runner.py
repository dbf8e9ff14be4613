"""`python -m lsautofix` runs a program exactly as `python` would, with lsautofix active."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_environ

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


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=clean_environ(), capture_output=True, text=True)


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
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=clean_environ())
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
