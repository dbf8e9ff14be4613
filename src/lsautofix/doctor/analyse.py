"""Judging two executions: per run what happened to each run the program created, then per problem
the count in each, its status, and how to fix it by hand.

Each run counts once, in the first of these that applies: *lost* (created, per the ledger, and
never received), *duplicate* (received more than once), *never ended* (received without an end),
*started after its parent ended* (grouped by process and thread; counted when the ended parent has
several: long-lived workers attaching unrelated jobs to it; a lone one is a fire-and-forget thread
and only noted), *split* (a root here that is nested in the other execution). Split traces are the
one comparison: the collector cannot see where code was called from, so a root is "split" when the
other execution did without it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lsautofix.doctor.supervise import Execution
from lsautofix_collector import TreeNode, parse_time
from lsautofix_collector.store import start_of

TITLES = {"plain": "plain Python", "lsautofix": "with lsautofix"}

#: The manual fix for each problem, for users who cannot use lsautofix (split traces: by cause).
FIXES = {
    "split_threads": "in threads: run the work in langsmith.utils.ContextThreadPoolExecutor, or pass "
    "langsmith_extra={'parent': get_current_run_tree()} to the traced call",
    "split_langchain": "LangChain Runnables in threads: declare the step as def step(x, config: RunnableConfig) and "
    "call runnable.invoke(x, config=config) in the worker (or use "
    "langchain_core.runnables.config.ContextThreadPoolExecutor)",
    "split_processes": "across processes: pass get_current_run_tree().to_headers() to the child and run its "
    "work inside tracing_context(parent=headers)",
    "lost_runs": "call langsmith.run_trees.get_cached_client().flush() (LangChain: wait_for_all_tracers()) "
    "before a pool task, a worker or the program ends",
    "never_ended": "let every traced generator run to its end (or close() it), and flush before the process "
    "ends: a run's end is sent after its start",
    "late_runs": "start long-lived worker threads outside traced code, or run their loop inside "
    "langsmith.tracing_context(parent=False), so each job is a trace of its own",
    "duplicate_runs": "create the tracing client after fork, or use the 'spawn' start method",
    "unconsumed_evaluations": "consume the results (`async for _ in results: ...`) or pass blocking=True",
}
#: The problems, in the order the table shows them.
PROBLEMS = (
    ("split_traces", "split traces"),
    ("lost_runs", "lost runs"),
    ("never_ended", "runs never ended"),
    ("late_runs", "runs after their parent ended"),
    ("duplicate_runs", "duplicate runs"),
    ("unconsumed_evaluations", "unconsumed evaluations"),
)

#: Exit statuses of ``lsautofix doctor``.
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_CHANGED = 0, 1, 2, 3


@dataclass
class ProcessSummary:
    """What one process of the program created and how much of it arrived."""

    pid: int
    ppid: int | None
    main: bool
    created: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)


@dataclass
class LateGroup:
    """Runs one thread started after their (one) parent had ended."""

    pid: int
    thread: str
    parent_id: str
    parent_name: str
    names: dict[str, int]
    first_after_ms: float
    counted: bool

    @property
    def runs(self) -> int:
        return sum(self.names.values())


@dataclass
class Experiment:
    name: str
    examples: int
    evaluated: int


@dataclass
class RunAnalysis:
    """One execution, judged: counts, per process, per problem run, and its trees."""

    key: str
    autofix: str
    pid: int
    exit_status: int
    timed_out: bool
    timeout: float
    seconds: float
    leftover_processes_killed: bool
    stdout_tail: list[str]
    stderr_tail: list[str]
    ledger_ok: bool
    created: int | None
    received: int
    traces_received: int
    processes: list[ProcessSummary]
    not_in_ledger: int | None
    duplicates: int
    lost: int | None
    never_ended: dict[str, int]
    never_ended_by_program: int
    late: list[LateGroup]
    experiments: list[Experiment]
    incomplete_experiments: int
    evaluation_warnings: int
    unknown_endpoints: dict[str, int]
    split: dict[str, int] = field(default_factory=dict)
    #: Not in the JSON: the trees, each problem run's mark, roots by name, LangChain-made names.
    trees: list[TreeNode] = field(default_factory=list, repr=False)
    marks: dict[str, str] = field(default_factory=dict, repr=False)
    roots: Counter[str] = field(default_factory=Counter, repr=False)
    #: Roots this execution created (per the ledger) and lost: not split, whatever the other did.
    lost_roots: Counter[str] = field(default_factory=Counter, repr=False)
    langchain_names: set[str] = field(default_factory=set, repr=False)
    #: (name, pid, parent's pid) of each created run whose parent this execution created too.
    placement: list[tuple[str, Any, Any]] = field(default_factory=list, repr=False)

    @property
    def title(self) -> str:
        return TITLES.get(self.key, self.key)

    @property
    def failed(self) -> bool:
        return self.timed_out or self.exit_status != 0

    def outcome(self) -> str:
        if self.timed_out:
            return f"timed out after {self.timeout:g} s"
        if self.exit_status < 0:
            return f"killed by signal {-self.exit_status}"
        return f"exit {self.exit_status}"

    @property
    def late_counted(self) -> int:
        return sum(g.runs for g in self.late if g.counted)

    @property
    def nothing_traced(self) -> bool:
        return not self.created and not self.received

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("trees", "marks", "roots", "lost_roots",
                                                                     "langchain_names", "placement")}  # fmt: skip
        data["processes"] = [p.__dict__ for p in self.processes]
        data["late"] = [{**g.__dict__, "runs": g.runs} for g in self.late]
        data["experiments"] = [e.__dict__ for e in self.experiments]
        data["traces"] = [tree.to_dict() for tree in self.trees]
        return data


@dataclass
class Problem:
    """One row of the verdict table."""

    name: str
    title: str
    plain: int | None
    lsautofix: int | None
    fix: list[str]
    names: dict[str, dict[str, int]] = field(default_factory=dict)
    warned_by_lsautofix: int = 0

    @property
    def status(self) -> str:
        before, after = self.plain, self.lsautofix
        if after is None or before is None:
            return "not measured (ledger missing)"
        if after:
            if self.warned_by_lsautofix:
                return "lsautofix warns; fix the code"
            return "remains" if before else "only with lsautofix"
        return "fixed by lsautofix" if before else "none"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "status": self.status}


@dataclass
class Report:
    """Both executions judged, the problems, and the verdict with doctor's exit status."""

    command: list[str]
    python: str
    versions: str
    runs: dict[str, RunAnalysis]
    problems: list[Problem]
    verdict: str
    exit_status: int
    #: The first line of the report when lsautofix changed how the program ended, else "".
    changed: str = ""
    nothing_traced: bool = False
    notes: list[str] = field(default_factory=list)

    def problem(self, name: str) -> Problem:
        return next(p for p in self.problems if p.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "python": self.python,
            "versions": self.versions,
            "changed": self.changed,
            "nothing_traced": self.nothing_traced,
            "notes": self.notes,
            "runs": {key: run.to_json() for key, run in self.runs.items()},
            "problems": {p.name: p.to_json() for p in self.problems},
            "verdict": self.verdict,
            "exit_status": self.exit_status,
        }


