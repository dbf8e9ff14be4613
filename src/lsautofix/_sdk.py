"""Every private langsmith and langchain_core name lsautofix touches, resolved in one place.

The rest of lsautofix reaches the SDKs' internals only through this module. When a release moves
one of these names, the change goes here, and ``tests/test_sdk_adapter.py`` (which resolves each
entry of :data:`PRIVATE_NAMES` on every Python and SDK version CI runs) fails by name first.

Nothing here is imported at startup: each function imports the SDK module it needs when called,
and the callers call only once langsmith (or langchain_core) is imported.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from contextvars import ContextVar

logger = logging.getLogger("lsautofix")

#: (module, dotted attribute, what lsautofix uses it for): the private names, for the adapter test.
PRIVATE_NAMES: tuple[tuple[str, str, str], ...] = (
    ("langsmith.run_helpers", "_CONTEXT_KEYS", "the SDK's tracing context variables, carried to workers"),
    ("langsmith._internal._context", "_PARENT_RUN_TREE_REF", "the current run, held weakly by the SDK"),
    ("langsmith.run_trees", "_CLIENT", "the SDK's cached default client"),
    ("langsmith._internal._context", "_GLOBAL_CLIENT", "the client set by langsmith.configure()"),
    ("langsmith.client", "Client._use_daemon_threads", "made daemon: exit is flushed, bounded, instead"),
    ("langsmith.client", "Client.tracing_queue", "pending runs; drained at exit and after fork"),
    ("langsmith.client", "Client.compressed_traces", "pending compressed runs; replaced after fork"),
    ("langsmith.client", "Client._data_available_event", "replaced after fork"),
    ("langsmith.client", "Client._futures", "sends in flight; replaced after fork"),
    ("langsmith.client", "Client._futures_lock", "replaced after fork"),
    ("langsmith.client", "Client._run_ops_buffer", "replaced after fork"),
    ("langsmith.client", "Client._run_ops_buffer_lock", "replaced after fork"),
    ("langsmith.client", "Client._multipart_disabled", "how the upload thread sends a batch"),
    ("langsmith.client", "Client._tracing_mode", "how the upload thread sends a batch"),
    ("langsmith.client", "Client._info", "the endpoint's batch limits, if already fetched"),
    ("langsmith.client", "Client._max_batch_size_bytes", "how the upload thread sends a batch"),
    ("langsmith.client", "Client.request_with_retries", "an upload thread inside it has a send in flight"),
    ("langsmith.client", "Client._send_compressed_multipart_req", "a compressed frame being sent, counted nowhere"),
    ("langsmith._internal._background_thread", "_drain_and_send_compressed", "a frame taken off the buffer, not yet sent"),
    ("langsmith._internal._background_thread", "tracing_control_thread_func", "the upload thread's target"),
    ("langsmith._internal._background_thread", "_tracing_thread_drain_queue", "drain the queue at exit"),
    ("langsmith._internal._background_thread", "_tracing_thread_handle_batch", "send a drained batch"),
    ("langsmith._internal._background_thread", "_otel_tracing_thread_handle_batch", "send a batch (otel mode)"),
    ("langsmith._internal._background_thread", "_hybrid_tracing_thread_handle_batch", "send a batch (hybrid)"),
    ("langsmith._internal._background_thread", "_ensure_ingest_config", "the batch limits the thread uses"),
    ("langsmith._internal._background_thread", "LANGSMITH_CLIENT_THREAD_POOL", "replaced after fork"),
    ("langsmith._internal._aiter", "asyncio_accepts_context", "cached probe, reset on Python 3.10"),
    ("langsmith.evaluation._arunner", "AsyncExperimentResults()._task", "an async evaluation's task"),
    ("langsmith.evaluation._arunner", "AsyncExperimentResults()._results", "examples an evaluation finished"),
    ("langsmith.evaluation._arunner", "AsyncExperimentResults()._manager", "how many examples it will run"),
    ("langsmith.evaluation._runner", "ExperimentResults()._thread", "a blocking=False evaluation's thread"),
    ("langsmith.evaluation._runner", "ExperimentResults()._processing_complete", "whether it finished"),
    ("langsmith.evaluation._runner", "ExperimentResults()._results", "examples an evaluation finished"),
)

#: The same for langchain_core, which is optional.
LANGCHAIN_NAMES: tuple[tuple[str, str, str], ...] = (
    ("langchain_core.runnables.config", "var_child_runnable_config", "a Runnable's config: its parent run"),
    ("langchain_core.tracers.context", "tracing_v2_callback_var", "tracing_v2_enabled()'s tracer"),
    ("langchain_core.tracers.context", "run_collector_var", "collect_runs()'s collector"),
    ("langchain_core.runnables.utils", "asyncio_accepts_context", "probe, reset on Python 3.10"),
)

_BACKGROUND = "langsmith._internal._background_thread"


def resolve(module: str, dotted: str) -> Any:
    """``module.dotted`` (importing the module); raises ``AttributeError``/``ImportError`` if gone.

    ``Class().name`` names an instance attribute that ``Class.__init__`` assigns (the SDK's
    result classes have no slots): it is found in that method's source. ``Client``'s attributes
    are slots, so they resolve on the class.
    """
    import importlib

    target: Any = importlib.import_module(module)
    owner, _, attr = dotted.partition("().")
    for part in owner.split("."):
        target = getattr(target, part)
    if attr:
        import inspect

        if f"self.{attr} " not in inspect.getsource(target.__init__) and f"self.{attr}:" not in inspect.getsource(
            target.__init__
        ):
            raise AttributeError(f"{module}.{owner}.__init__ no longer sets self.{attr}")
    return target


# --- context variables ----------------------------------------------------------------------


def langsmith_context_vars() -> tuple[ContextVar[Any], ...]:
    """The SDK's tracing context variables, the current run's (weak) reference first."""
    from langsmith import run_helpers
    from langsmith._internal import _context

    first = _context._PARENT_RUN_TREE_REF
    return (first, *(v for v in run_helpers._CONTEXT_KEYS.values() if v is not first))


def langchain_context_vars() -> tuple[ContextVar[Any], ...]:
    """langchain_core's: a Runnable's config (its callbacks hold the parent run), and the tracers'."""
    found = []
    for module, name, _why in LANGCHAIN_NAMES[:3]:
        try:
            found.append(resolve(module, name))
        except (ImportError, AttributeError):
            logger.debug("lsautofix: langchain_core has no %s.%s", module, name)
    return tuple(found)


