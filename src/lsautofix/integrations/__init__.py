"""Engine integrations: one module per engine, each with idempotent ``apply()`` and ``revert()``.

Each module only registers post-import hooks when applied: it imports no engine, and patches an
engine's classes when (and if) the program imports that engine. The names are those of
``LANGSMITH_AUTOFIX_DISABLE`` (``joblib`` covers loky, the standalone package and joblib's copy).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: LANGSMITH_AUTOFIX_DISABLE name -> integration module.
ENGINES = ("joblib", "dask", "ray", "celery")


def modules() -> dict[str, ModuleType]:
    """The integration modules, by the name that disables them (cheap: they import no engine)."""
    return {name: importlib.import_module(f"lsautofix.integrations.{name}") for name in ENGINES}
