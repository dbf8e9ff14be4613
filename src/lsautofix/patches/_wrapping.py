"""Record-and-restore bookkeeping shared by the patch modules.

``Patches.wrap(owner, name, wrapper)`` puts a ``wrapt.FunctionWrapper`` on ``owner.name`` and
remembers the original object, so ``unwrap_all`` restores the exact original (checked by
identity). If another library wrapped the same attribute after us, its wrapper is left alone and
ours, still in its chain, passes straight through: every wrapper checks ``Patches.active`` first.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Callable

logger = logging.getLogger("lsautofix")

Wrapper = Callable[[Callable[..., Any], Any, tuple, dict], Any]

#: Recorded as the original of an attribute a class inherited: undoing the patch deletes ours.
_INHERITED: Any = object()


def _own(owner: Any, name: str) -> Any:
    """What ``owner`` itself holds under ``name`` (a class may inherit it), and what to wrap."""
    if isinstance(owner, type):
        own = owner.__dict__.get(name, _INHERITED)
        return own, (getattr(owner, name) if own is _INHERITED else own)
    original = getattr(owner, name)
    return original, original


class Patches:
    """The attributes one patch module has wrapped."""

    def __init__(self) -> None:
        self._done: list[tuple[Any, str, Any, Any]] = []  # (owner, name, original, installed)
        self._hooks: set[str] = set()
        self._lock = threading.RLock()
        self.active = False

    def start(self) -> bool:
        """Mark the patch active; False if it already was."""
        with self._lock:
            if self.active:
                return False
            self.active = True
            return True

    def wrap(self, owner: Any, name: str, wrapper: Wrapper) -> None:
        import wrapt

        with self._lock:
            if not self.active or any(o is owner and n == name for o, n, _, _ in self._done):
                return
            own, original = _own(owner, name)
            patched = wrapt.FunctionWrapper(original, wrapper)
            setattr(owner, name, patched)
            self._done.append((owner, name, own, patched))

    def replace(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Put ``make(original)``, a plain function, on ``owner.name`` (for the hottest paths).

        A ``wrapt.FunctionWrapper`` costs about half a microsecond per call on a method (a bound
        wrapper is built on every attribute access); where that matters, a plain function
        wrapper with the original's exact signature is used instead, recorded and restored the
        same way.
        """
        with self._lock:
            if not self.active or any(o is owner and n == name for o, n, _, _ in self._done):
                return
            own, original = _own(owner, name)
            patched = make(original)
            setattr(owner, name, patched)
            self._done.append((owner, name, own, patched))

    def when_imported(self, module_name: str, apply: Callable[[Any], None]) -> None:
        """Run ``apply(module)`` now if the module is imported, else right after it is."""
        with self._lock:
            if module_name in self._hooks:
                module = sys.modules.get(module_name)
                if module is not None:
                    apply(module)
                return
            self._hooks.add(module_name)
        import wrapt

        def hook(module: Any) -> None:
            if self.active:
                try:
                    apply(module)
                except Exception:
                    logger.debug("lsautofix: patching %s failed", module_name, exc_info=True)

        wrapt.register_post_import_hook(hook, module_name)

    def unwrap_all(self) -> None:
        with self._lock:
            self.active = False
            for owner, name, original, patched in reversed(self._done):
                current = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
                if current is patched and original is _INHERITED:
                    delattr(owner, name)
                elif current is patched:
                    setattr(owner, name, original)
                else:
                    logger.debug("lsautofix: %r.%s was wrapped again by another library; ours now passes through", owner, name)
            self._done.clear()
