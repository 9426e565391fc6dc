"""Bilingual reasons for rejecting a list or filter parameter with ``InvalidQueryError``.

The read service, the REST API, the console and the CLI check some of the same rules, so they
share these texts and word each rule alike. ``fill`` formats a reason once when it is raised.
A value quoted from the request may contain braces, and a reason formatted again later would
read them as placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskrun_center.i18n import Text

TOO_MANY_VALUES = Text("最多允许 {limit} 个值", "at most {limit} values are allowed")
SEARCH_TOO_LONG = Text("最多 {limit} 个字符", "at most {limit} characters are allowed")
RANGE_REVERSED = Text("时间范围的结束早于开始", "the end of the time range is before its start")
NOT_ONE_OF = Text("{value} 不是可选值，可选值为：{allowed}",
                  "{value} is not one of {allowed}")
EXPECTED_ONE_OF = Text("应为以下之一：{allowed}", "expected one of {allowed}")
NOT_WHOLE_NUMBER = Text("{value} 不是整数", "{value} is not a whole number")
NOT_TRUE_OR_FALSE = Text("{value} 不是 true 或 false", "{value} is not true or false")
OUT_OF_RANGE = Text("应为 1 到 {maximum} 之间的整数", "expected a whole number from 1 to {maximum}")
PAGE_WITH_CURSOR = Text("page 与 cursor 只能传其一", "pass either page or cursor, not both")
CONTAINS_NUL = Text("不能包含 NUL 字符（\\x00）", "must not contain the NUL character (\\x00)")

# Each reason about the time range shows the expected form, because a bare number such as
# 20261206 looks like a date to a person but would be read as Unix seconds by a parser.
NOT_ISO_TIME = Text("必须是 ISO 8601 日期时间，例如 2026-12-06 或 2026-12-06T08:00:00Z",
                    "must be an ISO 8601 date and time, such as 2026-12-06 or "
                    "2026-12-06T08:00:00Z")
TIME_IS_NUMBER = Text("{value} 是数字，不是 ISO 8601 日期时间；请写成 2026-12-06 或 "
                      "2026-12-06T08:00:00Z",
                      "{value} is a number, not an ISO 8601 date and time; write it as "
                      "2026-12-06 or 2026-12-06T08:00:00Z")
TIME_OUT_OF_RANGE = Text("{value} 换算成 UTC 后超出 0001-01-01 到 9999-12-31 的范围",
                         "{value} is outside 0001-01-01 to 9999-12-31 once converted to UTC")

# Reasons for pydantic validation errors, by error type; the error's ``ctx`` fills the fields.
VALIDATION_REASONS = {
    "missing": Text("缺少必填值", "a value is required"),
    "less_than_equal": Text("不能大于 {le}", "must be at most {le}"),
    "greater_than_equal": Text("不能小于 {ge}", "must be at least {ge}"),
    "int_parsing": Text("必须是整数", "must be a whole number"),
    "int_from_float": Text("必须是整数", "must be a whole number"),
    "int_type": Text("必须是整数", "must be a whole number"),
    "bool_parsing": Text("必须是 true 或 false", "must be true or false"),
    "bool_type": Text("必须是 true 或 false", "must be true or false"),
    "datetime_parsing": NOT_ISO_TIME,
    "datetime_from_date_parsing": NOT_ISO_TIME,
    "datetime_type": NOT_ISO_TIME,
    # Raised by RunFilter's own time validators, with the value in the error's context.
    "datetime_number": TIME_IS_NUMBER,
    "datetime_out_of_range": TIME_OUT_OF_RANGE,
    "literal_error": Text("必须是以下之一：{expected}", "must be one of {expected}"),
    "string_too_long": Text("最多 {max_length} 个字符", "must be at most {max_length} characters"),
    "string_too_short": Text("至少 {min_length} 个字符",
                             "must be at least {min_length} characters"),
    "json_invalid": Text("不是有效的 JSON", "is not valid JSON"),
    "model_attributes_type": Text("必须是 JSON 对象", "must be a JSON object"),
    "dict_type": Text("必须是 JSON 对象", "must be a JSON object"),
    "string_type": Text("必须是字符串", "must be a string"),
    "list_type": Text("必须是列表", "must be a list"),
    "extra_forbidden": Text("不是可用的参数", "is not a known parameter"),
}
INVALID_VALUE = Text("值无效", "invalid value")


def fill(text: Text, **params: object) -> Text:
    """Format both languages of ``text`` with ``params`` and return the finished pair."""
    return Text(text.zh.format(**params), text.en.format(**params))


def validation_reason(error_type: str, context: Mapping[str, Any] | None) -> Text:
    """Return the reason for one pydantic validation error, formatted in both languages.

    An unknown error type, or a context missing a field the text names, gives the generic
    "invalid value" instead of pydantic's English message.
    """
    reason = VALIDATION_REASONS.get(error_type, INVALID_VALUE)
    values = {key: str(value) for key, value in (context or {}).items()}
    try:
        return fill(reason, **values)
    except (KeyError, IndexError):
        return INVALID_VALUE
