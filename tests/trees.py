"""Whole-tree assertions over what the collector received."""

from __future__ import annotations

from typing import Any, Union

from lsautofix_collector import RunStore

# An expected tree: "name" for a leaf, or ("name", [children...]).
Shape = Union[str, tuple[str, list["Shape"]]]


def _normalize(shape: Shape) -> tuple[str, tuple[Any, ...]]:
    if isinstance(shape, str):
        return (shape, ())
    name, children = shape
    return (name, tuple(sorted((_normalize(c) for c in children), key=repr)))


def _count(shape: Shape) -> int:
    return 1 if isinstance(shape, str) else 1 + sum(_count(c) for c in shape[1])


def received_shapes(store: RunStore) -> list[tuple[str, tuple[Any, ...]]]:
    """Every trace received, as a normalized (name, children) tree."""
    runs = store.runs()

    def build(run: dict) -> tuple[str, tuple[Any, ...]]:
        kids = [r for r in runs.values() if r.get("parent_run_id") == run["id"]]
        return (run["name"], tuple(sorted((build(k) for k in kids), key=repr)))

    return sorted((build(r) for r in store.roots()), key=repr)


def store_is_clean(store: RunStore) -> bool:
    """No run posted twice, every dotted order consistent, every parent received."""
    return not store.duplicates() and not store.consistency_errors() and not store.orphans()


def assert_trees(store: RunStore, *expected: Shape) -> None:
    """Exactly these traces, each run under its parent, consistent, none posted twice."""
    assert store.duplicates() == [], f"runs posted twice: {store.duplicates()}"
    assert store.consistency_errors() == [], store.consistency_errors()
    assert store.orphans() == [], f"runs whose parent never arrived: {store.orphans()}"
    want = sorted((_normalize(e) for e in expected), key=repr)
    got = received_shapes(store)
    assert got == want, f"\nexpected {len(want)} trace(s): {want}\nreceived {len(got)} trace(s): {got}"
    assert len(store.runs()) == sum(_count(e) for e in expected)
    assert len(store.traces()) == len(expected)
