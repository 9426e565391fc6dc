"""Messages for a run argument of the wrong type: plain words, the value given, an example."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import pytest
from pydantic import AfterValidator, Field

from taskrun_center.i18n import Text
from taskrun_center.runners import TaskArgumentsError
from taskrun_center.runners.arguments import check_task_arguments


def _typed(
    ctx: object,
    *,
    targets: list[str] | None = None,
    count: int = 1,
    options: dict[str, int] | None = None,
    mode: Literal["fast", "full"] = "fast",
    day: dt.date | None = None,
    pair: tuple[int, str] = (1, "a"),
    at_least: Annotated[int, Field(ge=10)] = 10,
) -> None:
    """A task signature with one parameter per kind of annotation the messages describe."""


def _reason(arguments: dict[str, object]) -> Text:
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("typed", _typed, arguments)
    assert raised.value.reason_text is not None
    return raised.value.reason_text


def test_single_quoted_list_is_text() -> None:
    reason = _reason({"targets": "['x']"})

    assert "参数 targets 无效" in reason.zh
    assert "应为由文本组成的列表或空值 null" in reason.zh
    assert "给出的是文本 \"['x']\"" in reason.zh
    assert "--arg 'targets=[\"abc\"]'" in reason.zh
    assert "['x']（单引号）是文本" in reason.zh
    assert "Invalid argument targets" in reason.en
    assert "expected a list of text values or null" in reason.en
    assert "got the text \"['x']\"" in reason.en
    assert "a value that is not valid JSON is read as text" in reason.en
    assert "Input should" not in reason.zh
    assert "Input should" not in reason.en


@pytest.mark.parametrize(
    ("arguments", "zh", "en"),
    [
        ({"count": "abc"}, "应为整数，但给出的是文本 \"abc\"", "expected a whole number, but got"),
        ({"count": 1.5}, "给出的是数字 1.5", "got the number 1.5"),
        ({"options": "x"}, "应为 JSON 对象或空值 null", "expected a JSON object or null"),
        ({"mode": "slow"}, '应为以下值之一："fast", "full"', 'expected one of "fast", "full"'),
        ({"day": "2026-13-01"}, "应为日期（YYYY-MM-DD）", "expected a date (YYYY-MM-DD)"),
        ({"pair": [1]}, "依次为整数、文本的 2 项列表", "a list of 2 items (a whole number, text)"),
        ({"targets": ["a", {"b": 1}]}, "（第 2 项不符）", "(item 2 does not fit)"),
    ],
)
def test_expected_type_in_words(arguments: dict[str, object], zh: str, en: str) -> None:
    reason = _reason(arguments)

    assert zh in reason.zh
    assert en in reason.en
    assert "Input should" not in reason.zh


@pytest.mark.parametrize(
    ("arguments", "example"),
    [
        ({"count": "abc"}, "--arg 'count=10'"),
        ({"options": [1]}, "--arg 'options={\"key\": 10}'"),
        ({"mode": "slow"}, "--arg 'mode=\"fast\"'"),
        ({"day": "soon"}, "--arg 'day=\"2026-01-31\"'"),
    ],
)
def test_example_of_right_form(arguments: dict[str, object], example: str) -> None:
    reason = _reason(arguments)

    assert example in reason.zh
    assert example in reason.en


def test_example_passes_the_check() -> None:
    assert check_task_arguments("typed", _typed, {"targets": ["abc"], "options": {"key": 10}}) \
        == {"targets": ["abc"], "options": {"key": 10}}


def test_text_note_only_for_lists_and_objects() -> None:
    reason = _reason({"count": "abc"})

    assert "单引号" not in reason.zh
    assert "single quotes" not in reason.en


def test_broken_constraint_names_rule() -> None:
    reason = _reason({"at_least": 5})

    assert "参数 at_least 无效：不能小于 10，给出的是整数 5" in reason.zh
    assert "it must be at least 10, but got the whole number 5" in reason.en


def test_password_in_value_is_masked() -> None:
    reason = _reason({"targets": "postgresql+psycopg://bob:s3cretpass@db.internal/app"})

    assert "s3cretpass" not in reason.zh
    assert "s3cretpass" not in reason.en
    assert "bob:" in reason.en


def test_long_value_is_cut() -> None:
    reason = _reason({"count": "x" * 500})

    # 80 characters of the JSON text: the opening quote and 79 letters.
    assert '"' + "x" * 79 + "…" in reason.en
    assert "x" * 80 not in reason.en


def _reject_url(value: str) -> str:
    raise ValueError(f"cannot reach {value}")


def _checked(ctx: object, *, target: Annotated[str, AfterValidator(_reject_url)] = "") -> None:
    """A task signature whose argument has a validator of the task's own."""


def test_task_validator_message_masked() -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("checked", _checked,
                             {"target": "postgresql://bob:s3cretpass@db.internal/app"})

    reason = raised.value.reason_text
    assert reason is not None
    assert "未通过任务自己的校验" in reason.zh
    assert "fails the task's own check (Value error, cannot reach" in reason.en
    assert "s3cretpass" not in reason.zh
    assert "s3cretpass" not in reason.en


def _needs_source(ctx: object, *, source: str, limit: int = 5) -> None:
    """A task with one required argument."""


def _no_arguments(ctx: object) -> None:
    """A task that takes no arguments."""


@pytest.mark.parametrize(("func", "arguments", "argument", "zh", "en"), [
    (_typed, {"cuont": 3}, "cuont",
     "任务 typed 的参数 cuont 无效：任务没有这个参数。它的参数有：targets, count,",
     "Invalid argument cuont for task typed: the task has no such parameter. It takes: "
     "targets, count,"),
    (_needs_source, {"limit": 2}, "source",
     "任务 typed 缺少必填参数 source。请传入它（命令行上写作 --arg source=值）。",
     "Missing argument source for task typed: pass it (on the command line: "
     "--arg source=VALUE)."),
    (_no_arguments, {"x": 1}, "x", "任务 typed 的参数 x 无效：这个任务不接受参数。",
     "Invalid argument x for task typed: the task takes no arguments."),
], ids=["unknown", "missing", "none-taken"])
def test_signature_mismatch_names_the_argument(func: object, arguments: dict[str, object],
                                               argument: str, zh: str, en: str) -> None:
    """Python's own TypeError text (English, with the function's name) is not shown."""
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("typed", func, arguments)  # type: ignore[arg-type]

    reason = raised.value.reason_text
    assert reason is not None
    assert raised.value.argument == argument
    assert zh in reason.zh
    assert en in reason.en
    assert "keyword argument" not in reason.zh + reason.en
