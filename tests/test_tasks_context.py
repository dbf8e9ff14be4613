# mypy: disable-error-code="call-arg"
# (mypy checks against Python 3.10's stubs, where create_task has no ``context=``.)
"""``create_task(..., context=)``: Python 3.11's meaning, natively on 3.11+ and backported on 3.10.

Every test is written against 3.11's behaviour; the autouse fixture applies the backport where it
is needed and reverts it afterwards, so the same bodies run on both.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lsautofix.patches import tasks as tasks_patch

var: contextvars.ContextVar[str] = contextvars.ContextVar("lsautofix_test_var", default="unset")

needs_backport = pytest.mark.skipif(not tasks_patch.NEEDED, reason="Python >= 3.11 has context= natively")
native_only = pytest.mark.skipif(tasks_patch.NEEDED, reason="only Python >= 3.11 has context= natively")


@pytest.fixture(autouse=True)
def backport() -> Iterator[None]:
    """Apply the backport for the test, then put back whatever state the session had."""
    was_applied = tasks_patch.is_applied()
    tasks_patch.apply()
    try:
        yield
    finally:
        if was_applied:
            tasks_patch.apply()
        else:
            tasks_patch.revert()


def run(main: Callable[[], Any], *, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> Any:
    """``asyncio.run(main())`` on a fresh loop from ``loop_factory`` (default: asyncio's)."""
    loop = loop_factory() if loop_factory else asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def fresh_context(value: str = "outer") -> contextvars.Context:
    ctx = contextvars.copy_context()
    ctx.run(var.set, value)
    return ctx


async def set_var(value: str, *, wait: asyncio.Event | None = None) -> tuple[str, str]:
    """Read ``var``, set it, optionally wait, and read it again."""
    before = var.get()
    var.set(value)
    if wait is not None:
        await wait.wait()
    return before, var.get()


# --- where the task runs ----------------------------------------------------------------------


def test_task_runs_in_the_given_context_object() -> None:
    ctx = fresh_context()

    async def main() -> tuple[str, str]:
        return await asyncio.create_task(set_var("inner"), context=ctx)

    assert run(main) == ("outer", "inner")
    assert ctx.run(var.get) == "inner"  # the task wrote into ctx itself, not into a copy
    assert var.get() == "unset"


def test_task_sees_what_others_set_in_its_context_between_steps() -> None:
    ctx = fresh_context()

    async def main() -> tuple[str, str]:
        gate = asyncio.Event()

        async def read_after_gate() -> str:
            await gate.wait()
            return var.get()

        task = asyncio.create_task(read_after_gate(), context=ctx)
        await asyncio.sleep(0)
        ctx.run(var.set, "changed while the task waited")
        gate.set()
        return await task, var.get()

    assert run(main) == ("changed while the task waited", "unset")


def test_every_step_runs_in_the_context() -> None:
    ctx = fresh_context()

    async def main() -> list[str]:
        async def steps() -> list[str]:
            seen = []
            for i in range(3):
                seen.append(var.get())
                var.set(f"step{i}")
                await asyncio.sleep(0)
            return seen

        return await asyncio.create_task(steps(), context=ctx)

    assert run(main) == ["outer", "step0", "step1"]
    assert ctx.run(var.get) == "step2"


def test_tasks_sharing_a_context_see_each_others_writes() -> None:
    ctx = fresh_context()

    async def main() -> tuple[tuple[str, str], tuple[str, str]]:
        first = await asyncio.create_task(set_var("first"), context=ctx)
        second = await asyncio.create_task(set_var("second"), context=ctx)
        return first, second

    assert run(main) == (("outer", "first"), ("first", "second"))


def test_without_context_the_task_runs_in_a_copy_of_the_current_context() -> None:
    async def main() -> tuple[tuple[str, str], str]:
        var.set("caller")
        result = await asyncio.create_task(set_var("inner"))
        return result, var.get()

    assert run(main) == (("caller", "inner"), "caller")


def test_context_none_is_the_same_as_no_context() -> None:
    async def main() -> tuple[tuple[str, str], str]:
        var.set("caller")
        result = await asyncio.create_task(set_var("inner"), context=None)
        return result, var.get()

    assert run(main) == (("caller", "inner"), "caller")


def test_tasks_created_inside_inherit_a_copy_of_the_given_context() -> None:
    ctx = fresh_context()

    async def parent() -> tuple[tuple[str, str], str]:
        var.set("parent")
        child = await asyncio.create_task(set_var("child"))
        return child, var.get()

    async def main() -> tuple[tuple[str, str], str]:
        return await asyncio.create_task(parent(), context=ctx)

    assert run(main) == (("parent", "child"), "parent")
    assert ctx.run(var.get) == "parent"


def test_loop_create_task_accepts_context() -> None:
    ctx = fresh_context()

    async def main() -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        return await loop.create_task(set_var("inner"), name="via-loop", context=ctx)

    assert run(main) == ("outer", "inner")
    assert ctx.run(var.get) == "inner"


def test_loop_create_task_accepts_context_outside_a_running_loop() -> None:
    ctx = fresh_context()
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(set_var("inner"), context=ctx)
        assert loop.run_until_complete(task) == ("outer", "inner")
    finally:
        loop.close()
    assert ctx.run(var.get) == "inner"


def test_task_factory_task_runs_in_the_context() -> None:
    ctx = fresh_context()
    made: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        # 3.11 passes context= to the factory; the 3.10 backport hands it a wrapped coroutine.
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def main() -> tuple[str, str]:
        asyncio.get_running_loop().set_task_factory(factory)
        task = asyncio.create_task(set_var("inner"), context=ctx, name="factory-made")
        assert task is made[-1] and task.get_name() == "factory-made"
        return await task

    assert run(main) == ("outer", "inner")
    assert made[0].get_name() == "factory-made"
    assert ctx.run(var.get) == "inner"


def test_ensure_future_takes_no_context_as_in_311() -> None:
    assert "context" not in inspect.signature(asyncio.ensure_future).parameters


# --- the task is an ordinary task ---------------------------------------------------------------


@pytest.mark.parametrize("with_context", [False, True])
def test_task_is_an_asyncio_task_with_name_coro_and_current_task(with_context: bool) -> None:
    async def main() -> None:
        async def who_am_i() -> asyncio.Task[Any] | None:
            return asyncio.current_task()

        coro = who_am_i()
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        task = asyncio.create_task(coro, name="named", **kwargs)
        assert isinstance(task, asyncio.Task)
        assert asyncio.isfuture(task)
        assert task.get_coro() is coro
        assert task.get_name() == "named"
        assert repr(task).startswith("<Task pending name='named' coro=<")
        assert "who_am_i" in repr(task)
        assert task in asyncio.all_tasks()
        assert (await task) is task
        assert task.done() and not task.cancelled()

        unnamed = asyncio.create_task(who_am_i(), **kwargs)
        assert unnamed.get_name().startswith("Task-")
        await unnamed

    run(main)


@pytest.mark.parametrize("with_context", [False, True])
def test_exception_propagates_unchanged(with_context: bool) -> None:
    error = ValueError("boom")

    async def fail() -> None:
        await asyncio.sleep(0)
        raise error

    async def main() -> None:
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        task = asyncio.create_task(fail(), **kwargs)
        with pytest.raises(ValueError) as raised:
            await task
        assert raised.value is error
        assert task.exception() is error
        assert error.__context__ is None

    run(main)


@pytest.mark.parametrize("with_context", [False, True])
def test_cancellation_propagates_unchanged(with_context: bool) -> None:
    ctx = fresh_context()

    async def sleeper(log: list[Any]) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as exc:
            log.append(exc.args)
            raise
        finally:
            var.set("cleaned up")
            log.append(var.get())

    async def main() -> list[Any]:
        log: list[Any] = []
        kwargs: dict[str, Any] = {"context": ctx} if with_context else {}
        task = asyncio.create_task(sleeper(log), **kwargs)
        await asyncio.sleep(0)
        assert task.cancel("stop")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        with pytest.raises(asyncio.CancelledError):
            task.result()
        return log

    assert run(main) == [("stop",), "cleaned up"]
    assert ctx.run(var.get) == ("cleaned up" if with_context else "outer")


@pytest.mark.parametrize("with_context", [False, True])
def test_cancel_before_first_step(with_context: bool) -> None:
    started: list[bool] = []

    async def never() -> None:
        started.append(True)

    async def main() -> None:
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        task = asyncio.create_task(never(), **kwargs)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    run(main)
    assert started == []


@pytest.mark.parametrize("with_context", [False, True])
def test_swallowed_cancellation_lets_the_task_finish(with_context: bool) -> None:
    async def stubborn() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass
        await asyncio.sleep(0)
        return 42

    async def main() -> None:
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        task = asyncio.create_task(stubborn(), **kwargs)
        await asyncio.sleep(0)
        task.cancel()
        assert await task == 42
        assert not task.cancelled()

    run(main)


@pytest.mark.parametrize("with_context", [False, True])
def test_cancelling_the_awaiter_cancels_the_awaited_task(with_context: bool) -> None:
    async def main() -> None:
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        inner = asyncio.create_task(asyncio.sleep(10), **kwargs)

        async def outer() -> None:
            await inner

        outer_task = asyncio.create_task(outer(), **kwargs)
        await asyncio.sleep(0)
        outer_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer_task
        assert inner.cancelled()

    run(main)


@pytest.mark.parametrize("with_context", [False, True])
def test_base_exceptions_escape_the_loop(with_context: bool) -> None:
    async def interrupt() -> None:
        raise KeyboardInterrupt

    loop = asyncio.new_event_loop()
    try:
        kwargs: dict[str, Any] = {"context": fresh_context()} if with_context else {}
        task = loop.create_task(interrupt(), **kwargs)
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(task)
    finally:
        loop.close()


def test_non_coroutine_is_rejected() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="a coroutine was expected"):
            asyncio.create_task(42, context=fresh_context())  # type: ignore[arg-type]

    run(main)