def current_run_tree() -> Any:
    """The current ``RunTree`` (public API), or None."""
    from langsmith.run_helpers import get_current_run_tree

    return get_current_run_tree()


def forget_child_runs(run_tree: Any) -> None:
    """Empty the ``child_runs`` list (public ``RunTree`` field) of a parent placeholder.

    ``RunTree.create_child`` appends every child to its parent's list, which only ``post(
    exclude_child_runs=False)`` reads; a placeholder made from headers is never posted here, and
    one reused for many tasks would otherwise keep every child run (inputs, outputs) alive.
    """
    children = getattr(run_tree, "child_runs", None)
    if children:
        children.clear()


def default_client() -> Any:
    """The SDK's cached default client if one was made (never creates one), else None."""
    module = sys.modules.get("langsmith.run_trees")
    return getattr(module, "_CLIENT", None) if module is not None else None


def known_clients() -> list[Any]:
    """Clients the SDK made before lsautofix could see them: its cached and configured ones."""
    found = []
    for module_name, attr in (("langsmith.run_trees", "_CLIENT"), ("langsmith._internal._context", "_GLOBAL_CLIENT")):
        module = sys.modules.get(module_name)
        client = getattr(module, attr, None) if module is not None else None
        if client is not None and hasattr(client, "flush"):
            found.append(client)
    return found


# --- the client's queue and upload threads ----------------------------------------------------


def pending(client: Any) -> int:
    """Operations the client holds that the endpoint has not yet accepted.

    The compressed buffer and the sends in flight are read under the buffer's lock: the SDK moves
    a frame from one to the other under it, and between the two it is in neither.
    """
    count = 0
    queue = getattr(client, "tracing_queue", None)
    if queue is not None:
        count += getattr(queue, "unfinished_tasks", 0)
    compressed = getattr(client, "compressed_traces", None)
    lock = getattr(compressed, "lock", None)
    locked = lock is not None and lock.acquire(timeout=1.0)
    try:
        if compressed is not None:
            count += getattr(compressed, "trace_count", 0)
        futures = getattr(client, "_futures", None)
        if futures:
            count += sum(1 for f in list(futures) if not f.done())
    finally:
        if locked:
            lock.release()
    return count


