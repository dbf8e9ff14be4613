"""Change directory, then open a file next to this script through __file__."""

import os

os.chdir("/")
with open(os.path.join(os.path.dirname(__file__), "data.txt")) as f:
    print("read next to the script after chdir:", f.read().strip())
