"""Structural validation: the envelope models, turned into contract violations."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from taskrun_center.contract.models import TaskRunSummaryV1
from taskrun_center.contract.violations import Violation, format_path, make_violation
from taskrun_center.i18n import Text

_TYPE_NAMES = {
    "dict_type": ("对象", "an object"),
    "model_type": ("对象", "an object"),
    "model_attributes_type": ("对象", "an object"),
    "list_type": ("列表", "a list"),
    "string_type": ("字符串", "a string"),
    "int_type": ("整数", "an integer"),
    "bool_type": ("布尔值", "a boolean"),
    "float_type": ("数字", "a number"),
    "none_required": ("null", "null"),
}


def pydantic_violations(data: Any) -> list[Violation]:
    """Validate ``data`` against TaskRunSummaryV1 and return one violation per error."""
    try:
        TaskRunSummaryV1.model_validate(data)
    except ValidationError as error:
        return [error_violation(detail) for detail in error.errors(include_url=False)]
    return []


def error_violation(detail: ErrorDetails, prefix: tuple[str | int, ...] = ()) -> Violation:
    """Turn one pydantic error into a violation with the contract's rule code."""
    location = (*prefix, *detail["loc"])
    path = format_path(location)
    rule, text, params = _classify(detail, location)
    return make_violation(path, rule, text, **params)


def _classify(  # noqa: PLR0911
    detail: ErrorDetails, location: tuple[str | int, ...]
) -> tuple[str, Text, dict[str, object]]:
    kind = detail["type"]
    if kind.startswith("envelope."):
        return kind, _CUSTOM[kind], {}
    if kind == "extra_forbidden":
        return "envelope.extra_field", _EXTRA, {}
    if kind == "missing":
        return "envelope.missing_field", _MISSING, {}
    if location == ("version",):
        return "envelope.version", _CUSTOM["envelope.version"], {}
    if location[-1:] == ("tone",):
        return "envelope.tone", _TONE, {}
    if location == ("ext", "type"):
        return "envelope.ext_type_format", _EXT_TYPE, {}
    if location == ("ext", "version"):
        return "envelope.ext_version", _EXT_VERSION, {}
    if kind in _TYPE_NAMES:
        zh, en = _TYPE_NAMES[kind]
        return "envelope.wrong_type", _WRONG_TYPE, {"expected_zh": zh, "expected_en": en}
    if kind in _VALUE_TEXTS:
        return "envelope.invalid_value", _VALUE_TEXTS[kind], dict(detail.get("ctx") or {})
    return "envelope.invalid_value", _INVALID, {"reason": detail["msg"]}


_EXTRA = Text(
    "不允许的字段：摘要结构中没有这个字段；请删除，或把数据放进 ext.data 或子项。",
    "field not allowed: the envelope does not name it. Remove it, or move the data into "
    "ext.data or an item.",
)
_MISSING = Text("缺少必填字段。", "required field is missing.")
_TONE = Text(
    "tone 只能是 info、success、warning、danger 或 null。",
    "tone must be one of info, success, warning, danger, or null.",
)
_EXT_TYPE = Text(
    "ext.type 必须是任务键：以字母或数字开头，只含字母、数字和 _ . : -，最多 128 个字符。",
    "ext.type must be a task key: a letter or digit first, then letters, digits or _ . : -, "
    "at most 128 characters.",
)
_EXT_VERSION = Text("ext.version 必须是不小于 1 的整数。", "ext.version must be an integer ≥ 1.")
_WRONG_TYPE = Text("类型不对，这里应是{expected_zh}。", "wrong type: expected {expected_en}.")
_INVALID = Text("取值无效：{reason}", "invalid value: {reason}")
# Pydantic error types whose context gives everything a bilingual message needs.
_VALUE_TEXTS = {
    "string_too_short": Text(
        "至少需要 {min_length} 个字符。", "must have at least {min_length} character(s)."
    ),
    "string_too_long": Text(
        "最多 {max_length} 个字符。", "must have at most {max_length} characters."
    ),
    "string_pattern_mismatch": Text(
        "格式不符合 {pattern}。", "does not match the pattern {pattern}."
    ),
    "literal_error": Text("只能是 {expected}。", "must be {expected}."),
    "greater_than_equal": Text("必须不小于 {ge}。", "must be ≥ {ge}."),
    "less_than_equal": Text("必须不大于 {le}。", "must be ≤ {le}."),
}
_CUSTOM = {
    "envelope.version": Text(
        "version 必须是整数 1（目前只有第 1 版摘要）。",
        "version must be the integer 1 (the only summary version).",
    ),
    "envelope.metric_value": Text(
        "指标值只能是数字、字符串、布尔值或 null；明细请放进子项。",
        "a metric value must be a number, string, boolean or null; put detail into items.",
    ),
    "envelope.scope_timezone": Text(
        "未知的时区；请使用 IANA 时区名，例如 Asia/Shanghai。",
        "unknown time zone; use an IANA name such as Asia/Shanghai.",
    ),
    "envelope.scope_date": Text(
        "日期无效；应是存在的日期，格式 YYYY-MM-DD。",
        "invalid date; expected an existing day as YYYY-MM-DD.",
    ),
    "envelope.skip_reason_missing": Text(
        "skipped 为 true 时必须给出非空的 skip_reason。",
        "a skipped run needs a non-empty skip_reason.",
    ),
    "envelope.skip_reason_unexpected": Text(
        "skipped 为 false 时 skip_reason 必须为 null。",
        "skip_reason must be null when skipped is false.",
    ),
    "envelope.duplicate_metric_key": Text(
        "metrics 中的 key 重复；每个指标的 key 必须唯一。",
        "metric keys repeat; each metric needs a unique key.",
    ),
}
