"""Capacity guards: a summary stays small enough for the list page to read thousands of runs.

Limits come from ``config.SummaryLimits``. Nesting is counted inside the three free-form parts,
``common.inputs``, ``common.scope.target`` and ``ext.data``: the part itself is level 1 and every
object or list inside it adds one level. With the default of 6, ``inputs.a.b.c.d.e`` may be an
object, and an object or list one level deeper is rejected. Array, object-key and string limits
apply everywhere in the summary, keys included.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from taskrun_center.config import SummaryLimits
from taskrun_center.contract.violations import JsonPath, Violation, format_path, make_violation
from taskrun_center.i18n import Text

FREE_FORM_PARTS: tuple[JsonPath, ...] = (
    ("common", "inputs"),
    ("common", "scope", "target"),
    ("ext", "data"),
)
_HIGHLIGHTS_PATH: JsonPath = ("common", "highlights")


def serialized_size(summary: Any) -> int:
    """Return the size in bytes of ``summary`` as compact UTF-8 JSON, the form that is stored.

    pydantic-core's serializer is used because it is several times faster than ``json.dumps``.
    Both write the same text except for the exponent of very small floats (``1e-7`` against
    ``1e-07``).
    """
    try:
        return len(to_json(summary))
    except PydanticSerializationError:
        # An unpaired surrogate: count it the way json.dumps would write it.
        text = json.dumps(summary, ensure_ascii=False, separators=(",", ":"))
        return len(text.encode("utf-8", "surrogatepass"))


def capacity_violations(summary: Any, limits: SummaryLimits) -> list[Violation]:
    """Return a violation for every array, object, string or nesting level over ``limits``."""
    walker = _CapacityWalk(limits)
    walker.visit(summary, (), 0)
    walker.check_highlights(summary)
    return walker.violations


def size_violation(size: int, limits: SummaryLimits) -> Violation | None:
    """Return the rejection for a summary of ``size`` bytes over ``limits.max_bytes``, else None."""
    if size <= limits.max_bytes:
        return None
    return make_violation(
        "$", "capacity.summary_bytes", _SUMMARY_BYTES, limit=limits.max_bytes, actual=size
    )


def size_warning(size: int, limits: SummaryLimits) -> Violation | None:
    """Return the warning for a summary above ``limits.warn_bytes`` but within the maximum."""
    if size <= limits.warn_bytes or size > limits.max_bytes:
        return None
    return make_violation(
        "$", "capacity.summary_bytes_warning", _SUMMARY_WARNING, limit=limits.warn_bytes,
        actual=size, maximum=limits.max_bytes,
    )


class _CapacityWalk:
    def __init__(self, limits: SummaryLimits) -> None:
        self.limits = limits
        self.violations: list[Violation] = []

    def report(self, path: JsonPath, rule: str, text: Text, limit: int, actual: int) -> None:
        self.violations.append(
            make_violation(format_path(path), rule, text, limit=limit, actual=actual)
        )

    def visit(self, value: Any, path: JsonPath, level: int) -> None:
        """Walk ``value``; ``level`` counts nesting inside a free-form part (0 outside)."""
        if isinstance(value, str):
            self.check_string(value, path)
            return
        if not isinstance(value, dict | list):
            return

        if level == 0 and path in FREE_FORM_PARTS:
            level = 1
        elif level:
            level += 1
        if level > self.limits.max_depth:
            self.report(path, "capacity.depth", _DEPTH, self.limits.max_depth, level)
            return

        if isinstance(value, dict):
            self.visit_object(value, path, level)
        else:
            self.visit_array(value, path, level)

    def visit_object(self, value: dict[str, Any], path: JsonPath, level: int) -> None:
        if len(value) > self.limits.max_object_keys:
            self.report(path, "capacity.object_keys", _OBJECT_KEYS, self.limits.max_object_keys,
                        len(value))
        for key, item in value.items():
            child = (*path, key)
            if len(key) > self.limits.max_string_chars:
                self.report(child, "capacity.string_chars", _KEY_CHARS,
                            self.limits.max_string_chars, len(key))
            self.visit(item, child, level)

    def visit_array(self, value: list[Any], path: JsonPath, level: int) -> None:
        # common.highlights has its own, lower limit (check_highlights).
        if len(value) > self.limits.max_array_items and path != _HIGHLIGHTS_PATH:
            self.report(path, "capacity.array_items", _ARRAY_ITEMS, self.limits.max_array_items,
                        len(value))
        for index, item in enumerate(value):
            self.visit(item, (*path, index), level)

    def check_string(self, value: str, path: JsonPath) -> None:
        if len(value) > self.limits.max_string_chars:
            self.report(path, "capacity.string_chars", _STRING_CHARS,
                        self.limits.max_string_chars, len(value))

    def check_highlights(self, summary: Any) -> None:
        common = summary.get("common") if isinstance(summary, dict) else None
        highlights = common.get("highlights") if isinstance(common, dict) else None
        if not isinstance(highlights, list):
            return
        path = _HIGHLIGHTS_PATH
        if len(highlights) > self.limits.max_highlights:
            self.report(path, "capacity.highlights", _HIGHLIGHTS, self.limits.max_highlights,
                        len(highlights))
        for index, text in enumerate(highlights):
            if isinstance(text, str) and len(text) > self.limits.max_highlight_chars:
                self.report((*path, index), "capacity.highlight_chars", _HIGHLIGHT_CHARS,
                            self.limits.max_highlight_chars, len(text))


_HINT_ZH = "摘要只放聚合后的小字段，明细请写入子项的 metrics_json / details_json。"
_HINT_EN = (
    "A summary holds small aggregates only; move detail into items' metrics_json / details_json."
)

_SUMMARY_BYTES = Text(
    "摘要序列化后 {actual} 字节，超过上限 {limit} 字节。" + _HINT_ZH,
    "the serialized summary is {actual} bytes, over the limit of {limit} bytes. " + _HINT_EN,
)
_SUMMARY_WARNING = Text(
    "摘要序列化后 {actual} 字节，超过告警阈值 {limit} 字节（上限 {maximum}）。" + _HINT_ZH,
    "the serialized summary is {actual} bytes, above the warning threshold of {limit} bytes "
    "(limit {maximum}). " + _HINT_EN,
)
_DEPTH = Text(
    "嵌套 {actual} 层，超过上限 {limit} 层。" + _HINT_ZH,
    "nested {actual} levels deep, over the limit of {limit}. " + _HINT_EN,
)
_OBJECT_KEYS = Text(
    "对象有 {actual} 个键，超过上限 {limit}。" + _HINT_ZH,
    "the object has {actual} keys, over the limit of {limit}. " + _HINT_EN,
)
_ARRAY_ITEMS = Text(
    "数组有 {actual} 个元素，超过上限 {limit}。" + _HINT_ZH,
    "the array has {actual} elements, over the limit of {limit}. " + _HINT_EN,
)
_STRING_CHARS = Text(
    "字符串有 {actual} 个字符，超过上限 {limit}。" + _HINT_ZH,
    "the string has {actual} characters, over the limit of {limit}. " + _HINT_EN,
)
_KEY_CHARS = Text(
    "键名有 {actual} 个字符，超过上限 {limit}。",
    "the key has {actual} characters, over the limit of {limit}.",
)
_HIGHLIGHTS = Text(
    "highlights 有 {actual} 条，超过上限 {limit} 条；只保留最重要的几条。",
    "highlights has {actual} entries, over the limit of {limit}; keep the few that matter most.",
)
_HIGHLIGHT_CHARS = Text(
    "这条 highlight 有 {actual} 个字符，超过上限 {limit}；请缩短。",
    "this highlight has {actual} characters, over the limit of {limit}; shorten it.",
)
