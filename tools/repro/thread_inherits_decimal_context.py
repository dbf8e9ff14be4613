"""A thread started under tracing state shares its starter's decimal context.

    python tools/repro/thread_inherits_decimal_context.py                      # plain: fresh context
    LANGSMITH_AUTOFIX=1 python tools/repro/thread_inherits_decimal_context.py  # lsautofix: shared

CPython's test_decimal ``CThreadingTest.test_threading`` and ``PyThreadingTest.test_threading``
hang with lsautofix for this reason. The test sets ``DefaultContext`` (the template of every new
thread's decimal context) and expects its threads to compute with it; a thread whose assertion
fails never sets the event the main thread waits for. ``decimal`` keeps the current context in a
context variable. Plain Python starts a thread with an empty ``contextvars.Context``, so
``getcontext()`` there makes a fresh copy of ``DefaultContext``. lsautofix's ``Thread.start``
(src/lsautofix/patches/threads.py, ``_make_start``: ``context.capture()`` ->
``LocalContext(contextvars.copy_context(), ...)`` in src/lsautofix/context.py) runs the thread in
a copy of the starter's *whole* context: the thread gets the starter's decimal ``Context``
object itself, ignores ``DefaultContext``, and its changes (``prec``) are the starter's too.
No network: any tracing context (a project name) makes lsautofix carry the context.
"""

import decimal
import sys
import threading

import langsmith  # lsautofix applies its patches when langsmith is imported

decimal.getcontext().prec = 28  # the main thread's context exists (as soon as any code uses decimal)
decimal.DefaultContext.prec = 24  # the template for new threads' contexts, as test_threading sets it

seen = {}


def in_thread() -> None:
    context = decimal.getcontext()
    seen["prec"] = context.prec
    seen["same object as the main thread's"] = context is main
    context.prec = 18  # a thread's own business, in plain Python


main = decimal.getcontext()
with langsmith.tracing_context(project_name="repro"):  # any tracing state; nothing is sent
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()

print(f"in the thread: {seen}")
print(f"main thread's precision afterwards: {decimal.getcontext().prec} (was 28)")
sys.exit(0 if seen["prec"] == 24 and decimal.getcontext().prec == 28 else 1)
