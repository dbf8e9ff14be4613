"""One module per primitive, each with idempotent ``apply()`` and ``revert()``."""
