"""A short traced script; with LANGSMITH_USE_DAEMON=true the SDK alone loses every run at exit."""

from langsmith import traceable


@traceable(name="leaf")
def leaf(i: int) -> int:
    return i


@traceable(name="parent")
def parent() -> None:
    for i in range(4):
        leaf(i)


if __name__ == "__main__":
    parent()
