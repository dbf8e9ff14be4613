"""install() and uninstall(): apply or revert every patch, once, under one lock."""

from __future__ import annotations

import logging
import threading
from types import ModuleType

from lsautofix import config, context, flushing as flush
from lsautofix.patches import processes, threads

logger = logging.getLogger("lsautofix")

_lock = threading.RLock()
_installed = False
_hooks_registered = False


def _patch_modules() -> dict[str, ModuleType]:
    from lsautofix import integrations
    from lsautofix.patches import evaluation, tasks

    patches = {"tasks": tasks, "threads": threads, "processes": processes, "evaluation": evaluation}
    return {**patches, **integrations.modules()}  # the engines: joblib (and loky), dask, ray, celery


def _bind(module: ModuleType) -> None:
    context.bind_langsmith()


def _bind_langchain(module: ModuleType) -> None:
    context.bind_langchain_core()


def install() -> None:
    """Apply every patch not named in ``LANGSMITH_AUTOFIX_DISABLE``. A second call does nothing."""
    global _installed
    with _lock:
        if _installed:
            return
        global _hooks_registered
        settings = config.settings()
        if not _hooks_registered:
            import wrapt

            wrapt.register_post_import_hook(_bind, "langsmith.run_helpers")
            wrapt.register_post_import_hook(_bind_langchain, "langchain_core.runnables.config")
            _hooks_registered = True
        if "exit" not in settings.disabled:
            flush.register_hooks()
        flush.apply()
        for name, module in _patch_modules().items():
            if name in settings.disabled:
                continue
            try:
                module.apply()
            except Exception:
                logger.debug("lsautofix: the %s patch could not be applied", name, exc_info=True)
        _installed = True


def uninstall() -> None:
    """Revert every patch to the exact original objects and drop the post-import hook."""
    global _installed
    from lsautofix import _startup

    with _lock:
        _startup.deactivate()
        if not _installed:
            return
        for module in reversed(list(_patch_modules().values())):
            module.revert()
        flush.revert()
        _installed = False


def is_installed() -> bool:
    return _installed


def install_in_child() -> None:
    """A spawn or forkserver child of an active parent: install before the child's code runs."""
    from lsautofix import _startup

    _startup.activate()
    install()
