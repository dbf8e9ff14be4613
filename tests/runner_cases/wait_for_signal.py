"""Print "ready", then wait for a signal (the test sends SIGINT or SIGTERM)."""

import signal
import sys
import time

if len(sys.argv) > 1 and sys.argv[1] == "handler":

    def stop(signum, frame):
        print("handled", signal.Signals(signum).name, flush=True)
        sys.exit(7)

    signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(30)
print("not reached")
