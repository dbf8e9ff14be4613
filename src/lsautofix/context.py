"""Tracing state: what crosses from where a unit of work is submitted to where it runs.

The rule: a unit of work (an executor ``submit``, a ``ThreadPool``/``Pool`` task, a
``Thread.start``, a ``Process.start``, an engine's remote call) runs with its submitter's *tracing
state* -- the SDK's and langchain_core's context variables (current run, project, address, tags,
metadata, enabled, client, replicas; a Runnable's config and LangChain's tracers) -- including "no
tracing" when the submitter has none. Every other context variable is exactly what plain Python
gives that code: a fresh context in a new thread, and in an executor or pool worker the worker's
own context, which persists across its tasks. asyncio tasks are left to asyncio's own
whole-context copy, which *is* Python's semantics there.

Same process: :func:`capture` reads the tracing variables' values and holds the current run
strongly (the SDK keeps only a weak reference, and a fire-and-forget task may run after its
parent returned); :meth:`TracingState.run` sets them around the call in the worker's own context
and resets them after. Other process: :func:`capture_remote` makes a small JSON-able snapshot in
the SDK's distributed-tracing form (``RunTree.to_headers()``), entered by :func:`run_remote` with
``tracing_context(parent=...)``.

Threads and processes an executor, pool or engine starts for itself (see
:func:`is_infrastructure`) carry nothing: the tasks they run carry their own.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextvars import ContextVar
from typing import Any, Callable, Optional, TypeVar

from lsautofix import _sdk

logger = logging.getLogger("lsautofix")

T = TypeVar("T")

#: The tracing variables known so far: langsmith's (its current-run reference first), then
#: langchain_core's once it is imported.
_vars: tuple[ContextVar[Any], ...] = ()
_nones: tuple[None, ...] = ()
_lock = threading.Lock()


def _read() -> tuple[Any, ...]:
    """The tracing variables' values in this context (replaced when variables are bound)."""
    return ()


def _compile(variables: tuple[ContextVar[Any], ...]) -> tuple[Callable[[], tuple[Any, ...]], type]:
    """Write out, for these variables, the two functions on every carried unit of work's path.

    ``_read()`` returns every variable's value in one tuple expression, and the state's ``run``
    sets the ones that are not None, calls the function and resets them, in straight lines. They
    run on every traced submit (``_read`` on untraced ones too, to learn there is nothing to
    carry); a loop over 12 variables with ``zip`` costs about three times as much
    (benchmarks/bench_threads.py). Generated once per set of variables, as ``namedtuple`` does.
    """
    n = len(variables)
    names: dict[str, Any] = {f"_v{i}": var for i, var in enumerate(variables)}
    names.update({f"_g{i}": var.get for i, var in enumerate(variables)})
    xs = "".join(f"x{i}, " for i in range(n))
    source = "\n".join(
        [
            "def _read():",
            f"    return ({''.join(f'_g{i}(None), ' for i in range(n))})",
            "def run(self, fn, /, *args, **kwargs):",
            f"    ({xs}) = self.values",
            *(f"    t{i} = None if x{i} is None else _v{i}.set(x{i})" for i in range(n)),
            "    try:",
            "        return fn(*args, **kwargs)",
            "    finally:",
            *(f"        if t{i} is not None: _v{i}.reset(t{i})" for i in reversed(range(n))),
            "",
        ]
    )
    exec(source, names)
    run = names["run"]
    run.__doc__ = "Call ``fn`` with these tracing values set; the thread's other variables are untouched."
    state_class = type("TracingState", (TracingState,), {"__slots__": (), "run": run})
    return names["_read"], state_class


_langsmith_vars: tuple[ContextVar[Any], ...] = ()
_langchain_vars: tuple[ContextVar[Any], ...] = ()


def _bind() -> None:
    """Recompile for langsmith's variables (current run first), then langchain_core's."""
    global _vars, _nones, _read, _state_class
    variables = tuple(dict.fromkeys(_langsmith_vars + _langchain_vars))
    if variables != _vars:
        _read, _state_class = _compile(variables)
        _vars, _nones = variables, (None,) * len(variables)


def bind_langsmith() -> None:
    """Learn the SDK's tracing variables (called once langsmith is imported)."""
    global _langsmith_vars
    try:
        found = _sdk.langsmith_context_vars()
    except Exception:
        logger.warning("lsautofix: langsmith's context variables were not found; nothing is carried", exc_info=True)
        return
    with _lock:
        _langsmith_vars = found
        _bind()


def bind_langchain_core() -> None:
    """Add langchain_core's (called once it is imported)."""
    global _langchain_vars
    try:
        found = _sdk.langchain_context_vars()
    except Exception:
        logger.debug("lsautofix: langchain_core's context variables were not found", exc_info=True)
        return
    with _lock:
        _langchain_vars = found
        _bind()


