"""Settings read once from the ``LANGSMITH_AUTOFIX*`` environment variables.

Stdlib only and cheap: this module is imported by the ``.pth`` line of every Python process.
A bad value never raises: it produces one :class:`ConfigurationWarning` and the default.
"""

from __future__ import annotations

import os
TYPE_CHECKING = False  # typing costs milliseconds to import; mypy still reads the block below

if TYPE_CHECKING:
    from typing import Mapping, Optional

ENABLE_VAR = "LANGSMITH_AUTOFIX"
TIMEOUT_VAR = "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT"
DISABLE_VAR = "LANGSMITH_AUTOFIX_DISABLE"

TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("0", "false", "no", "off")
DEFAULT_FLUSH_TIMEOUT = 10.0
MAX_FLUSH_TIMEOUT = 600.0
#: What LANGSMITH_AUTOFIX_DISABLE can name: the patch modules, then the engine integrations.
PATCH_NAMES = (
    "threads", "tasks", "processes", "fork", "exit", "signals", "evaluation",
    "celery", "joblib", "dask", "ray",
)  # fmt: skip


from lsautofix._categories import ConfigurationWarning


class Settings:
    """What the environment asked for (a plain class: dataclasses cost milliseconds to import).

    ``enabled`` is ``None`` when ``LANGSMITH_AUTOFIX`` is unset, ``False`` when it is off or
    invalid, ``True`` when it is on.
    """

    __slots__ = ("enabled", "flush_timeout", "disabled")

    def __init__(
        self,
        enabled: Optional[bool] = None,
        flush_timeout: float = DEFAULT_FLUSH_TIMEOUT,
        disabled: frozenset[str] = frozenset(),
    ) -> None:
        self.enabled = enabled
        self.flush_timeout = flush_timeout
        self.disabled = disabled

    def __repr__(self) -> str:
        return f"Settings(enabled={self.enabled!r}, flush_timeout={self.flush_timeout!r}, disabled={set(self.disabled)!r})"


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, ConfigurationWarning, stacklevel=3)


def parse_enabled(raw: Optional[str]) -> Optional[bool]:
    """``LANGSMITH_AUTOFIX``: on/off words in any case; anything else warns and means off."""
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    _warn(
        f"{ENABLE_VAR}={raw!r} is not understood; lsautofix stays inactive. "
        f"Use one of {', '.join(TRUE_VALUES)} to enable it or {', '.join(FALSE_VALUES)} to disable it."
    )
    return False


def parse_flush_timeout(raw: Optional[str]) -> float:
    """``LANGSMITH_AUTOFIX_FLUSH_TIMEOUT``: seconds in [0, 600]; anything else warns and uses 10."""
    if raw is None:
        return DEFAULT_FLUSH_TIMEOUT
    try:
        value = float(raw.strip())
    except ValueError:
        value = float("nan")
    if not (0.0 <= value <= MAX_FLUSH_TIMEOUT):  # also rejects nan
        _warn(
            f"{TIMEOUT_VAR}={raw!r} is not a number of seconds between 0 and {MAX_FLUSH_TIMEOUT:g}; "
            f"using the default of {DEFAULT_FLUSH_TIMEOUT:g} seconds."
        )
        return DEFAULT_FLUSH_TIMEOUT
    return value


def parse_disabled(raw: Optional[str]) -> frozenset[str]:
    """``LANGSMITH_AUTOFIX_DISABLE``: comma-separated patch names to leave alone."""
    if raw is None or not raw.strip():
        return frozenset()
    names = {part.strip().lower() for part in raw.split(",") if part.strip()}
    unknown = sorted(names.difference(PATCH_NAMES))
    if unknown:
        _warn(
            f"{DISABLE_VAR} names unknown patches {unknown!r}; they are ignored. "
            f"Known patches: {', '.join(PATCH_NAMES)}."
        )
    return frozenset(names.intersection(PATCH_NAMES))


def read(environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Read every setting from ``environ`` (default: ``os.environ``)."""
    env = os.environ if environ is None else environ
    return Settings(
        enabled=parse_enabled(env.get(ENABLE_VAR)),
        flush_timeout=parse_flush_timeout(env.get(TIMEOUT_VAR)),
        disabled=parse_disabled(env.get(DISABLE_VAR)),
    )


_settings: Optional[Settings] = None
_enabled: Optional[tuple[Optional[bool]]] = None


def enabled() -> Optional[bool]:
    """``LANGSMITH_AUTOFIX`` alone, read once: all that activation needs.

    The other settings are read when lsautofix installs, so a process that never traces (the
    runner's own, before it becomes the program) never warns about them.
    """
    global _enabled
    if _enabled is None:
        _enabled = (parse_enabled(os.environ.get(ENABLE_VAR)),)
    return _enabled[0]


def settings() -> Settings:
    """The process's settings, read on first use (so each bad value warns once)."""
    global _settings
    if _settings is None:
        _settings = Settings(
            enabled=enabled(),
            flush_timeout=parse_flush_timeout(os.environ.get(TIMEOUT_VAR)),
            disabled=parse_disabled(os.environ.get(DISABLE_VAR)),
        )
    return _settings


def reload() -> Settings:
    """Read the environment again (tests)."""
    global _settings, _enabled
    _settings = _enabled = None
    return settings()
