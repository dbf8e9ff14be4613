"""The startup path: what ``import lsautofix`` and the ``.pth`` line run.

It must stay cheap and must never raise: it imports only the standard library modules the
interpreter has already loaded, and defers every patch until ``langsmith`` or ``langchain_core``
is imported (through a small post-import hook on ``sys.meta_path``). wrapt, asyncio and langsmith
are imported only then.
"""

from __future__ import annotations

import _thread
import sys
TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Optional, Sequence

#: Importing any of these means the process traces, so the patches are applied then.
TRIGGER_MODULES = ("langsmith", "langchain_core")

_lock = _thread.RLock()


def _log_failure(what: str) -> None:
    import logging

    logging.getLogger("lsautofix").warning("lsautofix: %s", what, exc_info=True)


class _HookedLoader:
    """Runs the real loader, then :func:`_on_trigger`; the module keeps its own loader."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Optional[ModuleType]:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _on_trigger(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _PostImportFinder:
    """A meta path finder that only answers for :data:`TRIGGER_MODULES` and only to wrap them."""

    def __init__(self) -> None:
        self._busy = _thread._local()

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None, target: Any = None) -> Any:
        if fullname not in TRIGGER_MODULES or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            spec = None
            for finder in list(sys.meta_path):
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy.on = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _HookedLoader(spec.loader)
        return spec


_finder: Optional[_PostImportFinder] = None
_ledger_dir: Optional[str] = None

#: Set by ``lsautofix doctor`` in the programs it runs: record every run created, per process.
LEDGER_VAR = "LSAUTOFIX_LEDGER"


def _on_trigger(module: Optional[ModuleType] = None) -> None:
    """Tracing code was imported: start the ledger if asked, and install if armed."""
    stop_watching()  # its work is done: later imports pay nothing
    if _ledger_dir:
        try:
            from lsautofix import _ledger

            _ledger.install(_ledger_dir)
        except Exception:  # pragma: no cover - defensive
            _log_failure("the doctor's run ledger could not start")
    from lsautofix import _lifecycle

    _lifecycle.on_tracing_imported()


def watch_for_tracing() -> None:
    """Call :func:`_on_trigger` now if tracing code is imported, else when it is."""
    global _finder
    with _lock:
        if any(name in sys.modules for name in TRIGGER_MODULES):
            trigger = True
        else:
            trigger = False
            if _finder is None:
                _finder = _PostImportFinder()
                sys.meta_path.insert(0, _finder)
    if trigger:
        _on_trigger()


def stop_watching() -> None:
    global _finder
    with _lock:
        if _finder is not None:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None


def is_activated() -> bool:
    """Whether this process was activated (armed or installed)."""
    from lsautofix import _lifecycle

    return _lifecycle.state() != _lifecycle.OFF


def on_import() -> None:
    """Called by ``lsautofix/__init__``: activate unless ``LANGSMITH_AUTOFIX`` says off.

    The ``.pth`` line imports lsautofix only when the variable is present, so the same rule
    gives: variable on means active in every process; ``import lsautofix`` means active unless
    the variable is off (or not understood, which warns).
    """
    global _ledger_dir
    try:
        import os

        from lsautofix import _lifecycle, config

        _ledger_dir = os.environ.get(LEDGER_VAR) or None
        if config.enabled() is not False:
            _lifecycle.arm()
        elif _ledger_dir:
            watch_for_tracing()
    except Exception:  # pragma: no cover - defensive
        _log_failure("activation failed")
