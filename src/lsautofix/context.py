"""Tracing state: what crosses from where a unit of work is submitted to where it runs.

The rule: a unit of work (an executor ``submit``, a ``ThreadPool``/``Pool`` task, a
``Thread.start``, a ``Process.start``, an engine's remote call) runs with its submitter's *tracing
state* -- the SDK's and langchain_core's context variables (current run, project, address, tags,
metadata, enabled, client, replicas; a Runnable's config and LangChain's tracers) -- including "no
tracing" when the submitter has none. Every other context variable is exactly what plain Python
gives that code: a fresh context in a new thread, and in an executor or pool worker the worker's
own context, which persists across its tasks. asyncio tasks are left to asyncio's own
whole-context copy, which *is* Python's semantics there.

Same process: :func:`capture` takes the tracing variables' values and holds the current run
strongly (the SDK keeps only a weak reference, and a fire-and-forget task may run after its
parent returned); the state it returns, called as ``state(fn, *args)``, sets them around the call
in the worker's own context and resets them after (or, where that context is empty and the
submitter's held only tracing variables, runs the call in a copy of the latter: see
:func:`_compile`). ``capture`` is generated for the variables
known (look it up as ``context.capture`` on every call, never keep a reference).

Other process: :func:`capture_remote` makes a small JSON-able snapshot in the SDK's
distributed-tracing form (``RunTree.to_headers()``). A worker turns each distinct snapshot into a
state once (:func:`remote_state`: the SDK's ``tracing_context(parent=...)`` entered in an empty
context) and :func:`run_remote` runs each task under it.

Threads and processes an executor, pool or engine starts for itself (see
:func:`is_infrastructure`) carry nothing: the tasks they run carry their own.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import logging
import os
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
_lock = threading.Lock()

#: A unit of work's carried state: ``state(fn, *args, **kwargs)`` calls ``fn`` with the submitter's
#: tracing state set. It is a ``functools.partial`` of the generated runner, the values read and
#: the current run (held strongly: the SDK keeps only a weak reference, and a fire-and-forget
#: task may run after its parent returned). A C object: cheap to build, cheap to call, and safe to
#: share between threads running at once (``ThreadPool.map`` shares one among its tasks).
TracingState = functools.partial


def capture() -> Optional[TracingState]:  # type: ignore[valid-type]
    """The submitter's tracing state, or None when it has none (then there is nothing to carry).

    Replaced by a generated function once the variables are known (:func:`_compile`). Until then
    the process has not loaded the SDK; work handed off from a context whose parent snapshot
    :func:`run_remote` deferred enters it first, so that the thread or task carries it.
    """
    if _deferred.get() is None or not _enter_deferred():
        return None
    return capture()  # the generated one, now that the SDK is loaded


def capture_positional() -> Optional[TracingState]:  # type: ignore[valid-type]
    """As :func:`capture`, for a unit of work called with positional arguments only (a thread's
    bootstrap; an executor task submitted without keywords): its runner takes no ``**kwargs``,
    which saves building and unpacking an empty dict per task (docs/cost.md)."""
    if _deferred.get() is None or not _enter_deferred():
        return None
    return capture_positional()


def _read() -> tuple[Any, ...]:
    """The tracing variables' values in this context (replaced when variables are bound)."""
    return ()


_nones: tuple[Any, ...] = ()


def _alone_source(name: str, params: str, n: int) -> list[str]:
    """``name(alone, run, fn, /, PARAMS)``: see :func:`_compile`."""
    return [
        f"def {name}(alone, run, fn, /, {params}):",
        "    if _len(_copy_context()):",
        f"        return _run(({''.join(f'alone.get(_v{i}), ' for i in range(n))}), run, fn, {params})",
        "    ctx = alone.copy()",
        "    try:",
        f"        return ctx.run(fn, {params})",
        "    finally:",
        "        if _len(ctx) != _len(alone):",
        "            _keep(ctx, alone)",
    ]


