"""Warnings and where Python attributes them: the caller's line, the module top, beyond the stack."""

import warnings

import warn_helper


def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)


warnings.warn("a UserWarning from the main module")
warnings.warn("attributed beyond the top of the stack", stacklevel=2)
old_api()  # DeprecationWarning attributed to __main__: shown by default
warn_helper.deprecated()  # attributed to this line through stacklevel=2
warn_helper.hidden()  # DeprecationWarning attributed to warn_helper: hidden by default
warnings.warn("a RuntimeWarning", RuntimeWarning)
print("after the warnings")