def drain(client: Any, timeout: float) -> None:
    """Send everything ``client`` holds, on this thread, as the SDK's upload thread does when it stops.

    The upload thread may be gone (it stops once the main thread has finished, before ``atexit``)
    or busy: this takes batches off the queue itself (safe beside the SDK's threads, which do the
    same), then lets ``Client.flush`` send the compressed buffer and wait for the sends in flight.
    """
    import importlib

    queue = getattr(client, "tracing_queue", None)
    if queue is not None and getattr(queue, "unfinished_tasks", 0):
        bg = importlib.import_module(_BACKGROUND)
        # Only what was fetched already: fetching /info now, from an endpoint that never
        # answered it, would spend the drain's time on it. Without it the SDK's defaults apply.
        config = bg._ensure_ingest_config(getattr(client, "_info", None))
        use_multipart = not client._multipart_disabled and config.get("use_multipart_endpoint", True)
        mode = client._tracing_mode
        handle: Callable[..., None]
        if mode == "hybrid":
            handle = lambda batch: bg._hybrid_tracing_thread_handle_batch(client, queue, batch, use_multipart)  # noqa: E731
        elif mode == "otel":
            handle = lambda batch: bg._otel_tracing_thread_handle_batch(client, queue, batch)  # noqa: E731
        else:
            handle = lambda batch: bg._tracing_thread_handle_batch(client, queue, batch, use_multipart)  # noqa: E731
        limit = config["size_limit"]
        max_bytes = client._max_batch_size_bytes or config.get("size_limit_bytes") or 0
        while batch := bg._tracing_thread_drain_queue(queue, limit=limit, block=False, max_size_bytes=max_bytes):
            handle(batch)
    client.flush(timeout=timeout)


def is_upload_thread_target(target: Any) -> bool:
    """Whether ``target`` is one of the SDK's upload-thread functions."""
    return getattr(target, "__module__", None) == _BACKGROUND


def upload_threads() -> list[Any]:
    """The SDK's upload threads still running (a thread keeps ``_target`` until its run ends)."""
    import threading

    return [t for t in threading.enumerate() if is_upload_thread_target(getattr(t, "_target", None))]


def upload_threads_sending() -> list[Any]:
    """The SDK's upload threads in the middle of a request to the endpoint.

    What such a thread sends outside the SDK's thread pool (its last send once the interpreter
    shut the pool down) is in neither the queue, the buffer nor a tracked future: no count sees it.
    """
    frames = sys._current_frames()
    sending = []
    for thread in upload_threads():
        frame = frames.get(thread.ident)
        while frame is not None:
            if (frame.f_globals.get("__name__"), frame.f_code.co_name) in _SENDING:
                sending.append(thread)
                break
            frame = frame.f_back
    return sending


#: Where an upload thread holds data that no count sees. Once the SDK's send pool is shut down
#: (the process is leaving), a compressed frame is taken off the buffer under its lock and then
#: sent on the thread itself: from ``_drain_and_send_compressed`` through the request, it is in
#: neither the buffer nor a future. Seen only by ``request_with_retries`` before, a SIGTERM in the
#: few milliseconds before the request killed the send (1 to 4 in 100 runs of an evaluation in
#: forkserver pool workers).
_SENDING = frozenset(
    {
        ("langsmith.client", "request_with_retries"),
        ("langsmith.client", "_send_compressed_multipart_req"),
        (_BACKGROUND, "_drain_and_send_compressed"),
    }
)


class _DaemonSlot:
    """Stands in for the ``Client._use_daemon_threads`` slot: reads as True while ``on()`` says so.

    The SDK starts its upload threads with ``daemon=client._use_daemon_threads``; daemon threads
    cannot hold exit open on a hanging endpoint, and lsautofix flushes them at exit, bounded.
    """

    def __init__(self, slot: Any, on: Callable[[], bool]) -> None:
        self.slot, self.on = slot, on

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return True if self.on() else self.slot.__get__(instance, owner)

    def __set__(self, instance: Any, value: Any) -> None:
        self.slot.__set__(instance, value)

    def __delete__(self, instance: Any) -> None:
        self.slot.__delete__(instance)


def make_upload_threads_daemon(on: Callable[[], bool]) -> Callable[[], None]:
    """Make the SDK's upload threads daemon threads while ``on()``; returns the undo."""
    from langsmith.client import Client

    slot = Client.__dict__["_use_daemon_threads"]
    if isinstance(slot, _DaemonSlot):
        return lambda: None
    Client._use_daemon_threads = _DaemonSlot(slot, on)  # type: ignore[assignment]

    def undo() -> None:
        if Client.__dict__.get("_use_daemon_threads") is not slot:
            Client._use_daemon_threads = slot  # type: ignore[assignment]

    return undo


# --- fork -------------------------------------------------------------------------------------