def _capture_source(name: str, run_alone: str, n: int, first_is_run: bool) -> list[str]:
    """``name()``, making states whose runner for a context of tracing variables is ``run_alone``."""
    run_ref = "None if ref is None else ref()" if first_is_run else "None"
    return [
        f"def {name}():",
        "    ctx = _copy_context()",
        "    if not _len(ctx):",
        "        return None",
        "    if _tracing.issuperset(ctx):",
        *(["        ref = ctx.get(_v0)"] if first_is_run else []),
        f"        return _partial({run_alone}, ctx, {run_ref})",
        f"    values = ({''.join(f'_g{i}(None), ' for i in range(n))})",
        "    if values == _nones:",
        "        return None",
        *(["    ref = values[0]"] if first_is_run else []),
        f"    return _partial(_run, values, {run_ref})",
    ]


def _compile(variables: tuple[ContextVar[Any], ...], first_is_run: bool) -> dict[str, Any]:
    """Write out, for these variables, the functions on every carried unit of work's path.

    ``_read()`` returns every variable's value in one tuple expression. ``capture()`` returns
    None for an empty context; ``partial(_run_alone, alone, current_run)`` when the submitter's
    context holds tracing variables and nothing else (``alone``, a copy of it: O(1); the SDK sets
    some to None explicitly, and every one's default is None); else, reading the variables, None
    when they are all None, or ``partial(_run, values, current_run)``. Copying the context and
    checking its keys costs about half of reading the 12 variables one by one.

    ``_run`` sets the values that are not None around the call and resets them, in straight lines:
    a loop over 12 variables with ``zip`` costs about three times as much, and a ``TracingState``
    class with ``__init__`` and a bound ``run`` a microsecond more per submit and task
    (benchmarks/bench_threads.py). ``_run_alone``, where the worker's own context is empty (a new
    thread; an executor worker whose tasks have set nothing that stays), runs the call in a copy
    of ``alone``: the same variables with the same values as setting them in the worker's context,
    for about a fifth of the cost of setting and resetting the SDK's four under a ``@traceable``
    (docs/cost.md). Whatever the task sets besides is then set in the worker's context, where it
    would have stayed; the tracing values are left behind, as a reset leaves them. A worker with
    variables of its own gets the values set as ``_run`` sets them (read from ``alone`` first).

    Each set of variables gets its own functions, reached only through the states its ``capture``
    made, so a state taken just before langchain_core's variables were added still runs with the
    variables it was read for.
    """
    n = len(variables)
    names: dict[str, Any] = {f"_v{i}": var for i, var in enumerate(variables)}
    names.update({f"_g{i}": var.get for i, var in enumerate(variables)})
    names.update(
        _partial=functools.partial, _nones=(None,) * n, _tracing=frozenset(variables), _len=len,
        _copy_context=contextvars.copy_context, _keep=_keep_what_the_task_set,
    )  # fmt: skip
    xs = "".join(f"x{i}, " for i in range(n))
    source = "\n".join(
        [
            "def _read():",
            f"    return ({''.join(f'_g{i}(None), ' for i in range(n))})",
            "def _run(values, run, fn, /, *args, **kwargs):",
            f"    ({xs}) = values",
            *(f"    t{i} = None if x{i} is None else _v{i}.set(x{i})" for i in range(n)),
            "    try:",
            "        return fn(*args, **kwargs)",
            "    finally:",
            *(f"        if t{i} is not None: _v{i}.reset(t{i})" for i in reversed(range(n))),
            *_alone_source("_run_alone", "*args, **kwargs", n),
            *_alone_source("_run_alone_positional", "*args", n),
            *_capture_source("capture", "_run_alone", n, first_is_run),
            *_capture_source("capture_positional", "_run_alone_positional", n, first_is_run),
            "",
        ]
    )
    exec(source, names)
    names["capture"].__doc__ = capture.__doc__
    names["capture_positional"].__doc__ = capture_positional.__doc__
    names["_run"].__doc__ = "Call ``fn`` with these tracing values set; the thread's other variables are untouched."
    names["_run"].variables = variables  # what a state's values line up with (enter_remote sets them)
    names["_run_alone"].__doc__ = "Call ``fn`` with the tracing variables of ``alone`` set (see _compile)."
    return names


