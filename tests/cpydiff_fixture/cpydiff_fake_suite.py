"""A stand-in for a CPython test module, run by ``tools/cpython_differential.py`` in its self-test.

Each test knows which mode it runs in (``LANGSMITH_AUTOFIX``) and behaves as a real suite's test
would when lsautofix breaks it, or when the suite is flaky, so the comparison's verdicts can be
checked in seconds: a failure and a hang only with lsautofix, a failure once only, failures in
both modes and only in plain Python, a test slower only with lsautofix.
"""

import os
import threading
import time
import unittest
from pathlib import Path

INSTALLED = os.environ.get("LANGSMITH_AUTOFIX") == "1"


class FakeSuite(unittest.TestCase):
    def test_ok(self) -> None:
        pass

    def test_left_out_by_the_spec(self) -> None:
        self.fail("the self-test's spec leaves this test out (!PATTERN): it must never run")

    def test_skipped(self) -> None:
        self.skipTest("as CPython's tests skip")

    def test_fails_in_both(self) -> None:
        self.fail("broken in both modes")

    def test_fails_only_plain(self) -> None:
        self.assertTrue(INSTALLED, "fails only in plain Python")

    def test_fails_only_with_lsautofix(self) -> None:
        self.assertFalse(INSTALLED, "fails only with lsautofix")

    def test_hangs_only_with_lsautofix(self) -> None:
        while INSTALLED:
            time.sleep(1)

    def test_slow_only_with_lsautofix(self) -> None:
        time.sleep(2.5 if INSTALLED else 0.1)

    def test_fails_once_with_lsautofix(self) -> None:
        # The first installed run leaves a mark in the state directory and fails; reruns pass.
        mark = Path(os.environ["CPYDIFF_FAKE_STATE"]) / "failed-once"
        if INSTALLED and not mark.exists():
            mark.write_text("x")
            self.fail("fails the first time only")

    def test_runs_inside_the_open_trace(self) -> None:
        # The runner's promise: every test runs under a live parent run, and a thread the test
        # starts is submitted there. With lsautofix the thread sees that run; plain, it does not.
        from langsmith.run_helpers import get_current_run_tree

        run = get_current_run_tree()
        self.assertIsNotNone(run)
        self.assertEqual(run.name, "cpython-suite")
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(get_current_run_tree()))
        thread.start()
        thread.join()
        self.assertEqual(seen[0] is not None, INSTALLED)
