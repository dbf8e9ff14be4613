"""A LangSmith-compatible collector on 127.0.0.1, for tests, ``lsautofix doctor`` and standalone use.

``with Collector() as c:`` then run a program with ``c.env()`` (endpoint, its random API key,
tracing on); ``c.store`` answers what arrived. ``python -m lsautofix_collector`` serves it from a
shell. A package of its own, so that importing it never activates lsautofix.
"""

from lsautofix_collector.server import Collector, RemoteHostError, is_loopback
from lsautofix_collector.store import RunStore, TreeNode, duration_ms, parse_time
from lsautofix_collector.wire import MAX_BODY, RequestError, parse_multipart

__all__ = [
    "MAX_BODY",
    "Collector",
    "RemoteHostError",
    "RequestError",
    "RunStore",
    "TreeNode",
    "duration_ms",
    "is_loopback",
    "parse_multipart",
    "parse_time",
]