def _keep_what_the_task_set(ran: contextvars.Context, alone: contextvars.Context) -> None:
    """Set in the current (the worker's) context what a task run in a copy of ``alone`` added."""
    for var, value in ran.items():
        if var not in alone:
            var.set(value)


_langsmith_vars: tuple[ContextVar[Any], ...] = ()
_langchain_vars: tuple[ContextVar[Any], ...] = ()


def _bind() -> None:
    """Recompile for langsmith's variables (current run first), then langchain_core's."""
    global _vars, _nones, _read, capture, capture_positional
    variables = tuple(dict.fromkeys(_langsmith_vars + _langchain_vars))
    if variables != _vars:
        names = _compile(variables, first_is_run=bool(_langsmith_vars))
        _vars, _nones, _read = variables, names["_nones"], names["_read"]
        capture, capture_positional = names["capture"], names["capture_positional"]


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
    # anyio's thread pool (``to_thread.run_sync``: Starlette's and FastAPI's sync endpoints). Each
    # task already runs in a copy of its caller's context; on 3.14 anyio starts these threads with
    # an empty one itself.
    ("anyio._backends._asyncio", "WorkerThread"),
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
    if "langsmith.run_helpers" not in sys.modules and not _enter_deferred():
        return None
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


#: States made from snapshots in this process, most recent first: (pid, snapshot, state).
_remote_states: list[tuple[int, dict[str, Any], Optional[TracingState]]] = []  # type: ignore[valid-type]
_REMOTE_STATES = 8


def remote_state(snapshot: dict[str, Any]) -> Optional[TracingState]:  # type: ignore[valid-type]
    """The tracing state a snapshot made by :func:`capture_remote` stands for, in this process.

    Made once per snapshot by entering the SDK's ``tracing_context(parent=headers, ...)`` in an
    empty context (the state a worker with none takes on) and capturing what it set there; then
    reused for every task that brings an equal snapshot. Parsing the headers into the parent's
    ``RunTree`` and entering the SDK's context cost about 50 us a task in a warm loop and 100 us in
    a ``Pool`` worker (benchmarks/bench_exit.py, "apply loop"); the reused state sets the same
    values in about 1 us. The parent ``RunTree`` made from the headers is a placeholder that is
    never posted; it is held by the state, and :func:`run_remote` drops the child runs the SDK
    lists on it after each task, so reusing it keeps nothing alive. A few snapshots are kept
    (several traced callers may share one pool); the process id is part of the key, so a
    forked child makes its own.
    """
    pid = os.getpid()
    with _lock:
        for i, (owner, known, state) in enumerate(_remote_states):
            if owner == pid and known == snapshot:
                if i:
                    _remote_states.insert(0, _remote_states.pop(i))
                return state
    state = contextvars.Context().run(_enter_and_capture, snapshot)
    with _lock:
        _remote_states.insert(0, (pid, copy.deepcopy(snapshot), state))
        del _remote_states[_REMOTE_STATES:]
    return state


def _enter_and_capture(snapshot: dict[str, Any]) -> Optional[TracingState]:  # type: ignore[valid-type]
    """In an empty context: enter the snapshot with the SDK's ``tracing_context``, capture, leave."""
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
        with tracing_context(**options):
            return capture()  # the generated one: langsmith's variables are bound by now
    except Exception:
        logger.debug("lsautofix: could not enter the parent's tracing context", exc_info=True)
        return None


class Entered:
    """What :func:`enter_remote` did to the current context, for :func:`leave` to undo."""

    __slots__ = ("state", "tokens")

    def __init__(self, state: Optional[TracingState], tokens: list[tuple[ContextVar[Any], Any]]) -> None:  # type: ignore[valid-type]
        self.state = state  # holds the parent run placeholder while entered
        self.tokens = tokens  # (variable, token) of every set, in order


def enter_remote(snapshot: Optional[dict[str, Any]]) -> Entered:
    """Enter a snapshot made by :func:`capture_remote` (in another process) until :func:`leave`.

    The context starts from no tracing state (what this worker inherited is set aside), then takes
    the snapshot's; with no snapshot it has none. For engines whose hand-off has two ends (Celery's
    ``task_prerun`` and ``task_postrun``); :func:`run_remote` wraps one call in both.
    """
    tokens = [(var, var.set(None)) for var in _vars if var.get(None) is not None]
    state = remote_state(snapshot) if snapshot else None
    if state is not None:
        first = state.args[0]
        pairs = first.items() if type(first) is contextvars.Context else zip(state.func.variables, first)
        tokens += [(var, var.set(value)) for var, value in pairs if value is not None]
    return Entered(state, tokens)


