"""Every ``--help`` page at 80 columns shows each text in full, in the CLI language.

Help text is rendered when the commands are declared, so the Chinese pages are checked in this
process and the English ones in a subprocess started with ``TASKRUN_LANGUAGE=en``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from rich.text import Text as RichText
from typer.main import get_command
from typer.testing import CliRunner

from taskrun_center.cli.app import app
from taskrun_center.cli.common import cli_language
from tests.runners.processes import clean_env

COLUMNS = "80"
# Box drawing of rich's panels and all whitespace, removed before texts are compared.
_LAYOUT = re.compile(r"[\s│╭╮╰╯─]+")


def _flat(text: str) -> str:
    return _LAYOUT.sub("", text)


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                          object]]:
    yield path, command
    for name, child in getattr(command, "commands", {}).items():
        yield from _commands(child, (*path, name))


def _expected_texts(command: object) -> list[str]:
    """Return the help of each parameter and each subcommand as the page should show it."""
    texts = [param.help for param in getattr(command, "params", []) if getattr(param, "help", None)]
    for child in getattr(command, "commands", {}).values():
        # A subcommand's row shows the first paragraph of its help.
        texts.append((child.help or "").split("\n\n")[0])
    # Typer reads help as rich markup, so compare with the text that markup leaves.
    return [RichText.from_markup(" ".join(text.split())).plain for text in texts if text]


def _without_ranges(page: str, command: object) -> str:
    # A range such as [1<=x<=65535] sits in the type column on the second line of its row,
    # between two lines of the help column.
    for param in getattr(command, "params", []):
        range_text = param._get_number_range_help_str()
        if range_text:
            page = page.replace(f"[{range_text}]", "")
    return page


def help_page_problems() -> list[str]:
    """Return one line per help text that a page at 80 columns does not show in full."""
    runner = CliRunner()
    problems = []
    for path, command in _commands(get_command(app)):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": COLUMNS})
        if result.exit_code != 0:
            problems.append(f"{' '.join(path)}: exit {result.exit_code}")
            continue
        page = _flat(_without_ranges(result.output, command))
        for text in _expected_texts(command):
            if _flat(text) not in page:
                problems.append(f"{' '.join(path) or 'taskrun'}: missing {text!r}")
    return problems


def test_chinese_help_pages_show_every_text() -> None:
    assert cli_language() == "zh-CN"

    assert help_page_problems() == []


def test_english_help_pages_show_every_text() -> None:
    env = clean_env(TASKRUN_LANGUAGE="en")
    script = ("from tests.cli.test_help_pages import help_page_problems\n"
              "problems = help_page_problems()\n"
              "print('\\n'.join(problems))\n"
              "raise SystemExit(1 if problems else 0)\n")

    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=env, timeout=300, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr


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


def test_parameter_markers_are_chinese() -> None:
    result = CliRunner().invoke(app, ["purge", "--help"], env={"COLUMNS": "200"})

    assert "[默认值：text]" in result.output
    assert "[default:" not in result.output


def test_root_help_names_command_panel_and_version() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": COLUMNS})

    assert "─ 命令 ─" in result.output
    assert "─ Commands ─" not in result.output
    assert "显示版本号并退出。" in result.output


def test_trigger_help_wraps_instead_of_cut() -> None:
    result = CliRunner().invoke(app, ["runs", "list", "--help"], env={"COLUMNS": COLUMNS})

    assert "触发方式：scheduled、manual…" not in result.output
    assert "scheduled、manual、api、cli、celery，可重复。" in _flat(result.output)

