"""JSON-safe normalisation of values before they are validated and stored.

Rules, applied at any depth:

- ``None``, ``bool``, ``str`` and finite ``float`` stay as they are; ``int`` must fit in a signed
  64-bit integer, so that every database and JSON reader keeps it exact.
- ``Enum`` members become their value; ``UUID`` its canonical string.
- ``date`` becomes ``YYYY-MM-DD``; a ``datetime`` becomes an ISO 8601 string with its offset.
  A naive ``datetime`` (without ``tzinfo``) is taken to be UTC and written with ``+00:00``.
  ``time`` becomes ``HH:MM:SS[.ffffff]``.
- ``Decimal`` becomes an ``int`` when it is integral, else the nearest ``float``.
- Mappings become ``dict`` with string keys; tuples, lists become ``list``; sets and frozensets
  become a ``list`` sorted by each element's compact JSON text, so the output is deterministic.
- A pydantic model becomes the dict of its fields, normalised by these rules.
- Rejected, with their path: NaN and ±Infinity, ``bytes``, keys that are not strings, strings with
  a NUL character or an unpaired surrogate (PostgreSQL and UTF-8 cannot store them), integers out
  of the 64-bit range, nesting deeper than ``max_depth``, and any other type.

The output of ``normalize_json`` normalises to itself (the function is idempotent).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from taskrun_center.contract.violations import (
    JsonPath,
    Violation,
    format_path,
    make_violation,
    raise_if_any,
)
from taskrun_center.i18n import Text

# Deep enough for any item detail; the summary's own depth limit is far lower.
DEFAULT_MAX_DEPTH = 64
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_SCALARS = (str, bool, type(None))


def normalize_json(value: Any, *, path: str = "$", max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Return ``value`` as plain JSON data (dict, list, str, int, float, bool, None).

    Args:
        value: the data to convert; see the module docstring for each type's rule.
        path: JSON path of ``value`` used in violations, ``$`` for a document root.
        max_depth: containers nested deeper than this are rejected.

    Raises:
        SummaryValidationError: listing every value that cannot be converted (rules ``json.*``).
    """
    result, violations = normalize_collecting(value, path=path, max_depth=max_depth)
    raise_if_any(violations)
    return result


def normalize_collecting(
    value: Any, *, path: str = "$", max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Any, list[Violation]]:
    """Return ``value`` normalised, with None in place of each rejected value, and the violations.

    ``check_summary`` uses this form to go on checking the rest of a summary after a bad value.
    """
    normalizer = _Normalizer(path, max_depth)
    result = normalizer.convert(value, (), 0)
    return result, normalizer.violations


class _Normalizer:
    def __init__(self, root: str, max_depth: int) -> None:
        self.root = root
        self.max_depth = max_depth
        self.violations: list[Violation] = []

    def reject(self, path: JsonPath, rule: str, text: Text, **params: object) -> None:
        self.violations.append(make_violation(format_path(path, self.root), rule, text, **params))

    def convert(self, value: Any, path: JsonPath, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            self.check_string(value, path)
            return value
        if kind is bool or value is None:
            return value
        if kind is int:
            return self.check_int(value, path)
        if kind is float:
            return self.check_float(value, path)
        if kind is dict or kind is list:
            return self.convert_container(value, path, depth)
        return self.convert_other(value, path, depth)

    def convert_container(self, value: Any, path: JsonPath, depth: int) -> Any:
        if depth >= self.max_depth:
            self.reject(path, "json.too_deep", _TOO_DEEP, limit=self.max_depth)
            return None
        if isinstance(value, Mapping):
            return self.convert_mapping(value, path, depth + 1)
        return [self.convert(item, (*path, index), depth + 1) for index, item in enumerate(value)]

    def convert_mapping(
        self, value: Mapping[Any, Any], path: JsonPath, depth: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = key.value if isinstance(key, Enum) else key
            if not isinstance(name, str):
                self.reject((*path, str(name)[:64]), "json.non_string_key", _NON_STRING_KEY,
                            type=type(key).__name__)
                continue
            name = str(name)
            self.check_string(name, (*path, name))
            result[name] = self.convert(item, (*path, name), depth)
        return result

    def convert_other(self, value: Any, path: JsonPath, depth: int) -> Any:  # noqa: PLR0911
        # Order matters: bool and IntEnum are int subclasses, datetime is a date subclass.
        if isinstance(value, Enum):
            return self.convert(value.value, path, depth)
        if isinstance(value, str):
            return self.convert(str(value), path, depth)
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return self.check_int(int(value), path)
        if isinstance(value, float):
            return self.check_float(float(value), path)
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return aware.isoformat()
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, Decimal):
            return self.convert_decimal(value, path)
        if isinstance(value, UUID):
            return str(value)
        if isinstance(value, bytes | bytearray | memoryview):
            self.reject(path, "json.bytes", _BYTES)
            return None
        return self.convert_structure(value, path, depth)

    def convert_structure(self, value: Any, path: JsonPath, depth: int) -> Any:
        if isinstance(value, BaseModel):
            return self.convert(value.model_dump(mode="python"), path, depth)
        if isinstance(value, Mapping | list | tuple):
            return self.convert_container(value, path, depth)
        if isinstance(value, set | frozenset):
            items = self.convert_container(list(value), path, depth)
            if items is None:
                return None
            return sorted(items, key=_sort_key)
        self.reject(path, "json.unsupported_type", _UNSUPPORTED, type=type(value).__name__)
        return None

    def convert_decimal(self, value: Decimal, path: JsonPath) -> Any:
        if not value.is_finite():
            self.reject(path, "json.non_finite_number", _NON_FINITE)
            return None
        if value == value.to_integral_value():
            return self.check_int(int(value), path)
        return self.check_float(float(value), path)

    def check_int(self, value: int, path: JsonPath) -> int | None:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        self.reject(path, "json.integer_range", _INT_RANGE)
        return None

    def check_float(self, value: float, path: JsonPath) -> float | None:
        if math.isfinite(value):
            return value
        self.reject(path, "json.non_finite_number", _NON_FINITE)
        return None

    def check_string(self, value: str, path: JsonPath) -> None:
        if "\x00" in value or not _encodes_as_utf8(value):
            self.reject(path, "json.invalid_string", _INVALID_STRING)


def _encodes_as_utf8(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


_TOO_DEEP = Text(
    "嵌套超过 {limit} 层；请把明细拆平或移到子项的 details_json。",
    "nested deeper than {limit} levels; flatten it or move the detail into an item's details_json.",
)
_NON_STRING_KEY = Text(
    "对象的键必须是字符串，实际是 {type}。",
    "object keys must be strings, got {type}.",
)
_BYTES = Text(
    "bytes 不是 JSON 值；请先解码为文本或改存长度、摘要值。",
    "bytes are not a JSON value; decode them to text or store their length or a digest.",
)
_UNSUPPORTED = Text(
    "类型 {type} 不能转成 JSON；请先转换为字符串、数字、列表或对象。",
    "type {type} cannot be converted to JSON; convert it to a string, number, list or object "
    "first.",
)
_NON_FINITE = Text(
    "NaN 和 ±Infinity 不是合法的 JSON 数字；请改用 null。",
    "NaN and ±Infinity are not valid JSON numbers; use null instead.",
)
_INT_RANGE = Text(
    "整数超出 64 位有符号整数范围；请改用字符串。",
    "integer outside the signed 64-bit range; store it as a string.",
)
_INVALID_STRING = Text(
    "字符串含 NUL 字符或不成对的代理项，无法以 UTF-8 存储。",
    "string contains a NUL character or an unpaired surrogate and cannot be stored as UTF-8.",
)
