"""A fast first pass that accepts a plainly valid summary.

``check_summary`` runs on every summary write, and most summaries are valid. This pass walks the
summary once without building JSON paths, and returns a plain-JSON copy and its strings when
every type, key-name and capacity rule clearly holds. On anything else it returns None, and
``check_summary`` runs the full rules, which name every violation with its path. The pass may
send a valid summary to the full rules, never the reverse (``tests/contract`` compares them).
"""

from __future__ import annotations

import math
from typing import Any

from taskrun_center.config import SummaryLimits
from taskrun_center.contract.normalize import INT64_MAX, INT64_MIN
from taskrun_center.contract.secret_keys import key_rejects_value, names_secret

# Zones of the envelope: where a value sits decides which limits apply to it. Positive numbers
# are nesting levels inside a free-form part (inputs, scope.target, ext.data).
_OTHER = 0
_TOP = -1
_COMMON = -2
_SCOPE = -3
_EXT = -4
_HIGHLIGHTS = -5
_METRICS = -6
# Inside a metric, flags or scope.time: a valid envelope has no container here.
_NESTED = -7
_CHILD_ZONES = {
    (_TOP, "common"): _COMMON,
    (_TOP, "ext"): _EXT,
    (_COMMON, "inputs"): 1,
    (_COMMON, "scope"): _SCOPE,
    (_COMMON, "metrics"): _METRICS,
    (_COMMON, "highlights"): _HIGHLIGHTS,
    (_SCOPE, "target"): 1,
    (_EXT, "data"): 1,
}


class _Unclear(Exception):
    """The fast pass cannot vouch for the summary; the full rules decide."""


def quick_copy(data: Any, limits: SummaryLimits) -> tuple[dict[str, Any], list[str]] | None:
    """Return a plain-JSON copy of ``data`` and its searchable strings, or None when unclear.

    Searchable strings are every string value and every key inside a free-form part; the keys
    the envelope itself defines cannot carry data.
    """
    if type(data) is not dict:
        return None
    walk = _QuickWalk(limits)
    try:
        copy = walk.copy(data, _TOP)
    except _Unclear:
        return None
    if not _metric_keys_clear(copy):
        return None
    return copy, walk.strings


class _QuickWalk:
    def __init__(self, limits: SummaryLimits) -> None:
        self.max_string = limits.max_string_chars
        self.max_keys = limits.max_object_keys
        self.max_items = limits.max_array_items
        self.max_depth = limits.max_depth
        self.max_highlights = limits.max_highlights
        self.max_highlight_chars = limits.max_highlight_chars
        self.strings: list[str] = []

    def copy(self, value: Any, zone: int) -> Any:
        kind = type(value)
        if zone == _NESTED and (kind is dict or kind is list):
            raise _Unclear
        if kind is dict:
            return self.copy_object(value, zone)
        if kind is list:
            return self.copy_array(value, zone)
        return self.copy_scalar(value)

    def copy_scalar(self, value: Any) -> Any:
        # Scalars are the bulk of a summary, so the common types are tested first.
        kind = type(value)
        if kind is str:
            if len(value) > self.max_string:
                raise _Unclear
            if value:
                self.strings.append(value)
        elif kind is int:
            if not INT64_MIN <= value <= INT64_MAX:
                raise _Unclear
        elif kind is float:
            if not math.isfinite(value):
                raise _Unclear
        elif kind is not bool and value is not None:
            raise _Unclear
        return value

    def copy_object(self, value: dict[Any, Any], zone: int) -> dict[str, Any]:
        if len(value) > self.max_keys or zone > self.max_depth:
            raise _Unclear
        free = zone > 0
        result = {}
        for key, item in value.items():
            if type(key) is not str or len(key) > self.max_string:
                raise _Unclear
            if free:
                self.strings.append(key)
            if names_secret(key) and key_rejects_value(key, item):
                raise _Unclear
            kind = type(item)
            if kind is not dict and kind is not list:
                result[key] = self.copy_scalar(item)
            elif free:
                result[key] = self.copy(item, zone + 1)
            elif zone == _OTHER:
                result[key] = self.copy(item, _NESTED)
            else:
                result[key] = self.copy(item, _CHILD_ZONES.get((zone, key), _OTHER))
        return result

    def copy_array(self, value: list[Any], zone: int) -> list[Any]:
        if zone == _HIGHLIGHTS:
            if len(value) > self.max_highlights:
                raise _Unclear
            for text in value:
                if type(text) is str and len(text) > self.max_highlight_chars:
                    raise _Unclear
        elif len(value) > self.max_items or zone > self.max_depth:
            raise _Unclear
        if zone > 0:
            child = zone + 1
        elif zone == _METRICS:
            child = _OTHER
        else:
            child = _NESTED
        return [self.copy(item, child) for item in value]


def _metric_keys_clear(summary: dict[str, Any]) -> bool:
    common = summary.get("common")
    metrics = common.get("metrics") if type(common) is dict else None
    if type(metrics) is not list:
        return True
    for metric in metrics:
        if type(metric) is dict:
            key = metric.get("key")
            if type(key) is str and key_rejects_value(key, metric.get("value")):
                return False
    return True
