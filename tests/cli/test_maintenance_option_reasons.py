"""Invalid durations and numbers given to ``purge``, ``audit`` and ``reap`` are explained in the
CLI language: the option, the rule and an example of a valid value, with exit code 2.

Click's own frame around the reason ("Invalid value for '--keep-last'") stays English.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from taskrun_center.cli.app import app

runner = CliRunner()
# Box drawing of rich's error panel and all whitespace, which the panel breaks at 80 columns
# anywhere in a Chinese sentence.
_PANEL_LAYOUT = re.compile(r"[│╭╮╰╯─\s]+")

# (command line, option, Chinese reason, English reason)
CASES = [
    (["purge", "--dry-run", "--older-than", "0d"], "--older-than",
     "时长必须大于零，收到 '0d'；例如 30d、12h 或 90m",
     "the duration must be greater than zero, got '0d'; for example 30d, 12h or 90m"),
    (["purge", "--dry-run", "--older-than", "abc"], "--older-than",
     "'abc' 不是有效的时长：应为整数加单位 s、m、h、d 或 w，例如 30d、12h 或 90m",
     "'abc' is not a valid duration: expected a whole number and a unit s, m, h, d or w, "
     "for example 30d, 12h or 90m"),
    (["purge", "--dry-run", "--older-than", "40000d"], "--older-than",
     "时长 '40000d' 超过上限 100 年（36500d）",
     "the duration '40000d' exceeds the maximum of 100 years (36500d)"),
    (["reap", "--timeout", "abc"], "--timeout",
     "'abc' 不是有效的时长", "'abc' is not a valid duration"),
    (["reap", "--pending-timeout", "0h"], "--pending-timeout",
     "时长必须大于零", "the duration must be greater than zero"),
    (["purge", "--dry-run", "--keep-last", "-1"], "--keep-last",
     "应为不小于 0 的整数，例如 10；收到 -1。",
     "must be a whole number of at least 0, for example 10; got -1."),
    (["purge", "--dry-run", "--keep-last", "ten"], "--keep-last",
     "应为不小于 0 的整数，例如 10；收到 ten。",
     "must be a whole number of at least 0, for example 10; got ten."),
    (["purge", "--dry-run", "--batch-size", "0"], "--batch-size",
     "应为不小于 1 的整数，例如 2000；收到 0。",
     "must be a whole number of at least 1, for example 2000; got 0."),
    (["audit", "--examples", "100000"], "--examples",
     "应为 0 到 1,000 之间的整数，例如 20；收到 100000。",
     "must be a whole number from 0 to 1,000, for example 20; got 100000."),
    (["audit", "--batch-size", "0"], "--batch-size",
     "应为 1 到 10,000 之间的整数，例如 500；收到 0。",
     "must be a whole number from 1 to 10,000, for example 500; got 0."),
]


def _squeezed(output: str) -> str:
    return _PANEL_LAYOUT.sub("", output)


@pytest.mark.parametrize(("arguments", "option", "chinese", "english"), CASES)
def test_option_reason_follows_language(sqlite_url: str, arguments: list[str], option: str,
                                        chinese: str, english: str) -> None:
    command = [*arguments, "--database-url", sqlite_url]

    in_chinese = runner.invoke(app, command, env={"TASKRUN_LANGUAGE": "zh-CN"})
    in_english = runner.invoke(app, command, env={"TASKRUN_LANGUAGE": "en"})

    assert in_chinese.exit_code == 2, in_chinese.output
    assert in_english.exit_code == 2, in_english.output
    assert option in in_chinese.output
    assert option in in_english.output
    assert _squeezed(chinese) in _squeezed(in_chinese.output)
    assert _squeezed(english) in _squeezed(in_english.output)
    for english_reason in ("Input should", "is not in the range", "is not a valid integer"):
        assert english_reason not in in_chinese.output


@pytest.mark.parametrize(("arguments", "expected"), [
    (["purge", "--dry-run", "--keep-last", "0", "--batch-size", "1"], "试运行"),
    (["audit", "--examples", "0", "--batch-size", "10000"], "检查了 0 次运行"),
    (["audit"], "检查了 0 次运行"),
])
def test_option_bounds_are_accepted(sqlite_url: str, arguments: list[str],
                                    expected: str) -> None:
    result = runner.invoke(app, [*arguments, "--database-url", sqlite_url],
                           env={"TASKRUN_LANGUAGE": "zh-CN"})

    assert result.exit_code == 0, result.output
    assert expected in result.stdout
