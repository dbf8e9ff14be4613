"""Run one CPython test module inside an open LangSmith run; what ``cpython_differential.py`` starts.

Not meant to be run by hand. ``python cpython_differential_child.py CONFIG.json`` imports the test
module named in the config, runs it with unittest inside ``with langsmith.trace("cpython-suite")``
(so every thread, executor, task and process a test creates is submitted under a live parent run)
and writes one JSON line per event to the config's ``events`` file: which test started, how it
ended, and a final ``done``. A test that runs past ``test_timeout`` makes faulthandler write every
thread's stack to the ``hang`` file and end the process, so a hang names its test.

This file is small and imports nothing but the standard library at the top on purpose: spawn and
forkserver children of the tests import it again as ``__mp_main__``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any


def matches(test_id: str, patterns: list[str]) -> bool:
    """Whether ``test_id`` matches one of ``patterns`` (fnmatch), as a whole or from any dotted part on.

    ``WithProcessesTestPool`` matches ``test.test_multiprocessing_fork.WithProcessesTestPool.test_map``;
    so do ``*TestPool`` and ``WithProcessesTestPool.test_map``.
    """
    for pattern in patterns:
        if fnmatch.fnmatchcase(test_id, pattern) or fnmatch.fnmatchcase(test_id, "*." + pattern):
            return True
        if fnmatch.fnmatchcase(test_id, pattern + ".*") or fnmatch.fnmatchcase(test_id, "*." + pattern + ".*"):
            return True
    return False


def selected(test_id: str, patterns: list[str]) -> bool:
    """Whether a spec's patterns pick ``test_id``: it matches a pattern (or there are none but
    exclusions) and no ``!PATTERN`` exclusion."""
    wanted = [p for p in patterns if not p.startswith("!")]
    unwanted = [p[1:] for p in patterns if p.startswith("!")]
    if wanted and not matches(test_id, wanted):
        return False
    return not (unwanted and matches(test_id, unwanted))


class Recorder:
    """Writes the events file; re-arms the faulthandler watchdog around every test."""

    def __init__(self, config: dict[str, Any]) -> None:
        import faulthandler

        self._faulthandler = faulthandler
        self._pid = os.getpid()
        # Both stay open for the life of the process: events are written to the end, and
        # faulthandler writes a hang's stacks to the second one's descriptor.
        self._events: IO[str] = open(config["events"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        self._hang: IO[str] = open(config["hang"], "w", encoding="utf-8")  # noqa: SIM115
        self.test_timeout = float(config["test_timeout"])
        self.exit_timeout = float(config["exit_timeout"])
        self.current: str | None = None
        self.warnings: list[str] = []

    def write(self, **event: Any) -> None:
        # A forked child that escaped its test (a test bug) must not write the parent's events.
        if os.getpid() != self._pid:
            return
        event["t"] = round(time.time(), 3)
        self._events.write(json.dumps(event) + "\n")

    def arm(self, seconds: float | None = None) -> None:
        """(Re)start the watchdog: a hang in a test, or in the fixtures between tests, ends the process."""
        if os.getpid() != self._pid:
            return
        self._faulthandler.dump_traceback_later(
            self.test_timeout if seconds is None else seconds, exit=True, file=self._hang
        )

    def warn(self, what: str) -> None:
        """An uncaught thread exception or an unraisable exception: recorded against the current test."""
        self.warnings.append(what)


def make_result_class(recorder: Recorder) -> type:
    import unittest

    class Result(unittest.TestResult):
        """Records each test's outcome as an event, with the traceback of a failure."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._started: dict[str, float] = {}
            self._outcome: dict[str, tuple[str, str]] = {}

        def _end(self, test: Any, outcome: str, detail: str = "") -> None:
            test_id = test.id()
            if test_id in self._started:
                previous = self._outcome.get(test_id)
                # A failed subtest fails the test even when the test itself then "succeeds".
                if previous is None or previous[0] in ("ok", "skip"):
                    self._outcome[test_id] = (outcome, detail)
            else:  # a fixture (setUpClass, setUpModule, ...) reported with no startTest
                recorder.write(event="end", id=test_id, outcome=outcome, detail=detail[-6000:], seconds=0.0)

        def startTest(self, test: Any) -> None:
            super().startTest(test)
            test_id = test.id()
            self._started[test_id] = time.monotonic()
            recorder.current = test_id
            recorder.warnings = []
            support = sys.modules.get("test.support")
            if support is not None:
                support.environment_altered = False
            recorder.write(event="start", id=test_id)
            recorder.arm()

        def stopTest(self, test: Any) -> None:
            super().stopTest(test)
            test_id = test.id()
            outcome, detail = self._outcome.pop(test_id, ("ok", ""))
            seconds = time.monotonic() - self._started.pop(test_id, time.monotonic())
            support = sys.modules.get("test.support")
            env_changed = bool(getattr(support, "environment_altered", False)) or bool(recorder.warnings)
            recorder.write(
                event="end",
                id=test_id,
                outcome=outcome,
                detail=detail[-6000:],
                seconds=round(seconds, 3),
                env_changed=env_changed,
                warnings=recorder.warnings[:5],
            )
            recorder.current = None
            recorder.arm()  # the fixtures up to the next test are watched too

        def addSuccess(self, test: Any) -> None:
            super().addSuccess(test)
            self._end(test, "ok")

        def addError(self, test: Any, err: Any) -> None:
            super().addError(test, err)
            self._end(test, "error", self._exc_info_to_string(err, test))

        def addFailure(self, test: Any, err: Any) -> None:
            super().addFailure(test, err)
            self._end(test, "fail", self._exc_info_to_string(err, test))

        def addSkip(self, test: Any, reason: str) -> None:
            super().addSkip(test, reason)
            self._end(test, "skip", str(reason))

        def addExpectedFailure(self, test: Any, err: Any) -> None:
            super().addExpectedFailure(test, err)
            self._end(test, "xfail")

        def addUnexpectedSuccess(self, test: Any) -> None:
            super().addUnexpectedSuccess(test)
            self._end(test, "xpass")

        def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
            super().addSubTest(test, subtest, err)
            if err is not None:
                kind = "fail" if issubclass(err[0], test.failureException) else "error"
                self._end(test, kind, f"{subtest}\n" + self._exc_info_to_string(err, test))

    return Result