# --- one execution ------------------------------------------------------------------------------


def _late_groups(
    runs: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]], skip: set[str]
) -> dict[str, LateGroup]:
    """Runs that started after their parent ended (by id), grouped by process, thread and parent."""
    items: dict[tuple[int, str, str], list[tuple[str, float]]] = {}
    for run_id, run in runs.items():
        parent = runs.get(str(run.get("parent_run_id")))
        if run_id in skip or parent is None:
            continue
        start, parent_end = start_of(run), parse_time(parent.get("end_time"))
        if start is None or parent_end is None or start <= parent_end:
            continue
        record = records.get(run_id, {})
        key = (int(record.get("pid") or 0), str(record.get("thread") or "?"), parent["id"])
        items.setdefault(key, []).append((run_id, (start - parent_end).total_seconds() * 1000))
    per_parent = Counter(parent_id for (_, _, parent_id), found in items.items() for _ in found)
    out: dict[str, LateGroup] = {}
    for (pid, thread, parent_id), found in items.items():
        group = LateGroup(
            pid=pid,
            thread=thread,
            parent_id=parent_id,
            parent_name=str(runs[parent_id].get("name")),
            names=dict(Counter(str(runs[run_id].get("name")) for run_id, _ in found)),
            first_after_ms=round(min(after for _, after in found), 1),
            counted=per_parent[parent_id] > 1,
        )
        out.update(dict.fromkeys((run_id for run_id, _ in found), group))
    return out


def _experiments(execution: Execution) -> list[Experiment]:
    store, found = execution.store, []
    datasets = store.datasets()
    for project in store.projects().values():
        dataset = datasets.get(str(project.get("reference_dataset_id")))
        if dataset is None:
            continue
        done = {
            r.get("reference_example_id")
            for r in store.runs_in_project(project["id"])
            if not r.get("parent_run_id") and r.get("reference_example_id")
        }
        expected = project.get("num_examples")  # what the SDK said it would run; else the whole dataset
        if not isinstance(expected, int):
            expected = dataset.get("example_count", 0)
        found.append(Experiment(str(project.get("name")), expected, len(done)))
    return found