def replace_after_fork(client: Any, make_queue: Callable[[Any], Any]) -> list[Any]:
    """Give a client inherited through fork fresh lock-owning state; return what it replaced.

    What the parent had queued stays the parent's to send: the child starts clean, so nothing is
    sent twice. Objects another parent thread may have been using at the fork (locks held, a zstd
    compressor whose worker threads exist only in the parent) are replaced, never touched; the
    caller keeps the old ones alive, since freeing a compressor here waits on those threads.
    With ``compressed_traces`` unset the child sends through its queue, uncompressed.
    """
    import threading
    import weakref

    inherited: list[Any] = []
    fresh: dict[str, Callable[[], Any]] = {  # attributes differ across SDK versions: reset the ones it has
        "_run_ops_buffer": list,
        "_run_ops_buffer_lock": threading.Lock,
        "_futures": weakref.WeakSet,
        "_futures_lock": threading.Lock,
        "compressed_traces": lambda: None,
        "_data_available_event": lambda: None,
    }
    for name, make in fresh.items():
        if hasattr(client, name):
            inherited.append(getattr(client, name))
            setattr(client, name, make())
    session = getattr(client, "session", None)
    for adapter in list(getattr(session, "adapters", {}).values()):
        if hasattr(adapter, "init_poolmanager") and hasattr(adapter, "_pool_connections"):
            inherited.append(adapter.poolmanager)  # its connections are the parent's
            adapter.init_poolmanager(adapter._pool_connections, adapter._pool_maxsize, block=adapter._pool_block)
    cookie_lock = getattr(getattr(session, "cookies", None), "_cookies_lock", None)
    if hasattr(cookie_lock, "_at_fork_reinit"):
        cookie_lock._at_fork_reinit()
    queue = getattr(client, "tracing_queue", None)
    if queue is not None:
        inherited.append(queue)
        client.tracing_queue = make_queue(queue)
    return inherited


def replace_thread_pool_after_fork() -> list[Any]:
    """The SDK's module-wide send pool: its threads stayed in the parent. A new one starts none yet."""
    bg = sys.modules.get(_BACKGROUND)
    pool = getattr(bg, "LANGSMITH_CLIENT_THREAD_POOL", None) if bg is not None else None
    if pool is None:
        return []
    from concurrent.futures import ThreadPoolExecutor

    bg.LANGSMITH_CLIENT_THREAD_POOL = ThreadPoolExecutor(max_workers=pool._max_workers)
    return [pool]


def remake_after_fork_for_green_threads(client: Any) -> list[Any]:
    """Make again the locks and the send pool :func:`replace_after_fork` made at the fork; return the old.

    For a fork child whose threads gevent made green after the fork (a gunicorn gevent worker):
    what was made at the fork holds real locks and a real ``SimpleQueue``, and a greenlet waiting
    on one stops every greenlet of the process. Called before the child's first upload, when no
    thread uses them yet; a lock held now, or a pool that started threads, is left as it is.
    """
    import threading

    inherited: list[Any] = []
    for name in ("_run_ops_buffer_lock", "_futures_lock"):
        lock = getattr(client, name, None)
        if lock is not None and not lock.locked():
            inherited.append(lock)
            setattr(client, name, threading.Lock())
    bg = sys.modules.get(_BACKGROUND)
    pool = getattr(bg, "LANGSMITH_CLIENT_THREAD_POOL", None) if bg is not None else None
    if pool is not None and not pool._threads:
        from concurrent.futures import ThreadPoolExecutor

        bg.LANGSMITH_CLIENT_THREAD_POOL = ThreadPoolExecutor(max_workers=pool._max_workers)
        inherited.append(pool)
    return inherited


def start_upload_thread(client: Any, start: Callable[[Any], None]) -> None:
    """Start an upload thread for ``client`` as the SDK's ``Client.__init__`` does, through ``start``."""
    import importlib
    import threading
    import weakref

    bg = importlib.import_module(_BACKGROUND)
    start(threading.Thread(target=bg.tracing_control_thread_func, args=(weakref.ref(client),), daemon=True))


# --- asyncio probes ---------------------------------------------------------------------------


def clear_create_task_probes() -> None:
    """Forget the SDKs' cached answer to "does ``create_task`` take ``context=``?" (never raises)."""
    for module_name, function in (
        ("langsmith._internal._aiter", "asyncio_accepts_context"),
        ("langchain_core.runnables.utils", "asyncio_accepts_context"),
    ):
        try:
            module = sys.modules.get(module_name)
            cache_clear = getattr(getattr(module, function, None), "cache_clear", None)
            if callable(cache_clear):
                cache_clear()
        except Exception:
            logger.debug("lsautofix: cannot reset %s.%s", module_name, function, exc_info=True)


# --- evaluations ------------------------------------------------------------------------------


def async_evaluation_task(results: Any) -> Any:
    return getattr(results, "_task", None)


def evaluation_done_count(results: Any) -> int:
    return len(getattr(results, "_results", ()) or ())


def evaluation_total(results: Any) -> Optional[int]:
    total = getattr(getattr(results, "_manager", None), "_num_examples", None)
    return total if isinstance(total, int) else None


def sync_evaluation_thread(results: Any) -> Any:
    return getattr(results, "_thread", None)


def sync_evaluation_complete(results: Any) -> Any:
    return getattr(results, "_processing_complete", None)