def test_closed_loop_is_rejected() -> None:
    loop = asyncio.new_event_loop()
    loop.close()

    async def nothing() -> None:
        pass

    coro = nothing()
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro, context=fresh_context())
    coro.close()


def test_pending_task_destroyed_closes_its_coroutine() -> None:
    closed: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            closed.append(True)

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed but it is pending!"
    try:
        task = loop.create_task(forever(), context=fresh_context())
        loop.run_until_complete(asyncio.sleep(0))
        del task
    finally:
        loop.close()
    gc.collect()
    assert closed == [True]


# --- what the SDK reads -------------------------------------------------------------------------


def test_signatures_show_keyword_only_context() -> None:
    loop = asyncio.new_event_loop()
    try:
        for function in (asyncio.create_task, asyncio.tasks.create_task, loop.create_task):
            parameter = inspect.signature(function).parameters["context"]
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
            assert parameter.default is None
        assert list(inspect.signature(loop.create_task).parameters) == ["coro", "name", "context"]
        assert asyncio.create_task.__name__ == "create_task"
    finally:
        loop.close()


def test_langsmith_sees_that_create_task_accepts_context() -> None:
    aiter = pytest.importorskip("langsmith._internal._aiter")
    assert aiter.asyncio_accepts_context() is True


@needs_backport
def test_apply_and_revert_reset_langsmiths_cached_probe() -> None:
    aiter = pytest.importorskip("langsmith._internal._aiter")
    tasks_patch.revert()
    assert aiter.asyncio_accepts_context() is False  # cached now
    tasks_patch.apply()
    assert aiter.asyncio_accepts_context() is True
    tasks_patch.revert()
    assert aiter.asyncio_accepts_context() is False


