"""Help pages name their headings in the CLI language."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app

COLUMNS = "80"


@pytest.mark.parametrize("path", [("runs", "list"), ()], ids=["runs-list", "root"])
def test_help_headings_are_chinese(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": COLUMNS})

    assert result.exit_code == 0
    assert "用法：taskrun" in result.output
    assert "─ 选项 ─" in result.output
    assert "显示本帮助并退出。" in result.output
    assert "Usage:" not in result.output
    assert "─ Options ─" not in result.output
    assert "Show this message and exit." not in result.output


def test_root_help_names_command_panel_and_version() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": COLUMNS})

    assert "─ 命令 ─" in result.output
    assert "─ Commands ─" not in result.output
    assert "显示版本号并退出。" in result.output
