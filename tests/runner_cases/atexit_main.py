"""atexit handlers run after the main body and still find __main__ and its globals.

Python removes ``__file__`` from ``__main__`` once the main body of a script has run.
"""

import atexit
import sys

STATE = ["main body"]


@atexit.register
def report():
    main = sys.modules["__main__"]
    print("atexit sees", main.STATE, main.__name__, "__file__" in vars(main))


STATE.append("finished")
print("main body done")
