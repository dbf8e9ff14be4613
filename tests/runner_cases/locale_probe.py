"""The encodings and the locale variables Python settles on (PEP 538 coercion, UTF-8 mode)."""

import locale
import os
import sys

print(sys.getfilesystemencoding(), sys.stdout.encoding, sys.flags.utf8_mode, locale.getpreferredencoding(False))
print({k: os.environ.get(k) for k in ("LC_ALL", "LC_CTYPE", "LANG")})
