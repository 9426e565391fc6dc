"""Parsing JSON text from files and requests, with bounds on size and nesting.

Rejected with a clear message and no traceback: text over ``max_bytes``, text that is not UTF-8,
not JSON, or has NaN/Infinity, a key repeated in one object, nesting deeper than ``max_depth``,
and integers too long to convert.
"""

from __future__ import annotations

import json
from typing import Any

from taskrun_center.contract.masking import mask_text
from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import DEFAULT_LANGUAGE, Text

# A summary is at most 16 KiB by default; one MiB leaves room to report its capacity violations.
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 64
_MAX_KEY_SHOWN = 64


class JsonTextError(TaskRunError):
    """Raised when text is not acceptable JSON; a usage error, not an invalid summary."""

    code = "JSON_INVALID"

    def __init__(self, text: Text, **params: object) -> None:
        self.text = text
        self.params = params
        super().__init__(text.render("en", **params))

    def message(self, language: str | None = DEFAULT_LANGUAGE) -> str:
        """Return the message in ``language``."""
        return self.text.render(language or DEFAULT_LANGUAGE, **self.params)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickling must rebuild from the message pair, not from str(self).
        return (_rebuild_error, (self.text, self.params))


def _rebuild_error(text: Text, params: dict[str, object]) -> JsonTextError:
    return JsonTextError(text, **params)


def parse_json_text(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse one JSON document from ``data``.

    Raises:
        JsonTextError: when the text is too large, not UTF-8, not JSON, uses NaN or Infinity,
            repeats a key in an object, or nests deeper than ``max_depth``.
    """
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise JsonTextError(_TOO_LARGE, size=size, limit=max_bytes)
    text = _decode(data) if isinstance(data, bytes | bytearray) else data

    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicates,
                           parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JsonTextError(_NOT_JSON, line=error.lineno, column=error.colno,
                            reason=error.msg) from None
    except RecursionError:
        raise JsonTextError(_TOO_DEEP, limit=max_depth) from None
    except ValueError as error:
        # Integers of more than 4300 digits (sys.int_info.str_digits_check_threshold).
        raise JsonTextError(_BAD_NUMBER, reason=str(error)[:120]) from None

    if _depth_exceeds(value, max_depth):
        raise JsonTextError(_TOO_DEEP, limit=max_depth)
    return value


def _decode(data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise JsonTextError(_NOT_UTF8, offset=error.start) from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonTextError(_DUPLICATE_KEY, key=mask_text(key[:_MAX_KEY_SHOWN]).value)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JsonTextError(_CONSTANT, name=name)


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    # Iterative, so that checking never recurses as deep as the document.
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


_TOO_LARGE = Text(
    "输入有 {size} 字节，超过可读取的上限 {limit} 字节；摘要本身不应超过十几 KiB。",
    "the input is {size} bytes, over the readable limit of {limit} bytes; a summary itself "
    "should be a few KiB.",
)
_NOT_UTF8 = Text(
    "输入不是 UTF-8 文本（第 {offset} 个字节无法解码）。",
    "the input is not UTF-8 text (byte {offset} cannot be decoded).",
)
_NOT_JSON = Text(
    "不是合法的 JSON：第 {line} 行第 {column} 列，{reason}。",
    "not valid JSON at line {line}, column {column}: {reason}.",
)
_TOO_DEEP = Text(
    "JSON 嵌套超过 {limit} 层。",
    "the JSON is nested deeper than {limit} levels.",
)
_BAD_NUMBER = Text(
    "JSON 中的数字无法读取：{reason}", "a number in the JSON cannot be read: {reason}"
)
_DUPLICATE_KEY = Text(
    "JSON 对象中的键 {key!r} 重复出现；每个键只能出现一次。",
    "the key {key!r} appears twice in one JSON object; each key may appear once.",
)
_CONSTANT = Text(
    "{name} 不是合法的 JSON 数字；请改用 null。",
    "{name} is not a valid JSON number; use null instead.",
)
