"""Activate lsautofix in every Python process of an environment, through ``sitecustomize``.

Put this file's directory on ``PYTHONPATH`` (or copy the file into site-packages). Python imports
``sitecustomize`` at startup. The ``.pth`` file that ``pip install lsautofix`` adds already does
this whenever ``LANGSMITH_AUTOFIX=1``; use this route when you want lsautofix on without that
variable, e.g. in an image you build.

A ``sitecustomize.py`` of yours can hide another one further down ``sys.path`` (only the first
is imported), so this one chains to the next one it finds.
"""

import importlib.util
import os
import sys


def _activate() -> None:
    if os.environ.get("LANGSMITH_AUTOFIX", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    try:
        import lsautofix  # noqa: F401  (importing it activates it)
    except Exception as exc:  # never break interpreter startup
        sys.stderr.write(f"sitecustomize: lsautofix not activated: {exc!r}\n")


def _chain() -> None:
    """Import the next ``sitecustomize`` on ``sys.path`` that this one is hiding, if any."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == here:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_next_sitecustomize", candidate)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            return


_activate()
_chain()