def install_warning_hooks(recorder: Recorder) -> None:
    """What regrtest does too: uncaught thread and unraisable exceptions mark the test's environment."""
    import threading

    original_thread_hook = threading.excepthook
    original_unraisable = sys.unraisablehook

    def thread_hook(args: Any) -> None:
        recorder.warn(f"uncaught exception in a thread: {getattr(args.exc_type, '__name__', args.exc_type)}")
        original_thread_hook(args)

    def unraisable_hook(unraisable: Any) -> None:
        recorder.warn(f"unraisable exception: {getattr(unraisable.exc_type, '__name__', unraisable.exc_type)}")
        original_unraisable(unraisable)

    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook


def filter_suite(suite: Any, keep: Callable[[str], bool]) -> int:
    """Drop the tests ``keep`` rejects, in place; returns how many remain."""
    import unittest

    kept, count = [], 0
    for test in suite._tests:
        if isinstance(test, unittest.TestSuite):
            n = filter_suite(test, keep)
            if n:
                kept.append(test)
                count += n
        elif keep(test.id()):
            kept.append(test)
            count += 1
    suite._tests = kept
    return count


def configure_support(config: dict[str, Any]) -> None:
    """Set ``test.support`` up as regrtest would for a sequential, in-process run."""
    from test import support

    support.verbose = 0
    support.failfast = False
    support.use_resources = list(config["use_resources"])
    support.record_original_stdout(sys.stdout)
    # regrtest lowers the tests' own timeouts below its watchdog (``--timeout``); so do we, so that
    # a test which gives up on its own is reported by its own assertion, not as a hang.
    limit = float(config["test_timeout"]) * 0.8
    for name in ("LOOPBACK_TIMEOUT", "INTERNET_TIMEOUT", "SHORT_TIMEOUT", "LONG_TIMEOUT"):
        if hasattr(support, name):
            setattr(support, name, min(getattr(support, name), limit))


def run(config: dict[str, Any], recorder: Recorder) -> None:
    import importlib
    import unittest

    configure_support(config)
    module_name = config["module"]
    patterns: list[str] = list(config.get("patterns") or [])
    only = set(config.get("only") or [])
    skip = set(config.get("skip") or [])

    def keep(test_id: str) -> bool:
        if test_id in skip:
            return False
        if only:
            return test_id in only
        return selected(test_id, patterns)

    result = make_result_class(recorder)()
    recorder.arm()
    try:
        module = importlib.import_module(module_name)
    except unittest.SkipTest as exc:
        recorder.write(event="end", id=module_name, outcome="skip", detail=str(exc), seconds=0.0)
        return
    except BaseException:  # noqa: BLE001 - whatever the import raises is this module's error
        recorder.write(event="end", id=module_name, outcome="error", detail=traceback.format_exc()[-6000:])
        return

    test_main = getattr(module, "test_main", None)
    if callable(test_main) and not hasattr(module, "load_tests"):
        # Python 3.10's test_decimal builds its suite in test_main() and runs it through
        # support.run_unittest -> support._run_suite: run that suite with our result instead.
        from test import support

        def run_suite(suite: Any) -> None:
            filter_suite(suite, keep)
            suite.run(result)

        support._run_suite = run_suite  # type: ignore[attr-defined]
        try:
            test_main()
        except unittest.SkipTest as exc:
            recorder.write(event="end", id=module_name + ".test_main", outcome="skip", detail=str(exc))
        except BaseException:  # noqa: BLE001 - test_main raises TestFailed, or anything: recorded
            recorder.write(
                event="end", id=module_name + ".test_main", outcome="error", detail=traceback.format_exc()[-6000:]
            )
        return

    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    recorder.write(event="loaded", count=filter_suite(suite, keep))
    suite.run(result)


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as f:
        config = json.load(f)
    for path in reversed(config.get("sys_path") or []):
        sys.path.insert(0, path)
    import faulthandler

    faulthandler.enable(all_threads=True)  # a crash shows its stacks in the log, as under regrtest
    recorder = Recorder(config)
    install_warning_hooks(recorder)
    lsautofix = sys.modules.get("lsautofix")  # imported by its .pth file when LANGSMITH_AUTOFIX is set
    if config.get("trace", True):
        import langsmith

        installed = bool(lsautofix is not None and lsautofix.is_installed())
        recorder.write(
            event="begin",
            pid=os.getpid(),
            installed=installed,
            langsmith=langsmith.__version__,
            python=sys.version.split()[0],
        )
        with langsmith.trace("cpython-suite", inputs={"module": config["module"]}) as suite_run:
            # The SDK starts its upload threads when it first sends. Let that happen before the
            # first test: a test that counts threads (threading_setup/threading_cleanup) and sees
            # them appear mid-test waits up to ~20 s for them to go, in either mode.
            suite_run.client.flush()
            run(config, recorder)
    else:
        installed = bool(lsautofix is not None and lsautofix.is_installed())
        recorder.write(event="begin", pid=os.getpid(), installed=installed, python=sys.version.split()[0])
        run(config, recorder)
    recorder.write(event="done")
    # Leaving is watched too: a hang in threading._shutdown or in an exit flush shows its stacks.
    recorder.arm(recorder.exit_timeout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