def examine(execution: Execution) -> RunAnalysis:
    """Every run the execution created (ledger) and received (collector), each given its one problem."""
    store = execution.store
    runs = store.runs()
    created: dict[str, dict[str, Any]] = {}
    ended: set[str] = set()
    for record in execution.ledger:
        if record.get("op") == "end":
            ended.add(str(record.get("id")))
        elif record.get("id"):
            created.setdefault(str(record["id"]), record)
            if record.get("ended"):
                ended.add(str(record["id"]))
    ledger_ok = bool(created) or not runs
    processes: dict[int, ProcessSummary] = {}
    main_pid = execution.pid
    marks: dict[str, str] = {}
    for run_id, record in created.items():
        pid = int(record.get("pid") or 0)
        entry = processes.setdefault(pid, ProcessSummary(pid, record.get("ppid"), pid == main_pid))
        entry.created += 1
        if run_id in runs:
            entry.delivered += 1
        else:
            entry.lost.append(str(record.get("name")))
            marks[run_id] = "lost"
    duplicates = set(store.duplicates())
    marks.update({run_id: "duplicate" for run_id in duplicates})
    open_runs = {rid: r for rid, r in runs.items() if not r.get("end_time") and rid not in marks}
    marks.update({rid: "not ended" for rid in open_runs})
    late_by_run = _late_groups(runs, created, set(marks))
    marks.update({rid: "late" if group.counted else "late once" for rid, group in late_by_run.items()})
    late = sorted({id(g): g for g in late_by_run.values()}.values(), key=lambda g: (not g.counted, g.pid, g.thread))
    source = created if ledger_ok else runs
    roots = Counter(str(r.get("name")) for rid, r in source.items() if not r.get("parent_run_id") and rid not in marks)
    lost_roots = Counter(str(r.get("name")) for rid, r in created.items() if not r.get("parent_run_id") and marks.get(rid) == "lost")
    experiments = _experiments(execution)
    return RunAnalysis(
        key=execution.key,
        autofix=execution.autofix,
        pid=execution.pid,
        exit_status=execution.exit_status,
        timed_out=execution.timed_out,
        timeout=execution.timeout,
        seconds=execution.seconds,
        leftover_processes_killed=execution.leftover_processes_killed,
        stdout_tail=execution.stdout,
        stderr_tail=execution.stderr,
        ledger_ok=ledger_ok,
        created=len(created) if ledger_ok else None,
        received=len(runs),
        traces_received=len(store.traces()),
        processes=sorted(processes.values(), key=lambda p: (not p.main, p.pid)),
        not_in_ledger=len(set(runs) - set(created)) if ledger_ok else None,
        duplicates=len(duplicates),
        lost=sum(len(p.lost) for p in processes.values()) if ledger_ok else None,
        never_ended=dict(Counter(str(r.get("name")) for r in open_runs.values())),
        never_ended_by_program=sum(1 for rid in open_runs if rid in created and rid not in ended),
        late=late,
        experiments=experiments,
        incomplete_experiments=sum(1 for e in experiments if e.evaluated < e.examples),
        evaluation_warnings=execution.evaluation_warnings,
        unknown_endpoints=dict(Counter(f"{m} {p}" for m, p in store.unknown_requests())),
        trees=store.trees(),
        marks=marks,
        roots=roots,
        lost_roots=lost_roots,
        langchain_names={str(r.get("name")) for r in created.values() if r.get("library") == "langchain-core"},
        placement=[
            (str(r.get("name")), r.get("pid"), created[str(r["parent_run_id"])].get("pid"))
            for r in created.values()
            if str(r.get("parent_run_id")) in created
        ],
    )


# --- both executions ------------------------------------------------------------------------------


def _split(this: RunAnalysis, other: RunAnalysis) -> dict[str, int]:
    """Per name, the roots ``this`` created beyond those ``other`` created (delivered or lost: a root
    either way, not nested) or attached late to an ended run."""
    late_other: Counter[str] = Counter()
    for group in other.late:
        if group.counted:
            late_other.update(group.names)
    out = {}
    for name, count in this.roots.items():
        extra = count - other.roots.get(name, 0) - other.lost_roots.get(name, 0) - late_other.get(name, 0)
        if extra > 0:
            out[name] = extra
    return out


