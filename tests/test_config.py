"""Configuration parsing: every bad value gives one clear warning and a sane default."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

from lsautofix import config
from lsautofix.config import ConfigurationWarning


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "Yes", "on", " on "])
def test_enable_values_turn_it_on(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config.parse_enabled(raw) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "OFF"])
def test_disable_values_turn_it_off(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert config.parse_enabled(raw) is False


def test_unset_is_neither():
    assert config.parse_enabled(None) is None


@pytest.mark.parametrize("raw", ["maybe", "", "2", "tru", "ja\u00e9", "\u2603"])
def test_unknown_enable_value_warns_once_and_stays_off(raw):
    with pytest.warns(ConfigurationWarning) as record:
        assert config.parse_enabled(raw) is False
    assert len(record) == 1
    message = str(record[0].message)
    assert "LANGSMITH_AUTOFIX" in message and "1, true, yes, on" in message and repr(raw) in message


@pytest.mark.parametrize("raw,value", [("0", 0.0), ("2.5", 2.5), ("600", 600.0), (" 3 ", 3.0)])
def test_flush_timeout_accepts_seconds(raw, value):
    assert config.parse_flush_timeout(raw) == value


@pytest.mark.parametrize("raw", ["-1", "abc", "", "nan", "inf", "1e400", "601", "\u2603"])
def test_bad_flush_timeout_warns_and_uses_default(raw):
    with pytest.warns(ConfigurationWarning) as record:
        assert config.parse_flush_timeout(raw) == config.DEFAULT_FLUSH_TIMEOUT
    assert len(record) == 1
    assert "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT" in str(record[0].message)


def test_disable_list_keeps_known_names_and_warns_about_others():
    with pytest.warns(ConfigurationWarning, match="bogus"):
        assert config.parse_disabled("threads, bogus,PROCESSES") == frozenset({"threads", "processes"})
    assert config.parse_disabled("") == frozenset()


def test_settings_from_environ():
    s = config.read({"LANGSMITH_AUTOFIX": "on", "LANGSMITH_AUTOFIX_FLUSH_TIMEOUT": "4"})
    assert (s.enabled, s.flush_timeout, s.disabled) == (True, 4.0, frozenset())


@pytest.mark.parametrize(
    "var,value",
    [("LANGSMITH_AUTOFIX", "maybe"), ("LANGSMITH_AUTOFIX_FLUSH_TIMEOUT", "-3"), ("LANGSMITH_AUTOFIX_DISABLE", "x")],
)
def test_bad_variable_in_a_real_process_warns_once_and_never_crashes(var, value):
    env = {"LANGSMITH_AUTOFIX": "1", var: value, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", "import lsautofix, langsmith; print('ok')"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert proc.stderr.count("ConfigurationWarning") == 1, proc.stderr
    assert var in proc.stderr
