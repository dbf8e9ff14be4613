"""One ``os.register_at_fork`` for lsautofix, with hooks that each run in their own try (ddtrace's forksafe).

Hooks must be cheap and start nothing: a fork child that never traces must look exactly like
one forked without lsautofix (CPython's own tests count its threads).
"""

from __future__ import annotations

import logging
import os
from typing import Callable

logger = logging.getLogger("lsautofix")

before: list[Callable[[], None]] = []
after_in_parent: list[Callable[[], None]] = []
after_in_child: list[Callable[[], None]] = []
_registered = False


def _run(hooks: list[Callable[[], None]]) -> None:
    for hook in list(hooks):
        try:
            hook()
        except Exception:
            logger.debug("lsautofix: a fork hook failed", exc_info=True)


def register() -> None:
    """Register the three hook lists with the interpreter, once per process (they cannot be removed)."""
    global _registered
    if _registered or not hasattr(os, "register_at_fork"):
        return
    _registered = True
    os.register_at_fork(
        before=lambda: _run(before),
        after_in_parent=lambda: _run(after_in_parent),
        after_in_child=lambda: _run(after_in_child),
    )


def add(hooks: list[Callable[[], None]], hook: Callable[[], None]) -> None:
    """Add ``hook`` to a list once (apply() may run again after revert())."""
    if hook not in hooks:
        hooks.append(hook)
    register()


def discard(hooks: list[Callable[[], None]], hook: Callable[[], None]) -> None:
    while hook in hooks:
        hooks.remove(hook)
