"""`with Pool(2)` ended right after its work, ROUNDS times: `pool_rounds.py METHOD ROUNDS`.

The end of the block terminates workers that are about to wait for their next task: the moment
a SIGTERM handler can miss. Each round's four leaves must arrive under the round's parent, and the
program must end (the test runs it with a timeout).
"""

import multiprocessing as mp
import sys

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="round")
def one_round(method: str) -> None:
    with mp.get_context(method).Pool(2) as pool:
        pool.map(leaf, range(4))


if __name__ == "__main__":
    for _ in range(int(sys.argv[2])):
        one_round(sys.argv[1])
