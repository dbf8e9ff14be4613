"""``python -m lsautofix``: see :mod:`lsautofix.cli`."""

import sys

from lsautofix.cli import main

sys.exit(main())