def leave(entered: Entered, exc_info: tuple[Any, Any, Any] = (None, None, None)) -> None:
    """Undo :func:`enter_remote`, in the context it ran in; never raises."""
    tokens, entered.tokens = entered.tokens, []
    for var, token in reversed(tokens):
        try:
            var.reset(token)
        except (RuntimeError, ValueError):  # already reset, or another context: nothing of ours left
            pass
    state, entered.state = entered.state, None
    if state is not None:
        _sdk.forget_child_runs(state.args[1])


class _Deferred:
    """A snapshot :func:`run_remote` has not entered yet: this process has not loaded the SDK."""

    __slots__ = ("snapshot", "entered")

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        self.entered: Optional[Entered] = None


_deferred: ContextVar[Optional[_Deferred]] = ContextVar("lsautofix_deferred_parent", default=None)


def sdk_imported() -> None:
    """``langsmith.run_helpers`` was just imported: learn its variables, enter a deferred snapshot.

    The import runs in the thread, and the context, of the code that asked for it. If that is the
    context of a :func:`run_remote` call that deferred its snapshot (or an asyncio task copied
    from it), the snapshot is entered there, for :func:`run_remote` to leave when the work returns.
    """
    bind_langsmith()
    deferred = _deferred.get()
    if deferred is not None and deferred.entered is None:
        try:
            deferred.entered = enter_remote(deferred.snapshot)
        except Exception:  # pragma: no cover - defensive: never break the user's import
            logger.debug("lsautofix: could not enter the parent's run at the SDK's import", exc_info=True)


def has_deferred() -> bool:
    """Whether this context runs work under a parent snapshot :func:`run_remote` deferred."""
    return _deferred.get() is not None


def _enter_deferred() -> bool:
    """Enter this context's deferred snapshot now, loading the SDK: work is being handed to
    another thread or process, which must carry it. True if it was entered here."""
    deferred = _deferred.get()
    if deferred is None or deferred.entered is not None:
        return False
    try:
        import langsmith.run_helpers  # noqa: F401 -- its import hook, sdk_imported(), enters it here
    except Exception:
        return False
    if deferred.entered is None:  # the SDK was loaded meanwhile, in another thread
        deferred.entered = enter_remote(deferred.snapshot)
    return True


def _run_deferred(snapshot: dict[str, Any], fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    deferred = _Deferred(snapshot)
    token = _deferred.set(deferred)
    try:
        return fn(*args, **kwargs)
    finally:
        _deferred.reset(token)
        if deferred.entered is not None:
            leave(deferred.entered)


def run_remote(snapshot: Optional[dict[str, Any]], fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` under a snapshot made by :func:`capture_remote` (in another process).

    With no snapshot the work runs with no tracing state, whatever this worker inherited. In a
    process that has not loaded the SDK (a spawn child whose code does not import it), importing
    it costs about a second of CPU, for work that may never trace: the snapshot is entered only
    when the work imports the SDK (:func:`sdk_imported`), in the thread or asyncio task that
    imports it, or when it hands work to a thread or process first (:func:`capture`). asyncio
    tasks created before that import, other than the one importing, start with no tracing state.
    """
    if snapshot and "langsmith.run_helpers" not in sys.modules:
        return _run_deferred(snapshot, fn, args, kwargs)
    state = remote_state(snapshot) if snapshot else None
    if _read() != _nones:  # this worker's context has tracing state of its own: set it aside
        entered = enter_remote(snapshot)
        try:
            return fn(*args, **kwargs)
        finally:
            leave(entered)
    if state is None:
        return fn(*args, **kwargs)
    try:
        return state(fn, *args, **kwargs)  # type: ignore[no-any-return]
    finally:
        _sdk.forget_child_runs(state.args[1])