def tracing_variables() -> tuple[ContextVar[Any], ...]:
    return _vars


# --- same process -----------------------------------------------------------------------------


class TracingState:
    """The tracing variables' values where work was submitted, and the current run, held strongly.

    :meth:`run` sets, in the running thread's own context, the variables the submitter had set,
    and resets them after the call: a worker's context holds no tracing state between tasks (its
    threads start with none), so the ones the submitter had unset are unset there too. It may be
    entered by several threads at once (a ``ThreadPool.map`` shares one state among its tasks):
    no shared ``Context`` object is ever entered. The ``run`` of each set of variables is
    generated (:func:`_compile`).
    """

    __slots__ = ("values", "parent")

    def __init__(self, values: tuple[Any, ...], parent: Any) -> None:
        self.values = values
        self.parent = parent  # keeps the current run alive until the work has run

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        raise NotImplementedError  # pragma: no cover - replaced in each generated subclass


_state_class: type = TracingState


def capture() -> Optional[TracingState]:
    """The submitter's tracing state, or None when it has none (then there is nothing to carry)."""
    values = _read()
    if values == _nones:
        return None
    ref = values[0] if _langsmith_vars else None  # the SDK's weak reference to the current run
    return _state_class(values, ref() if ref is not None else None)  # type: ignore[no-any-return]


def has_tracing_state() -> bool:
    """Whether this context carries anything the SDK or LangChain reads."""
    return _read() != _nones


def clear() -> None:
    """Set every tracing variable to None in the current context: a worker starting with none."""
    for var in _vars:
        if var.get(None) is not None:
            var.set(None)


def is_context_run(fn: Any) -> bool:
    """Whether ``fn`` already runs in a context of its own (``partial(ctx.run, ...)``).

    That is how langsmith's and langchain_core's ``ContextThreadPoolExecutor`` submit work: the
    user chose a whole-context copy there, and it is kept.
    """
    import contextvars

    func = getattr(fn, "func", None)
    return func is not None and type(getattr(func, "__self__", None)) is contextvars.Context


# --- infrastructure ---------------------------------------------------------------------------

#: Threads and processes that executors, pools and servers start for themselves, by the
#: (module, qualified name) of their target function or of their class. They carry nothing.
_infrastructure: set[tuple[str, str]] = {
    ("concurrent.futures.thread", "_worker"),
    ("concurrent.futures.process", "_ExecutorManagerThread"),
    ("concurrent.futures.process", "_process_worker"),
    ("multiprocessing.pool", "worker"),
    ("multiprocessing.pool", "Pool._handle_workers"),
    ("multiprocessing.pool", "Pool._handle_tasks"),
    ("multiprocessing.pool", "Pool._handle_results"),
    ("multiprocessing.queues", "Queue._feed"),
    ("multiprocessing.managers", "BaseManager._run_server"),
    ("multiprocessing.managers", "Server.serve_forever"),
    ("multiprocessing.managers", "Server.accepter"),
    ("multiprocessing.managers", "Server.handle_request"),
    ("multiprocessing.resource_sharer", "_ResourceSharer._serve"),
    ("socketserver", "BaseServer.serve_forever"),
    ("socketserver", "ThreadingMixIn.process_request_thread"),
    ("logging.handlers", "QueueListener._monitor"),
    ("asyncio.unix_events", "ThreadedChildWatcher._do_waitpid"),
}
#: Modules whose threads are infrastructure whatever their target (the SDK's upload threads).
_infrastructure_modules = ("langsmith.", "lsautofix.")


def _key(obj: Any) -> tuple[str, str]:
    obj = getattr(obj, "__func__", obj)  # a bound method: its function
    return (getattr(obj, "__module__", None) or "", getattr(obj, "__qualname__", None) or "")


def register_infrastructure(*targets: Any) -> None:
    """Mark thread/process targets (functions, methods) or classes as infrastructure.

    Engine integrations call this for the workers, nannies and servers their engine starts.
    Strings ``"module:qualname"`` are accepted too, so nothing needs importing.
    """
    for target in targets:
        if isinstance(target, str):
            module, _, qualname = target.partition(":")
            _infrastructure.add((module, qualname))
        else:
            _infrastructure.add(_key(target))


def is_infrastructure(worker: Any) -> bool:
    """Whether a ``Thread`` or ``Process`` was started by an executor, pool, server or the SDK."""
    target = getattr(worker, "_target", None)
    if target is not None:
        module, qualname = _key(target)
        if (module, qualname) in _infrastructure or module.startswith(_infrastructure_modules):
            return True
    for cls in type(worker).__mro__[:-1]:
        if (cls.__module__, cls.__qualname__) in _infrastructure:
            return True
    return False