# --- apply / revert -----------------------------------------------------------------------------


@needs_backport
def test_revert_restores_the_exact_originals() -> None:
    from asyncio import base_events

    tasks_patch.revert()
    originals = (asyncio.create_task, asyncio.tasks.create_task, base_events.BaseEventLoop.__dict__["create_task"])
    assert originals[0] is originals[1]
    assert "context" not in inspect.signature(originals[0]).parameters

    tasks_patch.apply()
    assert tasks_patch.is_applied()
    assert asyncio.create_task is not originals[0]
    assert asyncio.create_task is asyncio.tasks.create_task
    assert asyncio.create_task.__wrapped__ is originals[0]  # type: ignore[attr-defined]

    tasks_patch.revert()
    assert not tasks_patch.is_applied()
    assert asyncio.create_task is originals[0]
    assert asyncio.tasks.create_task is originals[1]
    assert base_events.BaseEventLoop.__dict__["create_task"] is originals[2]
    tasks_patch.revert()  # idempotent
    assert asyncio.create_task is originals[0]


@needs_backport
def test_apply_twice_is_the_same_as_once() -> None:
    from asyncio import base_events

    tasks_patch.revert()
    original = asyncio.create_task
    tasks_patch.apply()
    patched = (asyncio.create_task, base_events.BaseEventLoop.__dict__["create_task"])
    tasks_patch.apply()
    assert (asyncio.create_task, base_events.BaseEventLoop.__dict__["create_task"]) == patched
    assert asyncio.create_task.__wrapped__ is original  # type: ignore[attr-defined]
    tasks_patch.revert()
    assert asyncio.create_task is original


