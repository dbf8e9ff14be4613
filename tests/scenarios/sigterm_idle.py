"""A traced program that SIGTERM ends while it waits (docker stop, a pod stop, systemd).

`sigterm_idle.py N sleep|nogil|gil|none|cthread`: runs N traced jobs, prints "ready", then waits in
time.sleep, or in a long C call that releases the GIL (hashlib.pbkdf2_hmac, minutes) or holds it
(sum(range(...)), a few seconds), or (`none`) with nothing queued: it waits in time.sleep after
a flush. `cthread`: the main thread waits on a lock, and a thread started by C code (as zstd's and
BLAS's are: no Python thread state) waits in pause(); "ready" is followed by that thread's id, which
the test sends SIGTERM to, so the kernel hands the signal to that thread. A third argument
`wakeup`: first set a signal wakeup fd of the program's own and unset it (stderr says what
`set_wakeup_fd` returned). SIGTERM's disposition is
the default throughout; the test sends it.
"""

import ctypes
import hashlib
import os
import signal
import sys
import threading
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
    if "wakeup" in sys.argv[3:]:
        # A program that sets its own signal wakeup fd and gives it up again (asyncio's
        # add_signal_handler and remove_signal_handler do): what it is told goes to stderr.
        _, write_end = os.pipe()
        os.set_blocking(write_end, False)
        old = signal.set_wakeup_fd(write_end)
        back = signal.set_wakeup_fd(-1)
        print(f"wakeup: {old} {back == write_end}", file=sys.stderr, flush=True)
    if how == "cthread":
        before = set(os.listdir("/proc/self/task"))
        libc = ctypes.CDLL(None, use_errno=True)
        handle = ctypes.c_ulong()
        assert libc.pthread_create(ctypes.byref(handle), None, ctypes.cast(libc.pause, ctypes.c_void_p), None) == 0
        # The SDK starts upload threads of its own meanwhile: the C thread is the new one that no
        # Python thread claims (Thread.start returns only once native_id is set, so a Python thread
        # still starting is unclaimed only for a moment).
        while True:
            python_threads = {str(t.native_id) for t in threading.enumerate()}
            new = set(os.listdir("/proc/self/task")) - before - python_threads
            if len(new) == 1:
                break
            time.sleep(0.01)
        (tid,) = new
        print("ready", flush=True)
        print(tid, flush=True)
        threading.Event().wait()  # a futex wait: only a signal given to this thread interrupts it
    print("ready", flush=True)
    if how == "nogil":
        hashlib.pbkdf2_hmac("sha256", b"x", b"y", 10**9)  # minutes in C, the GIL released
    elif how == "gil":
        sum(range(2 * 10**8))  # seconds in C holding the GIL: no Python runs, in any thread
        print("call returned", flush=True)
    time.sleep(120)
