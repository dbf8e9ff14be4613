"""A library module of warns.py: where its warnings land depends on stacklevel."""

import warnings


def deprecated():
    warnings.warn("warn_helper.deprecated is deprecated", DeprecationWarning, stacklevel=2)


def hidden():
    warnings.warn("a DeprecationWarning inside warn_helper", DeprecationWarning)
