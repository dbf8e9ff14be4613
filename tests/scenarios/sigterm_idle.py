"""A traced program that SIGTERM ends while it waits (docker stop, a pod stop, systemd).

`sigterm_idle.py N sleep|nogil|gil|none`: runs N traced jobs, prints "ready", then waits in
time.sleep, or in a long C call that releases the GIL (hashlib.pbkdf2_hmac, minutes) or holds it
(sum(range(...)), a few seconds), or (`none`) with nothing queued: it waits in time.sleep after
a flush. SIGTERM's disposition is the default throughout; the test sends it.
"""

import hashlib
import sys
import time

from langsmith import traceable


@traceable(name="job")
def job(i: int) -> int:
    return i


if __name__ == "__main__":
    n, how = int(sys.argv[1]), sys.argv[2]
    for i in range(n):
        job(i)
    if how == "none":
        from langsmith.run_trees import get_cached_client

        get_cached_client().flush()
    print("ready", flush=True)
    if how == "nogil":
        hashlib.pbkdf2_hmac("sha256", b"x", b"y", 10**9)  # minutes in C, the GIL released
    elif how == "gil":
        sum(range(2 * 10**8))  # seconds in C holding the GIL: no Python runs, in any thread
        print("call returned", flush=True)
    time.sleep(120)
