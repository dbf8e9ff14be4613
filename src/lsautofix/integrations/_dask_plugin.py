"""The Dask worker plugin for workers that do not inherit lsautofix (remote clusters).

Imported only when asked for (``from lsautofix.integrations.dask import LangSmithAutofix``),
since it imports distributed; every worker must be able to import lsautofix.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class LangSmithAutofix(WorkerPlugin):
    """``client.register_plugin(LangSmithAutofix())``: lsautofix on every worker, flushed at teardown.

    ``setup`` installs lsautofix in the worker (present and future workers alike) before it runs
    any task of this client; ``teardown`` runs when the worker closes, and flushes its runs
    (bounded by ``LANGSMITH_AUTOFIX_FLUSH_TIMEOUT``) while the worker can still send them.
    """

    name = "lsautofix"
    idempotent = True

    def setup(self, worker: Any) -> None:
        import lsautofix

        lsautofix.install()

    def teardown(self, worker: Any) -> None:
        import lsautofix

        lsautofix.flush()
