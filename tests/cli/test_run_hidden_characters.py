"""``taskrun run`` quotes typed task keys and argument names with hidden characters escaped."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("arguments", [
    ["run", "no\x1b[31mtask"],
    ["run", "sample_quick", "--task-module", "tests.runners.sample_tasks",
     "--arg", "x\x1b[2Jy=1"],
    ["run", "sample_quick", "--task-module", "tests.runners.sample_tasks",
     "--arg", "x\x1b[2Jy=1", "--arg", "x\x1b[2Jy=2"],
], ids=["task-key", "argument-name", "repeated-argument"])
def test_escape_sequences_do_not_reach_the_terminal(sqlite_url: str,
                                                    arguments: list[str]) -> None:
    result = runner.invoke(app, [*arguments, "--database-url", sqlite_url],
                           env={"TASKRUN_LANGUAGE": "en", "COLUMNS": "300"})

    assert result.exit_code == 2, result.output
    assert "\x1b" not in result.output
    assert "\\u001b" in result.output
