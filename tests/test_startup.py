"""The .pth activation: cheap, lazy, never raising, once."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import clean_environ, pth_installed

pytestmark = pytest.mark.skipif(not pth_installed(), reason="needs `pip install -e .` (the .pth file)")

#: What activation must not import: the patches, wrapt, asyncio, logging, the SDK.
MODULES = (
    "import sys, json; print(json.dumps(sorted(m for m in ('wrapt', 'asyncio', 'logging', 'langsmith', 'lsautofix', "
    "'lsautofix.flushing', 'lsautofix.context', 'lsautofix.patches') if m in sys.modules)))"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=clean_environ(env), capture_output=True, text=True)


def test_env_var_activates_without_importing_wrapt_asyncio_or_langsmith():
    out = _python(MODULES, LANGSMITH_AUTOFIX="1")
    assert json.loads(out.stdout) == ["lsautofix"], out.stderr


def test_unset_or_off_imports_nothing():
    assert json.loads(_python(MODULES).stdout) == []
    assert json.loads(_python(MODULES, LANGSMITH_AUTOFIX="off").stdout) == ["lsautofix"]  # read, then stays off


def test_patches_apply_when_langsmith_is_imported():
    code = (
        "import threading; original = vars(threading.Thread)['start']; import lsautofix, langsmith; "
        "print(lsautofix.is_installed(), vars(threading.Thread)['start'] is not original)"
    )
    assert _python(code, LANGSMITH_AUTOFIX="1").stdout.split() == ["True", "True"]
    assert _python(code, LANGSMITH_AUTOFIX="0").stdout.split() == ["False", "False"]


def test_patches_apply_when_langchain_core_is_imported():
    pytest.importorskip("langchain_core")
    code = "import lsautofix, langchain_core; print(lsautofix.is_installed())"
    assert _python(code, LANGSMITH_AUTOFIX="yes").stdout.strip() == "True"


def test_pth_line_executed_twice_activates_once():
    pth = Path(sysconfig.get_paths()["purelib"]) / "lsautofix.pth"
    line = pth.read_text()
    code = (
        f"import sys\nline = {line!r}\nexec(line); exec(line)\n"
        "import lsautofix._startup as s, langsmith\n"
        "print(sum(isinstance(f, s._PostImportFinder) for f in sys.meta_path), __import__('lsautofix').is_installed())"
    )
    assert _python(code, LANGSMITH_AUTOFIX="1").stdout.split() == ["0", "True"]


def test_pth_never_raises_even_if_lsautofix_is_broken(tmp_path):
    (tmp_path / "lsautofix").mkdir()
    (tmp_path / "lsautofix" / "__init__.py").write_text("raise RuntimeError('broken install')")
    out = subprocess.run(
        [sys.executable, "-c", "print('alive')"],
        env=clean_environ({"LANGSMITH_AUTOFIX": "1", "PYTHONPATH": str(tmp_path)}),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.strip() == "alive"
    assert "lsautofix: not activated" in out.stderr


def test_sitecustomize_example_activates_without_the_variable():
    example = Path(__file__).resolve().parents[1] / "sitecustomize_example"
    code = "import sys, lsautofix._startup as s; print('lsautofix' in sys.modules, s.is_activated())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=clean_environ({"PYTHONPATH": str(example)}), capture_output=True, text=True
    )
    assert out.stdout.split() == ["True", "True"], out.stderr
    off = subprocess.run(
        [sys.executable, "-c", code], env=clean_environ({"PYTHONPATH": str(example), "LANGSMITH_AUTOFIX": "0"}),
        capture_output=True, text=True,
    )
    assert off.stdout.split() == ["True", "False"], off.stderr
