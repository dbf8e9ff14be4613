"""Leave in each way a program can: sys.exit with a number, a message, None, a float; os._exit."""

import os
import sys

how = sys.argv[1]
print("before exit", how, flush=True)
print("buffered, lost by os._exit when stdout is a pipe")
if how == "os_exit":
    os._exit(5)
if how == "message":
    sys.exit("a message on stderr and status 1")
if how == "none":
    sys.exit()
if how == "float":
    sys.exit(1.5)
if how == "big":
    sys.exit(256 + 4)
sys.exit(int(how))
