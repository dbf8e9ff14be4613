"""Read standard input: input() lines, then the rest."""

import sys

first = input("prompt> ")
print("first line:", first)
print("rest:", sys.stdin.read().splitlines())