# --- across processes -------------------------------------------------------------------------


def capture_remote() -> Optional[dict[str, Any]]:
    """A small JSON-able snapshot of the tracing state for another process, or None.

    Keys: ``parent`` (``RunTree.to_headers()``: trace id, dotted order, and the baggage with
    project, tags and metadata), ``project_name``, ``enabled``, ``tags`` and ``metadata`` when set
    without a parent, and ``client`` (``{"api_url", "api_key"}``) when the work is traced to a
    client other than the SDK's default one. What cannot be serialized is left out, never raised:
    the user's task must pickle exactly as it would without lsautofix.
    """
    if _read() == _nones or "langsmith" not in sys.modules:
        return None
    try:
        from langsmith.run_helpers import get_tracing_context

        ctx = get_tracing_context()
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
    keys = ("project_name", "enabled") if "parent" in snapshot else ("project_name", "enabled", "tags", "metadata")
    for key in keys:
        value = ctx.get(key)
        if value is not None and _serializable(value):
            snapshot[key] = value
    client = ctx.get("client") or getattr(parent, "ls_client", None)
    if client is not None and client is not _sdk.default_client():
        endpoint = {"api_url": getattr(client, "api_url", None), "api_key": getattr(client, "api_key", None)}
        if isinstance(endpoint["api_url"], str) and _serializable(endpoint):
            snapshot["client"] = endpoint
    return snapshot or None


def _serializable(value: Any) -> bool:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


_remote_clients: dict[tuple[str, Optional[str]], Any] = {}


def _client_for(endpoint: dict[str, Any]) -> Any:
    """One client per endpoint and key in this process, for work traced to a custom client."""
    key = (endpoint["api_url"], endpoint.get("api_key"))
    client = _remote_clients.get(key)
    if client is None:
        from langsmith import Client

        client = _remote_clients[key] = Client(api_url=key[0], api_key=key[1])
    return client


class Entered:
    """What :func:`enter_remote` did to the current context, for :func:`leave` to undo."""

    __slots__ = ("manager", "cleared")

    def __init__(self, manager: Any, cleared: list[tuple[ContextVar[Any], Any]]) -> None:
        self.manager = manager  # the SDK's tracing_context, entered (it holds the parent run)
        self.cleared = cleared  # (variable, token) of the tracing state this context had before


def enter_remote(snapshot: Optional[dict[str, Any]]) -> Entered:
    """Enter a snapshot made by :func:`capture_remote` (in another process) until :func:`leave`.

    The context starts from no tracing state (what this worker inherited is set aside), then takes
    the snapshot's; with no snapshot it has none. For engines whose hand-off has two ends (Celery's
    ``task_prerun`` and ``task_postrun``); :func:`run_remote` wraps one call in both.
    """
    cleared = [(var, var.set(None)) for var in _vars if var.get(None) is not None]
    manager = None
    if snapshot:
        try:
            from langsmith.run_helpers import tracing_context

            options = dict(snapshot)
            if "client" in options:
                client = options["client"] = _client_for(options["client"])
                if "parent" in options:
                    # A child run posts with its parent's client, ahead of the context's: the parent
                    # made from the headers must carry it (the headers path would give it the default).
                    from langsmith.run_trees import RunTree

                    options["parent"] = RunTree.from_headers(options["parent"], client=client)
            manager = tracing_context(**options)
            manager.__enter__()
        except Exception:
            logger.debug("lsautofix: could not enter the parent's tracing context", exc_info=True)
            manager = None
    return Entered(manager, cleared)


def leave(entered: Entered, exc_info: tuple[Any, Any, Any] = (None, None, None)) -> None:
    """Undo :func:`enter_remote`, in the context it ran in; never raises."""
    manager, entered.manager = entered.manager, None
    if manager is not None:
        try:
            manager.__exit__(*exc_info)
        except Exception:
            logger.debug("lsautofix: could not leave the parent's tracing context", exc_info=True)
    for var, token in reversed(entered.cleared):
        try:
            var.reset(token)
        except (RuntimeError, ValueError):  # already reset, or another context: nothing of ours left
            pass
    entered.cleared = []


def run_remote(snapshot: Optional[dict[str, Any]], fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` under a snapshot made by :func:`capture_remote` (in another process).

    With no snapshot the work runs with no tracing state, whatever this worker inherited.
    """
    if not snapshot and (not _vars or _read() == _nones):
        return fn(*args, **kwargs)
    entered = enter_remote(snapshot)
    try:
        result = fn(*args, **kwargs)
    except BaseException:
        leave(entered, sys.exc_info())
        raise
    leave(entered)
    return result
