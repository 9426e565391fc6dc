"""``taskrun run --arg`` with a value of the wrong type, as the dbstats example shows it."""

from __future__ import annotations

from taskrun_center.storage.engine import Database
from tests.runners.processes import run_taskrun
from tests.runners.rows import runs_of

_EXAMPLE_TASK = ("run", "dbstats_collect", "--task-module", "examples.dbstats")


def _one_line(text: str) -> str:
    # Rich wraps long messages to the terminal width.
    return " ".join(text.split())


def test_single_quoted_list_in_chinese(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, *_EXAMPLE_TASK, "--arg", "targets=['x']")
    stderr = _one_line(result.stderr)

    assert result.returncode == 2
    assert "参数 targets 无效：应为由文本组成的列表或空值 null" in stderr
    assert "给出的是文本 \"['x']\"" in stderr
    assert "--arg 'targets=[\"abc\"]'" in stderr
    assert "不是合法 JSON 的值按文本读取" in stderr
    assert "Input should" not in stderr
    assert runs_of(Database(sqlite_url), "dbstats_collect") == []


def test_single_quoted_list_in_english(sqlite_url: str) -> None:
    result = run_taskrun(sqlite_url, "--lang", "en", *_EXAMPLE_TASK, "--arg", "targets=['x']")
    stderr = _one_line(result.stderr)

    assert result.returncode == 2
    assert "Invalid argument targets for task dbstats_collect" in stderr
    assert "expected a list of text values or null" in stderr
    assert "got the text \"['x']\"" in stderr
    assert "['x'] with single quotes is text" in stderr
    assert "Input should" not in stderr
