"""Trace trees as text: one renderer for the collector's summary and ``lsautofix doctor``.

Siblings of the same shape (name, run type, error or not, a caller's ``key``, and the same shape
below) are drawn once with a count, ``score [chain] ×24 0.4–10.7 ms``: a fan-out of hundreds of
runs stays readable. Lines carry their guide and their runs apart, so a caller may color them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from lsautofix_collector.store import TreeNode, duration_ms

#: What a caller adds to a run's shape, so that runs it marks differently are never merged.
Key = Callable[[TreeNode], Hashable]
#: The text of one line, given the runs it stands for (one, or several siblings of one shape).
Label = Callable[[Sequence[TreeNode]], str]


@dataclass(frozen=True)
class Line:
    """One drawn line: ``guide`` (``├── `` …), then the runs it stands for."""

    guide: str
    nodes: tuple[TreeNode, ...]

    @property
    def count(self) -> int:
        return len(self.nodes)


def _no_key(node: TreeNode) -> Hashable:
    return None


def _shape(node: TreeNode, key: Key) -> Hashable:
    run = node.run
    kids = sorted((_shape(child, key) for child in node.children), key=repr)
    return (run.get("name"), run.get("run_type"), bool(run.get("error")), key(node), tuple(kids))


def group_siblings(nodes: Sequence[TreeNode], key: Key = _no_key, collapse: bool = True) -> list[list[TreeNode]]:
    """Siblings grouped by shape, each group where its first member was; one group per node if not ``collapse``."""
    if not collapse:
        return [[node] for node in nodes]
    groups: dict[Hashable, list[TreeNode]] = {}
    for node in nodes:
        groups.setdefault(_shape(node, key), []).append(node)
    return list(groups.values())


def _ms(value: float) -> str:
    return f"{value:.1f}"


def run_label(nodes: Sequence[TreeNode]) -> str:
    """``name [run_type] ×N 1.2 ms`` (a range for several), ``(not ended)``, ``ERROR``; placeholders say so."""
    run = nodes[0].run
    count = f" ×{len(nodes)}" if len(nodes) > 1 else ""
    if run.get("run_type") == "missing":
        return f"? {run.get('id')} (never received){count}"
    took = [ms for ms in (duration_ms(n.run) for n in nodes) if ms is not None]
    open_runs = len(nodes) - len(took)
    text = f"{run.get('name')} [{run.get('run_type')}]{count}"
    if took:
        low, high = min(took), max(took)
        text += f" {_ms(low)} ms" if _ms(low) == _ms(high) else f" {_ms(low)}–{_ms(high)} ms"
    if open_runs:
        text += " (not ended)" if open_runs == len(nodes) else f" ({open_runs} not ended)"
    errors = sum(1 for n in nodes if n.run.get("error"))
    if errors:
        text += " ERROR" if errors == len(nodes) else f" ERROR ×{errors}"
    return text


def tree_lines(
    roots: Sequence[TreeNode],
    *,
    key: Key = _no_key,
    collapse: bool = True,
    under_title: bool = False,
    open_end: bool = False,
) -> list[Line]:
    """The lines that draw ``roots``: each at the top, or (``under_title``) as branches of a title
    line, the last one closing the title's branch unless ``open_end`` (a line follows)."""
    lines: list[Line] = []

    def walk(group: list[TreeNode], lead: str, guide: str) -> None:
        lines.append(Line(guide, tuple(group)))
        children = [child for node in group for child in node.children]
        groups = group_siblings(children, key, collapse)
        for i, sub in enumerate(groups):
            last = i == len(groups) - 1
            walk(sub, lead + ("    " if last else "│   "), lead + ("└── " if last else "├── "))

    top = group_siblings(roots, key, collapse)
    for i, group in enumerate(top):
        if under_title:
            last = i == len(top) - 1 and not open_end
            walk(group, "    " if last else "│   ", "└── " if last else "├── ")
        else:
            walk(group, "", "")
    return lines


def render_trees(
    roots: Sequence[TreeNode],
    *,
    title: str | None = None,
    label: Label = run_label,
    key: Key = _no_key,
    collapse: bool = True,
    more: str = "",
) -> str:
    """Text of the trees, one line per run or group of like siblings; under ``title`` when given."""
    titled = title is not None
    lines = tree_lines(roots, key=key, collapse=collapse, under_title=titled, open_end=titled and bool(more))
    out = [title] if title is not None else []
    out += [line.guide + label(line.nodes) for line in lines]
    if more:
        out.append(("└── " if titled else "") + more)
    return "\n".join(out)
