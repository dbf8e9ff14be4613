"""lsautofix: LangSmith tracing that survives threads, processes, asyncio and exit.

``import lsautofix`` once at startup activates it (unless ``LANGSMITH_AUTOFIX`` says off): the
patches apply when ``langsmith`` or ``langchain_core`` is imported, or at once if one already is.
Importing this package is cheap: it loads no third-party module.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    from typing import Optional

from lsautofix._version import __version__
from lsautofix._categories import ConfigurationWarning, UnconsumedEvaluationWarning

__all__ = [
    "ConfigurationWarning",
    "UnconsumedEvaluationWarning",
    "__version__",
    "flush",
    "install",
    "is_installed",
    "uninstall",
]


def install() -> None:
    """Apply every patch now (idempotent: a second call does nothing)."""
    from lsautofix import _lifecycle

    _lifecycle.install()


def uninstall() -> None:
    """Restore the exact original functions (and SIGTERM's default action) and stop patching on later imports.

    The interpreter's fork hooks cannot be removed: they stay registered and do nothing.
    """
    from lsautofix import _lifecycle

    _lifecycle.uninstall()


def is_installed() -> bool:
    """Whether the patches are currently applied."""
    from lsautofix import _lifecycle

    return _lifecycle.is_installed()


def flush(timeout: Optional[float] = None) -> int:
    """Send every pending run of every live client, waiting at most ``timeout`` seconds.

    ``None`` uses ``LANGSMITH_AUTOFIX_FLUSH_TIMEOUT``. Returns how many operations were still
    unsent when it gave up (0 means everything was delivered).
    """
    from lsautofix import flushing as _flush

    return _flush.flush(timeout, reason="lsautofix.flush()")


from lsautofix import _startup  # noqa: E402

_startup.on_import()
