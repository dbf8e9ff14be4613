"""``lsautofix doctor``: run a program twice against a local collector, without and with lsautofix.

By job: :mod:`.supervise` runs the program and gathers facts (exit, output, the run ledger, what
the collector received), :mod:`.analyse` judges them into typed results, :mod:`.render` shows
them, and :mod:`.command` is the command line. Nothing here imports :mod:`lsautofix.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str]) -> int:
    """``lsautofix doctor ...``; an install without the ``doctor`` extra gets a one-line answer, exit 2."""
    try:
        from lsautofix.doctor.command import main as run
    except ImportError as exc:
        if "pip install" not in str(exc):
            raise
        sys.stderr.write(f"lsautofix doctor: {exc}\n")
        return 2
    return run(argv)


__all__ = ["main"]
