"""``lsautofix doctor``: run a program twice against a local collector, without and with lsautofix.

By job: :mod:`.supervise` runs the program and gathers facts (exit, output, the run ledger, what
the collector received), :mod:`.analyse` judges them into typed results, :mod:`.render` shows
them, and :mod:`.command` is the command line. Nothing here imports :mod:`lsautofix.cli`.
"""

from lsautofix.doctor.command import main

__all__ = ["main"]
