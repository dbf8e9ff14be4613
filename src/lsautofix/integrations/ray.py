"""ray: not yet."""

from __future__ import annotations


def apply() -> None:
    pass


def revert() -> None:
    pass
