"""TraceContext: capture the tracing context where work is submitted, re-enter it where it runs.

Same process: a copy of the submitter's :class:`contextvars.Context`, plus a strong reference to
the current run (the SDK keeps only a weak one, so a fire-and-forget task would otherwise lose a
parent that has already returned). Other process: a small picklable snapshot in the SDK's own
distributed-tracing form (``RunTree.to_headers()`` and ``tracing_context(parent=...)``).

Nothing is captured when no tracing context is set: untraced work runs exactly as without
lsautofix, in the thread's own context.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from contextvars import ContextVar
from typing import Any, Callable, Optional, TypeVar

logger = logging.getLogger("lsautofix")

T = TypeVar("T")

#: The context variables whose being set means "there is tracing context to carry".
_vars: tuple[ContextVar[Any], ...] = ()
_get_run_tree: Optional[Callable[[], Any]] = None
#: The SDK's current-run variable: set in nearly every traced context, so checked first.
parent_var: Optional[ContextVar[Any]] = None
_always = False  # the SDK's variables could not be found: carry every context


def bind_langsmith() -> None:
    """Look up the SDK's context variables (called once langsmith is imported)."""
    global _vars, _get_run_tree, _always, parent_var
    try:
        from langsmith import run_helpers

        found = tuple(run_helpers._CONTEXT_KEYS.values())
        _get_run_tree = run_helpers.get_current_run_tree
        parent_var = getattr(run_helpers, "_PARENT_RUN_TREE", None)
    except Exception:
        logger.debug("lsautofix: langsmith's context variables not found; copying every context")
        _always = True
        return
    _vars = tuple(dict.fromkeys(found + _vars))


def bind_langchain_core() -> None:
    """Add langchain_core's run config variable (its runnables read their parent from it)."""
    global _vars
    try:
        from langchain_core.runnables.config import var_child_runnable_config
    except Exception:
        logger.debug("lsautofix: langchain_core's context variable not found")
        return
    _vars = tuple(dict.fromkeys(_vars + (var_child_runnable_config,)))


def has_tracing_context() -> bool:
    """Whether the current context carries anything the SDK reads."""
    if _always:
        return True
    for var in _vars:
        if var.get(None) is not None:
            return True
    return False


class LocalContext:
    """A context copied at submit time, run once in another thread of this process."""

    __slots__ = ("context", "run_tree")

    def __init__(self, context: contextvars.Context, run_tree: Any) -> None:
        self.context = context
        self.run_tree = run_tree  # keeps the parent run alive until the work has run

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.context.run(fn, *args, **kwargs)


def capture() -> Optional[LocalContext]:
    """The submitter's tracing context, or None when there is none to carry."""
    if not has_tracing_context():
        return None
    return LocalContext(contextvars.copy_context(), _get_run_tree() if _get_run_tree else None)


def is_context_run(fn: Any) -> bool:
    """Whether ``fn`` already runs in a context of its own (``partial(ctx.run, ...)``).

    That is how langsmith's and langchain_core's ``ContextThreadPoolExecutor`` submit work, so a
    second copy would only cost time.
    """
    func = getattr(fn, "func", None)
    return func is not None and type(getattr(func, "__self__", None)) is contextvars.Context


# --- across processes -----------------------------------------------------------------------


def capture_remote() -> Optional[dict[str, Any]]:
    """A picklable snapshot of the tracing context for another process, or None.

    Keys: ``parent`` (``RunTree.to_headers()``: trace id, dotted order, and the baggage with
    project, tags and metadata), ``project_name`` and ``enabled`` when set in the context.
    """
    if not has_tracing_context() or "langsmith" not in sys.modules:
        return None
    try:
        from langsmith import run_helpers

        ctx = run_helpers.get_tracing_context()
    except Exception:
        logger.debug("lsautofix: could not read the tracing context", exc_info=True)
        return None
    snapshot: dict[str, Any] = {}
    parent = ctx.get("parent")
    if parent is not None:
        try:
            snapshot["parent"] = parent.to_headers()
        except Exception:
            logger.debug("lsautofix: could not serialize the parent run", exc_info=True)
    for key in ("project_name", "enabled"):
        value = ctx.get(key)
        if value is not None:
            snapshot[key] = value
    return snapshot or None


def run_remote(snapshot: Optional[dict[str, Any]], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` under a snapshot made by :func:`capture_remote` in another process."""
    if not snapshot:
        return fn(*args, **kwargs)
    try:
        from langsmith.run_helpers import tracing_context

        manager = tracing_context(**snapshot)
        manager.__enter__()
    except Exception:
        logger.debug("lsautofix: could not enter the parent's tracing context", exc_info=True)
        return fn(*args, **kwargs)
    try:
        result = fn(*args, **kwargs)
    except BaseException:
        manager.__exit__(*sys.exc_info())
        raise
    manager.__exit__(None, None, None)
    return result
