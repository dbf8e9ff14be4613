"""Run through a symlink: sys.path[0] is the real file's directory, __file__ the path as given."""

import sys

print(__file__, sys.path[0], sys.argv)