def _split_fixes(names: set[str], plain: RunAnalysis, fixed: RunAnalysis) -> list[str]:
    """Threads, processes, LangChain? Where lsautofix placed the runs with those names says which."""
    kinds = {
        "split_threads" if pid == parent_pid else "split_processes"
        for name, pid, parent_pid in fixed.placement
        if name in names
    }
    if "split_threads" in kinds and names & (plain.langchain_names | fixed.langchain_names):
        kinds.add("split_langchain")
    order = ("split_threads", "split_langchain", "split_processes")
    return [FIXES[k] for k in order if k in (kinds or {"split_threads", "split_processes"})]


def judge(plain: RunAnalysis, fixed: RunAnalysis) -> list[Problem]:
    """One row per problem: the count in each execution, the names involved, the manual fix."""
    plain.split, fixed.split = _split(plain, fixed), _split(fixed, plain)
    for run in (plain, fixed):  # the latest roots of a name are the split-off ones
        seen: Counter[str] = Counter()
        for node in run.trees:
            name = str(node.run.get("name"))
            if node.run.get("parent_run_id") or node.run["id"] in run.marks or name not in run.split:
                continue
            seen[name] += 1
            if seen[name] > run.roots[name] - run.split[name]:
                run.marks[node.run["id"]] = "split off"

    def measured(run: RunAnalysis, value: int) -> int | None:
        return value if run.ledger_ok else None

    return [
        Problem(
            "split_traces", "split traces", sum(plain.split.values()), sum(fixed.split.values()),
            _split_fixes(set(plain.split) | set(fixed.split), plain, fixed),
            {"plain": plain.split, "lsautofix": fixed.split},
        ),
        Problem("lost_runs", "lost runs", plain.lost, fixed.lost, [FIXES["lost_runs"]]),
        Problem(
            "never_ended", "runs never ended", sum(plain.never_ended.values()), sum(fixed.never_ended.values()),
            [FIXES["never_ended"]], {"plain": plain.never_ended, "lsautofix": fixed.never_ended},
        ),
        Problem(
            "late_runs", "runs after their parent ended", measured(plain, plain.late_counted),
            measured(fixed, fixed.late_counted), [FIXES["late_runs"]],
        ),
        Problem("duplicate_runs", "duplicate runs", plain.duplicates, fixed.duplicates, [FIXES["duplicate_runs"]]),
        Problem(
            "unconsumed_evaluations", "unconsumed evaluations", plain.incomplete_experiments,
            max(fixed.incomplete_experiments, fixed.evaluation_warnings), [FIXES["unconsumed_evaluations"]],
            warned_by_lsautofix=fixed.evaluation_warnings,
        ),
    ]  # fmt: skip


NOTHING_TRACED = (
    "the program created no run in either execution. It may not import langsmith or langchain_core, or not reach "
    "traced code with these arguments; it may switch tracing off itself (tracing_context(enabled=False), "
    "os.environ['LANGSMITH_TRACING'] = 'false', or a .env file loaded with override=True); or it stopped "
    "before tracing anything (its output is above)"
)


def changed_line(plain: RunAnalysis, fixed: RunAnalysis) -> str:
    """Non-empty when the program ended worse, or differently, only with lsautofix."""
    if not fixed.failed or plain.outcome() == fixed.outcome():  # two timeouts are alike, however killed
        return ""
    return (
        f"lsautofix changed the program: plain Python ended with {plain.outcome()}, with lsautofix it ended "
        f"with {fixed.outcome()} (its output is below)"
    )


def verdict(report_problems: list[Problem], plain: RunAnalysis, fixed: RunAnalysis) -> tuple[int, str, list[str]]:
    """Doctor's exit status, its last line, and notes on how the program ended."""
    notes = []
    if plain.failed and not fixed.failed:
        notes.append(f"the program ended with {plain.outcome()} only without lsautofix")
    changed = changed_line(plain, fixed)
    if changed:
        return EXIT_CHANGED, changed, notes
    if plain.nothing_traced and fixed.nothing_traced:
        return EXIT_PROBLEMS, f"nothing was traced: {NOTHING_TRACED}", notes
    remaining = [p.title for p in report_problems if p.lsautofix]
    found = sum(p.plain or 0 for p in report_problems)
    if remaining:
        return EXIT_PROBLEMS, f"problems remain with lsautofix: {', '.join(remaining)}", notes
    if fixed.failed:
        what = "timed out" if fixed.timed_out else f"failed ({fixed.outcome()})"
        return EXIT_PROBLEMS, f"the program {what} with and without lsautofix: see its output above", notes
    if found:
        return EXIT_OK, f"lsautofix fixes every problem found ({found} in plain Python, 0 with lsautofix)", notes
    return EXIT_OK, "no problem found", notes
