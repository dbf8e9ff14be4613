"""Fork: a child gets its own SDK state, starts nothing until it traces, and frees nothing it inherited.

After ``fork`` only the forking thread survives. A client inherited from the parent has a queue
nobody drains (holding items the parent will still send), locks another parent thread may have
held, HTTP connections shared with the parent, and a zstd compressor whose worker threads exist
only in the parent. In the child (``os.register_at_fork``), for every live client:

- those objects are replaced by fresh ones (see :func:`lsautofix._sdk.replace_after_fork`); what the
  parent had queued stays the parent's to send, so nothing arrives twice;
- nothing is started: the client's new queue starts its upload thread at its first ``put``, when
  the child first traces. A child that never traces has no thread of lsautofix's or the SDK's;
- nothing inherited is freed or touched: the replaced objects are kept, and at exit they are made
  immortal, because freeing the compressor waits forever on the parent's threads (a child of a
  pre-fork server leaving through ``sys.exit`` hung in finalization);
- the child's exit imports nothing: a module another thread of the parent was importing when it
  forked stays locked for ever in the child (its lock's owner does not exist there), so what the
  exit needs is resolved in the parent when it first traces.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from typing import Any

from lsautofix import _forksafe, _sdk, flushing
from lsautofix.patches._wrapping import Patches

logger = logging.getLogger("lsautofix")

_patches = Patches()
_inherited: list[Any] = []
_start_lock = threading.Lock()
#: CPython's ``Py_IncRef`` through ctypes, or None without ctypes. Resolved in the parent when it
#: first traces (before any fork that inherits a client), never in a child: there ``import ctypes``
#: waited for ever when the parent forked while its SIGTERM watcher thread was importing ctypes.
_incref: Any = None


def _resolve_incref() -> None:
    global _incref
    if _incref is not None:
        return
    try:
        import ctypes

        incref = ctypes.pythonapi.Py_IncRef
        incref.argtypes, incref.restype = (ctypes.py_object,), None
        _incref = incref
    except Exception:
        logger.debug("lsautofix: no ctypes: a fork child frees what it inherited at exit", exc_info=True)


#: The standard library's class, kept: gevent's monkey-patching (a gunicorn gevent worker does it
#: after the fork) replaces ``queue.PriorityQueue`` with a compiled class of another layout.
_PriorityQueue = queue.PriorityQueue


class _StartsOnFirstPut(_PriorityQueue):  # type: ignore[type-arg]
    """A fork child's queue: its first ``put`` starts the client's upload thread, then it is a plain queue."""

    _lsautofix_client: Any = None

    def put(self, item: Any, block: bool = True, timeout: Any = None) -> None:
        with _start_lock:
            if type(self) is _StartsOnFirstPut:
                ref, self._lsautofix_client = self._lsautofix_client, None
                # Still empty, and no thread uses it yet: its locks are made again with the
                # threading of now, which gevent may have made green since the fork (a real lock
                # waited on by a greenlet would stop every greenlet of the process).
                _PriorityQueue.__init__(self, self.maxsize)
                self.__class__ = _PriorityQueue  # every later put is the plain one
                client = ref() if ref is not None else None
                if client is not None:
                    if flushing.green_threads():
                        _inherited.extend(_sdk.remake_after_fork_for_green_threads(client))
                    _start_upload(client)
        _PriorityQueue.put(self, item, block, timeout)


def _start_upload(client: Any) -> None:
    try:
        _sdk.start_upload_thread(client, flushing.start_quietly)
    except Exception:
        logger.debug("lsautofix: could not start an upload thread in a fork child", exc_info=True)
    flushing.tracing_started()


def _lazy_queue(client: Any) -> Any:
    def make(old: Any) -> Any:
        fresh = _StartsOnFirstPut(maxsize=old.maxsize)
        fresh._lsautofix_client = weakref.ref(client)
        return fresh

    return make


def _after_fork_in_child() -> None:
    global _start_lock
    if not _patches.active:
        return
    _start_lock = threading.Lock()
    clients = flushing.clients()
    if not clients:
        return
    first = not _inherited
    _inherited.extend(_sdk.replace_thread_pool_after_fork())
    for client in clients:
        try:
            _inherited.extend(_sdk.replace_after_fork(client, _lazy_queue(client)))
        except Exception:
            logger.debug("lsautofix: could not give an inherited client fresh state", exc_info=True)
    if first:
        atexit.register(_keep_inherited_forever)


def _keep_inherited_forever() -> None:
    """Leak what the child inherited, on purpose, before finalization would free it.

    Module globals are cleared at interpreter exit; freeing the parent's compressor there would
    wait on threads that do not exist in this process. One extra reference on the list keeps it
    (and what it holds) alive until the process is gone.
    """
    if not _inherited or _incref is None:
        return
    try:
        _incref(_inherited)
    except Exception:
        logger.debug("lsautofix: could not keep the inherited SDK state alive at exit", exc_info=True)


def apply() -> None:
    if not _patches.start():
        return
    _forksafe.add(_forksafe.after_in_child, _after_fork_in_child)
    if _resolve_incref not in flushing.on_tracing:
        flushing.on_tracing.append(_resolve_incref)
    if flushing.has_clients():  # installed after the process began tracing
        _resolve_incref()


def revert() -> None:
    _patches.unwrap_all()
    _forksafe.discard(_forksafe.after_in_child, _after_fork_in_child)
    while _resolve_incref in flushing.on_tracing:
        flushing.on_tracing.remove(_resolve_incref)
