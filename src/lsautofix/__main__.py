"""``python -m lsautofix``: see :mod:`lsautofix.cli` (the runner replaces this process with the program)."""

import sys

from lsautofix.cli import main

sys.exit(main())
