"""Showing a :class:`~lsautofix.doctor.analyse.Report`: plain text, or ``rich`` colors in a terminal.

Both draw the trees with the collector's renderer (:mod:`lsautofix_collector.render`), so the text
is the same; rich only adds color and the boxed table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from lsautofix.doctor.analyse import Problem, Report, RunAnalysis
from lsautofix_collector import TreeNode
from lsautofix_collector.render import Key, group_siblings, run_label, tree_lines

#: Output lines shown for an execution that failed; ``--show-output`` shows all that were kept.
FAILED_TAIL = 20
#: What a marked run's line says after its label.
_MARK_TEXT = {
    "split off": "← split off",
    "late": "← started after its parent ended",
    "late once": "← started after its parent ended (fire-and-forget)",
    "duplicate": "← received twice",
}


def plural(count: int | None, noun: str) -> str:
    """``1 trace``, ``2 traces``, ``? traces``."""
    return f"{'?' if count is None else count} {noun}{'' if count == 1 else 's'}"


def names(counts: dict[str, int]) -> str:
    """``fetch ×3, score``: names with a count where there is more than one."""
    return ", ".join(f"{name} ×{count}" if count > 1 else name for name, count in counts.items())


def _shown(run: RunAnalysis, key: Key, max_traces: int) -> tuple[list[TreeNode], int]:
    """The traces to draw, at most ``max_traces`` lines of like traces, those with a problem run (or
    an error) first; and how many traces that leaves out."""

    def troubled(node: TreeNode) -> bool:
        run_data = node.run
        if run_data.get("id") in run.marks or run_data.get("error") or run_data.get("run_type") == "missing":
            return True
        return any(troubled(child) for child in node.children)

    groups = sorted(group_siblings(run.trees, key), key=lambda group: not troubled(group[0]))
    shown = [node for group in groups[:max_traces] for node in group]
    return shown, len(run.trees) - len(shown)


def describe(run: RunAnalysis) -> str:
    """``exit 0 after 1.1 s; 7 runs created, 4 received in 4 traces``."""
    how = run.outcome() if run.timed_out else f"{run.outcome()} after {run.seconds:.1f} s"
    return (
        f"{how}; {plural(run.created, 'run')} created, {run.received} received "
        f"in {plural(run.traces_received, 'trace')}"
    )


def notes(run: RunAnalysis) -> list[str]:
    """Per process created/delivered, the problem runs by name, experiments and warnings, one line each."""
    lines = []
    if run.split:
        lines.append(f"split off (created as roots): {names(run.split)}")
    for group in run.late:
        where = f"thread {group.thread!r} of pid {group.pid}"
        text = (
            f"{where}: {plural(group.runs, 'run')} ({names(group.names)}) started after their parent "
            f"{group.parent_name!r} had ended, the first {group.first_after_ms:.1f} ms after"
        )
        lines.append(text if group.counted else text + " (the only one under that parent: fire-and-forget, not counted)")
    if run.never_ended:
        by_program = run.never_ended_by_program
        total = sum(run.never_ended.values())
        why = "the program never ended them" if by_program == total else (
            f"{by_program} never ended by the program, {total - by_program} ended but the end never arrived"
        )
        lines.append(f"never ended: {names(run.never_ended)} ({why})")
    if not run.ledger_ok:
        lines.append(
            "the run ledger did not start (is lsautofix installed with its .pth in this Python?): "
            "lost runs were not measured"
        )
    for p in run.processes:
        role = "main" if p.main else f"child of {p.ppid}"
        lost = f", lost: {names(_count(p.lost))}" if p.lost else ""
        lines.append(f"pid {p.pid} ({role}): {p.created} created, {p.delivered} delivered{lost}")
    if run.not_in_ledger:
        lines.append(f"{plural(run.not_in_ledger, 'run')} received that no ledger recorded (a process without "
                     "lsautofix installed?)")  # fmt: skip
    for e in run.experiments:
        lines.append(f"experiment {e.name!r}: runs for {e.evaluated} of {e.examples} examples")
    if run.evaluation_warnings:
        lines.append(f"UnconsumedEvaluationWarning on stderr: {run.evaluation_warnings}")
    if run.unknown_endpoints:
        calls = ", ".join(f"{what} ×{n}" if n > 1 else what for what, n in run.unknown_endpoints.items())
        lines.append(f"endpoints the collector does not implement (answered 404): {calls}")
    if run.leftover_processes_killed:
        lines.append("processes the program left running were killed after it exited")
    return lines


def _count(items: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


class Plain:
    """Plain text: the collector's tree text and a space-aligned table."""

    def __init__(self, out: IO[str]) -> None:
        self.write = out.write

    def line(self, text: str = "", style: str = "") -> None:
        self.write(text + "\n")

    def tree_line(self, guide: str, label: str, style: str) -> None:
        self.line(guide + label)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]], styles: list[str]) -> None:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.line("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    def pairs(self, items: list[tuple[str, str]]) -> None:
        width = max(len(title) for title, _ in items)
        for i, (title, text) in enumerate(items):
            shown = "" if i and items[i - 1][0] == title else title
            self.line(f"  {shown.ljust(width)}  {text}")


class Rich(Plain):
    """``rich``: colors and a boxed table (imported only when the output is a terminal)."""

    def __init__(self, out: IO[str]) -> None:
        from rich.console import Console
        from rich.markup import escape

        self.console, self.escape = Console(file=out, highlight=False), escape

    def line(self, text: str = "", style: str = "") -> None:
        self.console.print(self.escape(text), style=style or None, soft_wrap=True)

    def tree_line(self, guide: str, label: str, style: str) -> None:
        styled = f"[{style}]{self.escape(label)}[/]" if style else self.escape(label)
        self.console.print(f"[dim]{self.escape(guide)}[/]{styled}", soft_wrap=True)

    def table(self, header: tuple[str, ...], rows: list[tuple[str, ...]], styles: list[str]) -> None:
        from rich.table import Table

        table = Table(*header)
        for column in table.columns[1:3]:
            column.justify = "right"
        for row, style in zip(rows, styles):
            table.add_row(*row[:-1], f"[{style}]{self.escape(row[-1])}[/]")
        self.console.print(table)


def _trees(ui: Plain, run: RunAnalysis, max_traces: int, failed: bool) -> None:
    def key(node: TreeNode) -> str:
        return run.marks.get(str(node.run.get("id")), "")

    shown, hidden = _shown(run, key, max_traces)
    ui.line()
    ui.line(f"{run.title} (LANGSMITH_AUTOFIX={run.autofix}): {describe(run)}", "bold red" if failed else "bold")

    def label(nodes: Sequence[TreeNode]) -> str:
        mark = _MARK_TEXT.get(key(nodes[0]), "")
        return run_label(nodes) + (f"  {mark}" if mark else "")

    def style(nodes: Sequence[TreeNode]) -> str:
        first = nodes[0].run
        if first.get("run_type") == "missing":
            return "yellow"
        return "red" if first.get("error") or key(nodes[0]) else ""

    lines = tree_lines(shown, key=key, under_title=True, open_end=hidden > 0)
    for tree_line in lines:
        ui.tree_line(tree_line.guide, label(tree_line.nodes), style(tree_line.nodes))
    if hidden > 0:
        ui.tree_line("└── ", f"... {plural(hidden, 'more trace')} (--json has them all)", "dim")
    for text in notes(run):
        ui.line(f"  {text}", "dim")


def _output(ui: Plain, run: RunAnalysis, lines: int) -> None:
    for name, kept in (("stdout", run.stdout_tail), ("stderr", run.stderr_tail)):
        shown = kept[-lines:]
        more = f" (last {len(shown)} lines)" if len(kept) > len(shown) else ""
        ui.line(f"  {name}{more}:", "red" if run.failed else "")
        for text in shown or ["(empty)"]:
            ui.line(f"  | {text}")


def render(report: Report, ui: Plain, max_traces: int, show_output: bool) -> None:
    """The human report: a changed outcome first, then each execution, the table, the manual fixes."""
    if report.changed:
        ui.line(report.changed, "bold red")
    ui.line(f"lsautofix doctor: {' '.join(report.command)}", "bold")
    for run in report.runs.values():
        _trees(ui, run, max_traces, run.failed)
        if show_output or run.failed or report.nothing_traced:
            _output(ui, run, 10**9 if show_output else FAILED_TAIL)
    rows: list[tuple[str, ...]] = []
    styles: list[str] = []
    for problem in report.problems:
        status = problem.status
        rows.append((problem.title, _cell(problem.plain), _cell(problem.lsautofix), status))
        styles.append("green" if status in ("none", "fixed by lsautofix") else "red")
    ui.line()
    ui.table(("problem", "plain Python", "with lsautofix", "status"), rows, styles)
    fixes = _fixes(report.problems)
    if fixes:
        ui.line()
        ui.line("how to fix by hand:", "bold")
        ui.pairs(fixes)
    for note in report.notes:
        ui.line(note, "dim")
    ui.line()
    ui.line(report.verdict, "bold red" if report.exit_status else "bold green")


def _cell(value: int | None) -> str:
    return "?" if value is None else str(value)


def _fixes(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.title, fix) for p in problems if p.plain or p.lsautofix for fix in p.fix]
