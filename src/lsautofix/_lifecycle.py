"""The one place that knows whether lsautofix is off, armed or installed, under one lock.

- off: nothing is patched and nothing waits for an import.
- armed: activated (``LANGSMITH_AUTOFIX=1``, the runner, ``import lsautofix``); the patches apply
  when ``langsmith`` or ``langchain_core`` is imported (:mod:`lsautofix._startup` watches for it).
- installed: every patch not named in ``LANGSMITH_AUTOFIX_DISABLE`` is applied.

Importing this module is cheap (the ``.pth`` path may reach it): patch modules, wrapt and the SDK
are imported only by :func:`install`.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    import logging
    from types import ModuleType

OFF, ARMED, INSTALLED = "off", "armed", "installed"

_lock = _thread.RLock()
_state = OFF
_bound_hooks = False

#: The patch modules, in the order they are applied (reverted in reverse), by their name in
#: ``LANGSMITH_AUTOFIX_DISABLE``; the engine integrations follow, each applied when its engine
#: is imported.
PATCHES = ("fork", "exit", "signals", "threads", "tasks", "processes", "evaluation")


def state() -> str:
    return _state


def _modules() -> dict[str, ModuleType]:
    import importlib

    from lsautofix import integrations

    patches = {name: importlib.import_module(f"lsautofix.patches.{name}") for name in PATCHES}
    return {**patches, **integrations.modules()}  # the engines: joblib (and loky), dask, ray, celery


def arm() -> None:
    """Install when tracing code is imported (now, if it already is)."""
    global _state
    from lsautofix import _startup

    with _lock:
        if _state != OFF:
            return
        _state = ARMED
    _startup.watch_for_tracing()


def on_tracing_imported() -> None:
    """``langsmith`` or ``langchain_core`` was imported: install if armed (never raises)."""
    if _state != ARMED:
        return
    try:
        install()
    except Exception:  # pragma: no cover - defensive: lsautofix must never break an import
        _log().warning("lsautofix: applying the patches failed; tracing continues unpatched", exc_info=True)


def _log() -> logging.Logger:
    import logging  # not at import: this module is on the startup path, and logging costs milliseconds

    return logging.getLogger("lsautofix")


def _bind_context_hooks() -> None:
    """Learn the SDKs' tracing variables as soon as each is imported (once per process)."""
    global _bound_hooks
    if _bound_hooks:
        return
    import wrapt

    from lsautofix import context

    wrapt.register_post_import_hook(lambda m: context.sdk_imported(), "langsmith.run_helpers")
    wrapt.register_post_import_hook(lambda m: context.bind_langchain_core(), "langchain_core.runnables.config")
    _bound_hooks = True


def install() -> None:
    """Apply every patch not named in ``LANGSMITH_AUTOFIX_DISABLE``; a second call does nothing."""
    global _state
    from lsautofix import config, flushing

    with _lock:
        if _state == INSTALLED:
            return
        disabled = config.settings().disabled
        _bind_context_hooks()
        flushing.apply()
        for name, module in _modules().items():
            if name in disabled:
                continue
            try:
                module.apply()
            except Exception:
                _log().warning("lsautofix: the %s patch could not be applied", name, exc_info=True)
        _state = INSTALLED


def uninstall() -> None:
    """Revert every patch to the exact original objects and stop watching for imports."""
    global _state
    from lsautofix import _startup, flushing

    with _lock:
        previous, _state = _state, OFF
        _startup.stop_watching()
        if previous != INSTALLED:
            return
        for module in reversed(list(_modules().values())):
            module.revert()
        flushing.revert()


def is_installed() -> bool:
    return _state == INSTALLED


def install_in_child() -> None:
    """A spawn or forkserver child of an installed parent: install before the child's code runs."""
    arm()
    install()
