"""Exit: every process delivers what it queued before it ends, waiting at most the flush timeout.

- The SDK's upload threads become daemon threads. As non-daemon threads they hold exit open for
  as long as a hanging endpoint takes (minutes); lsautofix flushes at exit instead, bounded.
- The main program flushes from an ``atexit`` handler, registered when lsautofix is installed: it
  runs after non-daemon threads have been joined and after the ``atexit`` handlers registered later
  (the program's own, usually), so the runs they create are delivered too. The SDK's upload thread
  stops when the main thread finishes, so the flush sends what is left itself.
- multiprocessing children leave through ``os._exit`` (after ``threading._shutdown``), and so do
  programs that call it: ``os._exit`` flushes first.
"""

from __future__ import annotations

import atexit
import os
from typing import Any, Callable, Optional

from lsautofix import _sdk, flushing
from lsautofix.patches._wrapping import Patches

_patches = Patches()
_undo_daemon: Optional[Callable[[], None]] = None


def _at_exit() -> None:
    if _patches.active:
        flushing.at_exit("exit")


def _os_exit(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
    if _patches.active:
        flushing.at_exit("os._exit", abrupt=True)
    return wrapped(*args, **kwargs)


def _patch_client(module: Any) -> None:
    global _undo_daemon
    if _undo_daemon is None:
        # Not under eventlet: there the thread's own last drain is all that delivers (as in plain Python).
        _undo_daemon = _sdk.make_upload_threads_daemon(lambda: _patches.active and not flushing.eventlet_threads())


def apply() -> None:
    if not _patches.start():
        return
    _patches.wrap(os, "_exit", _os_exit)
    atexit.register(_at_exit)
    _patches.when_imported("langsmith.client", _patch_client)


def revert() -> None:
    global _undo_daemon
    _patches.unwrap_all()
    atexit.unregister(_at_exit)
    if _undo_daemon is not None:
        _undo_daemon()
        _undo_daemon = None
