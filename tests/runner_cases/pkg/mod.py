"""python -m pkg.mod: a module of a package run as __main__, and its traceback (runpy's frames)."""

import sys

print("pkg.mod", __name__, __spec__.name, __package__, __file__, sys.argv, sys.path[0])
if sys.argv[1:] == ["fail"]:
    raise RuntimeError("failure in a module run with -m")
