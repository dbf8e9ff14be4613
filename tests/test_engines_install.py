"""The engine integrations: applied on install (also to engines imported first), exactly reverted, switchable off."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import clean_environ

_CHECK = r"""
import importlib, json, sys

wanted = sys.argv[1].split(",")
targets = {
    "joblib": [("joblib.parallel", "Parallel", "__call__"), ("joblib.parallel", "Parallel", "_dispatch"),
               ("joblib.parallel", "BatchedCalls", "__call__"), ("joblib.parallel", "BatchedCalls", "__reduce__"),
               ("joblib.externals.loky.process_executor", "ProcessPoolExecutor", "submit"),
               ("joblib.externals.loky.process_executor", "_ExecutorManagerThread", "kill_workers"),
               ("joblib.externals.loky.backend.spawn", None, "get_preparation_data"),
               ("loky.process_executor", "ProcessPoolExecutor", "submit")],
    "dask": [("distributed.client", "Client", name) for name in ("submit", "map", "compute", "persist", "get")]
            + [("distributed.worker", "Worker", "execute")],
    "ray": [("ray.remote_function", "RemoteFunction", "_remote"), ("ray.actor", "ActorMethod", "_remote"),
            ("ray.actor", None, "_modify_class"), ("ray._private.worker", None, "shutdown"), ("ray", None, "shutdown")],
    "celery": [],
}
for engine in wanted:  # the engines first: lsautofix must patch modules imported before it installs
    for module, _, _ in targets[engine]:
        importlib.import_module(module)
    if engine == "celery":
        importlib.import_module("celery.signals")


def current():
    found = {}
    for engine in wanted:
        for module, owner, name in targets[engine]:
            obj = sys.modules[module] if owner is None else vars(sys.modules[module])[owner]
            found[f"{module}.{owner}.{name}"] = vars(obj)[name] if owner else getattr(obj, name)
        if engine == "celery":
            from celery import signals
            found["celery receivers"] = tuple(
                len(getattr(signals, s).receivers) for s in ("before_task_publish", "task_prerun", "task_postrun"))
    return found


before = current()
import langsmith, lsautofix
lsautofix.install()
during = current()
lsautofix.install()
again = current()
lsautofix.uninstall()
after = current()
def same(a, b):  # identity: a wrapt proxy compares equal to what it wraps
    return a == b if isinstance(a, tuple) else a is b


print(json.dumps({
    "changed": sorted(k for k in before if not same(during[k], before[k])),
    "unchanged": sorted(k for k in before if same(during[k], before[k])),
    "twice_is_once": all(same(again[k], during[k]) for k in before),
    "restored": sorted(k for k in before if same(after[k], before[k])),
    "all": sorted(before),
}))
"""

_MODULES = {"joblib": "joblib", "dask": "distributed", "ray": "ray", "celery": "celery"}
ENGINES = [engine for engine, module in _MODULES.items() if importlib.util.find_spec(module) is not None]


def _check(engines: list[str], env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK, ",".join(engines)],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_environ(env),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not ENGINES, reason="no engine installed")
def test_install_patches_engines_imported_before_it_and_uninstall_restores_them():
    found = _check(ENGINES)
    assert found["changed"] == found["all"], f"not patched: {found['unchanged']}"
    assert found["twice_is_once"]
    assert found["restored"] == found["all"]


@pytest.mark.skipif(not ENGINES, reason="no engine installed")
def test_disabled_engines_are_left_alone():
    found = _check(ENGINES, {"LANGSMITH_AUTOFIX_DISABLE": ",".join(ENGINES)})
    assert found["changed"] == []
