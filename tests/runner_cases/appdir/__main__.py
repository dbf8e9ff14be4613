"""A directory run as a program: python appdir."""

import sys

print("appdir", __name__, __file__, sys.argv, sys.path[0])
