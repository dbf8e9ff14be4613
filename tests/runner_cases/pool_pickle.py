"""A Pool returns instances of a class defined in __main__ (pickled by reference), per start method."""

import multiprocessing
import sys

import langsmith  # noqa: F401 - lsautofix applies its patches (Pool among them) on this import


class Checkpoint:
    def __init__(self, step):
        self.step = step

    def __repr__(self):
        return f"Checkpoint({self.step})"


def work(step):
    return Checkpoint(step * 10)


if __name__ == "__main__":
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        print(method, pool.map(work, range(4)))
    process = ctx.Process(target=work, args=(1,))
    process.start()
    process.join()
    print("process exit code", process.exitcode)
