"""lsautofix's warning categories (stdlib only: imported at startup)."""


class ConfigurationWarning(UserWarning):
    """A ``LANGSMITH_AUTOFIX*`` variable has a value lsautofix does not understand."""


class UnconsumedEvaluationWarning(RuntimeWarning):
    """An evaluation started with ``blocking=False`` was dropped before it finished.

    Its experiment is missing the examples that had not run yet. Silence it with the standard
    filters, e.g. ``warnings.filterwarnings("ignore", category=UnconsumedEvaluationWarning)``.
    """
