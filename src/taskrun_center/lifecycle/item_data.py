"""Prepare item data and error messages for storage: normalise, mask secrets, cap the size.

Every value goes through the same steps on SQLite and PostgreSQL, so both store the same thing:

1. Values that a database or JSON rejects are made storable. A NUL character and an unpaired
   surrogate become U+FFFD, because PostgreSQL rejects NUL in ``text`` and ``jsonb``. NaN and
   ±Infinity become ``null``. An integer outside the signed 64-bit range becomes its decimal
   string. Then the contract's ``normalize_json`` turns dates into ISO 8601 strings, taking a
   naive datetime as UTC, decimals into numbers and sets into sorted lists. Any other type it
   rejects is a programming error and raises ``SummaryValidationError``.
2. Secrets and personal data are replaced by the contract's mask; the count is returned so that
   the caller can log it (never the value).
3. Oversize data is replaced by a visible truncated form instead of being rejected, so a run is
   never lost to a large detail. JSON over its byte limit becomes::

       {"_truncated": true, "original_bytes": N, "max_bytes": M, "preview": "<start of the JSON>"}

   and a text over its character limit is cut on a character boundary and ends with
   ``TRUNCATION_MARKER``, which states the original length.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from taskrun_center.contract import (
    MASK,
    SummaryValidationError,
    mask_json,
    mask_text,
    normalize_json,
)
from taskrun_center.contract.secret_keys import key_rejects_value

REPLACEMENT_CHARACTER = "\ufffd"
TRUNCATION_MARKER = "…[truncated, {length} characters in total / 已截断，原文共 {length} 个字符]"
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Code points that join or modify the character before them. A cut just before one of them
# would split what a reader sees as one character, such as an emoji sequence or an accent.
_JOINERS = frozenset({"\u200d", "\ufe0e", "\ufe0f", "\u20e3"})
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)

# Strings up to this length take the flat-mapping path below, and their masked form is cached.
# Metrics repeat the same short strings (hosts, states) across the items of a run.
_SHORT_TEXT_CHARS = 256


@dataclass(frozen=True, slots=True)
class PreparedJson:
    """Item JSON ready to store, with what was done to it."""

    value: dict[str, Any] | None
    masked: int
    truncated: bool
    original_bytes: int


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A message ready to store, with what was done to it."""

    value: str | None
    masked: int
    truncated: bool
    original_chars: int


def prepare_json(value: Mapping[str, Any] | None, *, max_bytes: int) -> PreparedJson:
    """Normalise, mask and cap a ``metrics_json`` or ``details_json`` value.

    Raises:
        SummaryValidationError: the value contains a type that has no JSON form (bytes, objects).
    """
    if value is None:
        return PreparedJson(None, 0, False, 0)
    flat = _mask_flat(value)
    if flat is None:
        masked = mask_json(_normalize_storable(dict(value)))
        flat = (masked.value, masked.count)
    masked_value, masked_count = flat
    encoded = _compact(masked_value)
    size = len(encoded.encode("utf-8"))
    if size <= max_bytes:
        return PreparedJson(masked_value, masked_count, False, size)
    return PreparedJson(_truncated_json(encoded, size, max_bytes), masked_count, True, size)


def _mask_flat(value: Mapping[str, Any]) -> tuple[dict[str, Any], int] | None:
    """Mask a flat mapping of short strings and storable scalars; None for any other value.

    The result equals the general path's (normalise, then ``mask_json``): such a mapping needs
    no normalising, and no detector matches across the NUL that joins strings in one scan, so
    masking each string alone finds the same spans.
    """
    result: dict[str, Any] = {}
    count = 0
    for key, item in value.items():
        if type(key) is not str or not _is_short_clean(key) or not _is_flat_scalar(item):
            return None
        if key_rejects_value(key, item):
            result[key] = MASK
            count += 1
        elif type(item) is str:
            result[key], found = _mask_short_text(item)
            count += found
        else:
            result[key] = item
    return result, count


def _is_flat_scalar(item: Any) -> bool:
    kind = type(item)
    if item is None or kind is bool:
        return True
    if kind is int:
        return INT64_MIN <= item <= INT64_MAX
    if kind is float:
        return math.isfinite(item)
    return kind is str and _is_short_clean(item)


def _is_short_clean(text: str) -> bool:
    if len(text) > _SHORT_TEXT_CHARS or "\x00" in text:
        return False
    return text.isascii() or not _has_surrogate(text)


@lru_cache(maxsize=4096)
def _mask_short_text(text: str) -> tuple[str, int]:
    masked = mask_text(text)
    return str(masked.value), masked.count


def prepare_text(value: str | None, *, max_chars: int) -> PreparedText:
    """Make a message storable, mask it and cut it to ``max_chars`` characters with a marker."""
    if value is None:
        return PreparedText(None, 0, False, 0)
    cleaned = clean_text(str(value))
    if len(cleaned) <= _SHORT_TEXT_CHARS:
        text, count = _mask_short_text(cleaned)
    else:
        masked = mask_text(cleaned)
        text, count = str(masked.value), masked.count
    if len(text) <= max_chars:
        return PreparedText(text, count, False, len(text))
    return PreparedText(cut_text(text, max_chars), count, True, len(text))


def clean_text(value: str) -> str:
    """Replace NUL characters and unpaired surrogates with U+FFFD."""
    value = value.replace("\x00", REPLACEMENT_CHARACTER)
    if not value.isascii() and _has_surrogate(value):
        value = "".join(REPLACEMENT_CHARACTER if _is_surrogate(char) else char for char in value)
    return value


def cut_text(text: str, max_chars: int) -> str:
    """Cut ``text`` so that it, with the marker, fits ``max_chars`` characters.

    The cut never falls inside a character sequence that reads as one character: it moves back
    over joiners, variation selectors, emoji modifiers and combining marks.
    """
    marker = TRUNCATION_MARKER.format(length=len(text))
    end = max(0, max_chars - len(marker))
    while end > 0 and _continues_previous(text, end):
        end -= 1
    return text[:end] + marker


def _continues_previous(text: str, index: int) -> bool:
    char = text[index]
    if char in _JOINERS or ord(char) in _EMOJI_MODIFIERS or unicodedata.combining(char):
        return True
    # A zero-width joiner at the end of the kept part would join the marker's first character.
    return text[index - 1] == "\u200d"


def _is_surrogate(char: str) -> bool:
    return "\ud800" <= char <= "\udfff"


def _has_surrogate(value: str) -> bool:
    return any(_is_surrogate(char) for char in value)


def _normalize_storable(value: dict[str, Any]) -> Any:
    # The fast path: most item data is already JSON-safe.
    try:
        return normalize_json(value)
    except SummaryValidationError:
        return normalize_json(_make_storable(value))


def _make_storable(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if isinstance(value, Mapping):
        return {
            (clean_text(key) if isinstance(key, str) else key): _make_storable(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_make_storable(item) for item in value]
    return value


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _truncated_json(encoded: str, original_bytes: int, max_bytes: int) -> dict[str, Any]:
    shell: dict[str, Any] = {
        "_truncated": True,
        "original_bytes": original_bytes,
        "max_bytes": max_bytes,
        "preview": "",
    }
    # The preview gets what is left of the limit after the fixed fields; JSON escaping can
    # grow it, so it shrinks until the whole form fits.
    budget = max_bytes - len(_compact(shell).encode("utf-8"))
    preview = encoded[: max(0, budget)]
    while preview and len(_compact({**shell, "preview": preview}).encode("utf-8")) > max_bytes:
        preview = preview[: len(preview) * 9 // 10]
    shell["preview"] = preview
    return shell
