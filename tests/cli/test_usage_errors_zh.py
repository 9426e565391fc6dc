"""Usage errors (exit code 2) are printed in the CLI language, with typed values escaped.

Most cases run the real ``taskrun`` app in this process with ``TASKRUN_LANGUAGE`` set. The
cases about ``--lang`` start ``taskrun`` in a subprocess, because the language is read from the
process's own argv. Conversions that no taskrun option uses (float, choice, path, datetime, a
list of integers) run through a small app built from the same command classes.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner, Result

from taskrun_center.cli.app import app
from taskrun_center.cli.help_format import use_translated_help
from tests.runners.processes import run_in

runner = CliRunner()
CHINESE = {"TASKRUN_LANGUAGE": "zh-CN", "COLUMNS": "200"}
ENGLISH = {"TASKRUN_LANGUAGE": "en", "COLUMNS": "200"}
# Box drawing of rich's panels and all whitespace, removed before texts are compared.
_LAYOUT = re.compile(r"[\s│╭╮╰╯─]+")
# Pieces of Typer's and Click's English usage messages. None may remain in Chinese mode.
ENGLISH_PIECES = (
    "Usage:", "Try '", "for help", "Error", "No such", "Possible options", "Did you mean",
    "Invalid value", "Missing", "requires", "Got unexpected", "Input should",
    "is not", "does not", "valid",
)
# Hidden characters typed by the user. None may reach the terminal.
HIDDEN = ("\u202e", "\x07", "\x1b", "\x00")


def _flat(text: str) -> str:
    return _LAYOUT.sub("", text)


def _assert_shows(result: Result, *texts: str) -> None:
    for text in texts:
        assert _flat(text) in _flat(result.output), result.output


def _assert_chinese_only(result: Result) -> None:
    for piece in ENGLISH_PIECES:
        assert _flat(piece) not in _flat(result.output), (piece, result.output)


def _assert_no_hidden(output: str) -> None:
    for character in HIDDEN:
        assert character not in output, repr(character)


# (arguments, the help command path, Chinese message, English message). English messages are
# Typer's, except that a value failing conversion is worded as in Chinese mode.
CASES = [
    (["runs", "list", "--foo"], "taskrun runs list",
     "没有名为 --foo 的选项。相近的选项：--format、--from、--to。",
     "No such option: --foo (Possible options: --format, --from, --to)"),
    (["runs", "list", "-z"], "taskrun runs list",
     "没有名为 -z 的选项。", "No such option: -z"),
    (["--foo"], "taskrun", "没有名为 --foo 的选项。", "No such option: --foo"),
    (["runs", "list", "--limit", "abc"], "taskrun runs list",
     "'--limit' 的值无效：'abc' 不是有效的整数。",
     "Invalid value for '--limit': 'abc' is not a valid integer."),
    (["serve", "--port", "1.5"], "taskrun serve",
     "'--port' 的值无效：'1.5' 不是有效的整数。",
     "Invalid value for '--port': '1.5' is not a valid integer."),
    (["exec", "--task-key", "job", "--tail-lines", "500", "--", "true"], "taskrun exec",
     "'--tail-lines' 的值无效：不能大于 200，收到 '500'。",
     "Invalid value for '--tail-lines': must be at most 200, got '500'."),
    (["exec", "--task-key", "job", "--tail-lines", "-1", "--", "true"], "taskrun exec",
     "'--tail-lines' 的值无效：不能小于 0，收到 '-1'。",
     "Invalid value for '--tail-lines': must be at least 0, got '-1'."),
    (["purge", "--keep-last", "x"], "taskrun purge",
     "'--keep-last' 的值无效：应为不小于 0 的整数，例如 10；收到 x。",
     "Invalid value for '--keep-last': "),
    (["runs", "show"], "taskrun runs show", "缺少参数 'run_id'。", "Missing argument 'run_id'."),
    (["exec", "--", "true"], "taskrun exec",
     "缺少选项 '--task-key'。", "Missing option '--task-key'."),
    (["purge", "--older-than"], None,
     "选项 '--older-than' 需要一个值。", "Option '--older-than' requires an argument."),
    (["--version=3"], None,
     "选项 '--version' 不接受值。", "Option '--version' does not take a value."),
    (["runs", "list", "--skipped=yes"], None,
     "选项 '--skipped' 不接受值。", "Option '--skipped' does not take a value."),
    (["nosuchcommand"], "taskrun",
     "没有名为 'nosuchcommand' 的命令。", "No such command 'nosuchcommand'."),
    (["rusn"], "taskrun", "没有名为 'rusn' 的命令。是否想用 'run'、'runs'？",
     "No such command 'rusn'. Did you mean 'run', 'runs'?"),
    (["runs", "nosuch"], "taskrun runs",
     "没有名为 'nosuch' 的命令。", "No such command 'nosuch'."),
    (["runs", "list", "extra", "x"], "taskrun runs list",
     "多余的参数：extra x。", "Got unexpected extra argument(s) (extra x)"),
    (["--lang", "zh-CN"], "taskrun", "缺少命令。", "Missing command."),
]
CASE_IDS = [" ".join(arguments) for arguments, *_ in CASES]


@pytest.mark.parametrize(("arguments", "command", "chinese", "english"), CASES, ids=CASE_IDS)
def test_usage_error_in_chinese(arguments: list[str], command: str | None, chinese: str,
                                english: str) -> None:
    result = runner.invoke(app, arguments, env=CHINESE)

    assert result.exit_code == 2, result.output
    _assert_shows(result, "╭─ 错误 ─", chinese)
    if command is not None:
        _assert_shows(result, f"用法：{command}", f"运行 '{command} --help' 查看帮助。")
    _assert_chinese_only(result)


@pytest.mark.parametrize(("arguments", "command", "chinese", "english"), CASES, ids=CASE_IDS)
def test_usage_error_in_english(arguments: list[str], command: str | None, chinese: str,
                                english: str) -> None:
    arguments = ["en" if argument == "zh-CN" else argument for argument in arguments]

    result = runner.invoke(app, arguments, env=ENGLISH)

    assert result.exit_code == 2, result.output
    _assert_shows(result, "╭─ Error ─", english)
    if command is not None:
        _assert_shows(result, f"Usage: {command}", f"Try '{command} --help' for help.")
    else:
        # Click raises an option given without its value without a context, and Typer then
        # prints neither the usage line nor the hint.
        assert "Usage:" not in result.output
    assert chinese not in result.output
    assert "错误" not in result.output


def test_usage_error_layout_unchanged_in_english() -> None:
    result = runner.invoke(app, ["runs", "list", "--foo"], env=ENGLISH)

    lines = [line.strip("│ ") for line in result.output.splitlines()]
    assert lines[0] == "Usage: taskrun runs list [OPTIONS]"
    assert lines[1] == "Try 'taskrun runs list --help' for help."
    assert lines[2].startswith("╭─ Error ─")
    assert lines[3] == "No such option: --foo (Possible options: --format, --from, --to)"


@pytest.mark.parametrize(("arguments", "shown"), [
    (["runs", "list", "--limit", "1\u202e2"], "'1\\u202e2' 不是有效的整数"),
    (["runs", "list", "--fo\u202eo"], "没有名为 --fo\\u202eo 的选项"),
    (["runs", "list", "a\u202e", "b\x07", "c\x1b[2J"], "多余的参数：a\\u202e b\\u0007 c\\u001b[2J"),
    (["nosuch\u202e"], "没有名为 'nosuch\\u202e' 的命令"),
    (["exec", "--task-key", "job", "--tail-lines", "9\x00", "--", "true"],
     "'9\\u0000' 不是有效的整数"),
], ids=["invalid-value", "no-such-option", "extra-arguments", "no-such-command", "nul"])
def test_typed_value_escaped_in_chinese(arguments: list[str], shown: str) -> None:
    result = runner.invoke(app, arguments, env=CHINESE)

    assert result.exit_code == 2, result.output
    _assert_no_hidden(result.output)
    _assert_shows(result, shown)


@pytest.mark.parametrize(("arguments", "shown"), [
    (["runs", "list", "--fo\u202eo"], "No such option: --fo\\u202eo"),
    (["runs", "list", "a\u202e", "b\x07"], "Got unexpected extra argument(s) (a\\u202e b\\x07)"),
], ids=["no-such-option", "extra-arguments"])
def test_typed_value_escaped_in_english(arguments: list[str], shown: str) -> None:
    result = runner.invoke(app, arguments, env=ENGLISH)

    assert result.exit_code == 2, result.output
    _assert_no_hidden(result.output)
    _assert_shows(result, shown, "╭─ Error ─", "Try 'taskrun runs list --help' for help.")


@pytest.mark.parametrize(("arguments", "variables", "language"), [
    (["--lang", "en", "runs", "list", "--foo"], {}, "en"),
    (["runs", "list", "--foo"], {"TASKRUN_LANGUAGE": "en"}, "en"),
    (["--lang", "zh-CN", "runs", "list", "--foo"], {"TASKRUN_LANGUAGE": "en"}, "zh-CN"),
    (["--lang=en", "runs", "list", "--foo"], {}, "en"),
    # --lang after the bad option is not an option of "runs list", but the language is taken
    # from the raw command line before parsing, so it still applies.
    (["runs", "list", "--foo", "--lang", "en"], {}, "en"),
    (["runs", "list", "--foo"], {}, "zh-CN"),
], ids=["option", "variable", "option-over-variable", "option-equals", "option-after",
        "default"])
def test_language_of_usage_error(tmp_path: Path, arguments: list[str],
                                 variables: dict[str, str], language: str) -> None:
    completed = run_in(tmp_path, *arguments, COLUMNS="200", **variables)

    assert completed.returncode == 2, completed.stderr
    flat = _flat(completed.stderr)
    if language == "en":
        assert _flat("No such option: --foo (Possible options: --format, --from, --to)") in flat
        assert "没有名为" not in completed.stderr
    else:
        assert _flat("没有名为 --foo 的选项。相近的选项：--format、--from、--to。") in flat
        assert "No such option" not in completed.stderr


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


def _conversion_app() -> typer.Typer:
    """Return an app with the conversions no taskrun option uses, built like ``taskrun``."""
    conversions = typer.Typer(name="demo", add_completion=False, pretty_exceptions_enable=False)

    @conversions.command("convert")
    def convert(
        *,
        ratio: Annotated[float, typer.Option("--ratio")] = 1.0,
        colour: Annotated[Colour, typer.Option("--colour")] = Colour.RED,
        config: Annotated[Path | None, typer.Option("--config", exists=True, dir_okay=False)]
        = None,
        folder: Annotated[Path | None, typer.Option("--folder", file_okay=False)] = None,
        when: Annotated[datetime | None, typer.Option("--when", formats=["%Y-%m-%d"])] = None,
        sizes: Annotated[list[int] | None, typer.Option("--size")] = None,
        pair: Annotated[tuple[int, int] | None, typer.Option("--pair")] = None,
    ) -> None:
        """Accept every value."""

    @conversions.command("pick")
    def pick(colour: Annotated[Colour, typer.Argument()]) -> None:
        """Take a required choice argument."""

    use_translated_help(conversions)
    return conversions


CONVERSIONS = [
    (["convert", "--ratio", "abc"], "'--ratio' 的值无效：'abc' 不是有效的数字。"),
    (["convert", "--colour", "blue"],
     "'--colour' 的值无效：'blue' 不是可选值之一：'red'、'green'。"),
    (["convert", "--config", "{missing}"], "'--config' 的值无效：文件 '{missing}' 不存在。"),
    (["convert", "--config", "{folder}"], "'--config' 的值无效：文件 '{folder}' 是目录。"),
    (["convert", "--folder", "{file}"], "'--folder' 的值无效：目录 '{file}' 是文件。"),
    (["convert", "--when", "05/12/2026"],
     "'--when' 的值无效：'05/12/2026' 不符合以下任一格式：'%Y-%m-%d'。"),
    (["convert", "--size", "1", "--size", "x"], "'--size' 的值无效：'x' 不是有效的整数。"),
    (["convert", "--pair", "1", "x"], "'--pair' 的值无效：'x' 不是有效的整数。"),
    (["convert", "--pair", "1"], "选项 '--pair' 需要 2 个值。"),
    (["pick"], "缺少参数 'colour'。可选值：'red'、'green'。"),
]


@pytest.mark.parametrize(("arguments", "chinese"), CONVERSIONS,
                         ids=[" ".join(arguments) for arguments, _ in CONVERSIONS])
def test_conversion_error_in_chinese(tmp_path: Path, arguments: list[str],
                                     chinese: str) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    paths = {"missing": str(tmp_path / "missing.toml"), "folder": str(tmp_path),
             "file": str(tmp_path / "file.txt")}
    arguments = [argument.format(**paths) for argument in arguments]

    result = runner.invoke(_conversion_app(), arguments, env=CHINESE)

    assert result.exit_code == 2, result.output
    _assert_shows(result, "╭─ 错误 ─", chinese.format(**paths))
    _assert_chinese_only(result)


@pytest.mark.parametrize(("arguments", "english"), [
    (["convert", "--colour", "blue"],
     "Invalid value for '--colour': 'blue' is not one of 'red', 'green'."),
    (["convert", "--ratio", "abc"], "Invalid value for '--ratio': 'abc' is not a valid number."),
    (["convert", "--when", "2026"],
     "Invalid value for '--when': '2026' does not match the formats '%Y-%m-%d'."),
])
def test_conversion_error_in_english(arguments: list[str], english: str) -> None:
    result = runner.invoke(_conversion_app(), arguments, env=ENGLISH)

    assert result.exit_code == 2, result.output
    _assert_shows(result, english)
    assert "Input should" not in result.output
    assert "Value error" not in result.output
    assert "、" not in result.output