@needs_backport
def test_revert_leaves_a_later_wrapper_in_place() -> None:
    tasks_patch.revert()
    original = asyncio.create_task
    tasks_patch.apply()
    ours = asyncio.create_task

    def theirs(*args: Any, **kwargs: Any) -> Any:
        return ours(*args, **kwargs)

    asyncio.create_task = asyncio.tasks.create_task = theirs  # type: ignore[assignment]
    try:
        tasks_patch.revert()
        assert asyncio.create_task is theirs  # not torn out from under the other library
        ctx = fresh_context()

        async def main() -> tuple[str, str]:
            return await asyncio.create_task(set_var("inner"), context=ctx)

        assert run(main) == ("outer", "inner")  # ours, still in the chain, keeps working
    finally:
        asyncio.create_task = asyncio.tasks.create_task = original


@needs_backport
def test_loop_overriding_create_task_still_runs_the_task_in_the_context() -> None:
    class LegacyLoop(asyncio.SelectorEventLoop):  # type: ignore[misc, valid-type]
        def create_task(self, coro: Any, *, name: str | None = None) -> Any:  # type: ignore[override]  # 3.10-era
            return super().create_task(coro, name=name)

    ctx = fresh_context()

    async def main() -> tuple[str, str]:
        task = asyncio.create_task(set_var("inner"), context=ctx, name="legacy")
        assert task.get_name() == "legacy"
        return await task

    assert run(main, loop_factory=LegacyLoop) == ("outer", "inner")
    assert ctx.run(var.get) == "inner"


@native_only
def test_apply_is_a_no_op_where_not_needed() -> None:
    original = asyncio.create_task
    tasks_patch.apply()
    assert asyncio.create_task is original
    assert not tasks_patch.is_applied()
    tasks_patch.revert()
    assert asyncio.create_task is original


# --- uvloop -------------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["asyncio", "loop"])
def test_uvloop_task_runs_in_the_given_context_object(via: str) -> None:
    uvloop = pytest.importorskip("uvloop")
    tasks_patch.revert()
    tasks_patch.apply()  # uvloop is imported now: patched at once
    ctx = fresh_context()

    async def main() -> tuple[str, str]:
        gate = asyncio.Event()
        if via == "asyncio":
            task = asyncio.create_task(set_var("inner", wait=gate), context=ctx, name="uv")
        else:
            task = asyncio.get_running_loop().create_task(set_var("inner", wait=gate), context=ctx, name="uv")
        assert isinstance(task, asyncio.Task) and task.get_name() == "uv"
        await asyncio.sleep(0)
        assert ctx.run(var.get) == "inner"  # visible in ctx while the task is still running
        gate.set()
        return await task

    assert run(main, loop_factory=uvloop.new_event_loop) == ("outer", "inner")
    assert ctx.run(var.get) == "inner"
    loop = uvloop.new_event_loop()
    try:
        assert "context" in inspect.signature(loop.create_task).parameters
    finally:
        loop.close()


@needs_backport
def test_uvloop_patch_is_reverted() -> None:
    uvloop = pytest.importorskip("uvloop")
    assert "create_task" in vars(uvloop.Loop)
    tasks_patch.revert()
    assert "create_task" not in vars(uvloop.Loop)


@needs_backport
def test_uvloop_imported_after_apply_is_patched_on_import() -> None:
    pytest.importorskip("uvloop")
    code = (
        "import sys; from lsautofix.patches import tasks; tasks.apply(); "
        "assert 'uvloop' not in sys.modules; import uvloop; print('create_task' in vars(uvloop.Loop))"
    )
    src = str(Path(tasks_patch.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_python_version_decides_need() -> None:
    assert tasks_patch.NEEDED is (sys.version_info < (3, 11))
