"""Print "ready", then wait for a signal (the test sends SIGINT or SIGTERM).

It waits in short sleeps, not one long one: CPython runs a Python handler (SIGINT's
KeyboardInterrupt, or ``handler``'s) only between bytecodes, and a signal that arrives after the
last check and before ``time.sleep`` enters the kernel does not interrupt the sleep. The test
sends the signal right after reading "ready", so the child is often there; plain Python, without
langsmith or lsautofix, missed the signal for a whole sleep in 1 of 1,500 runs on a loaded
2-core machine. Short sleeps bound that to one of them.
"""

import signal
import sys
import time

if len(sys.argv) > 1 and sys.argv[1] == "handler":

    def stop(signum, frame):
        print("handled", signal.Signals(signum).name, flush=True)
        sys.exit(7)

    signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
for _ in range(300):
    time.sleep(0.1)
print("not reached")
