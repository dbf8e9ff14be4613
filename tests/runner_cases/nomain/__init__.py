"""A package without __main__: python -m nomain refuses it."""
