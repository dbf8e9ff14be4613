"""python -m pkg runs this."""

import sys

print("pkg.__main__", __name__, __spec__.name, __package__, sys.argv, sys.path[0])
