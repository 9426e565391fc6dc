"""Opaque keyset cursors for deep pages of the run list.

A cursor stores the sort value and ``id`` of the last row of the previous page. It also stores
the sort, order and page size it belongs to, a fingerprint of the filter, the number of the page
it leads to, and the total counted on the first page with whether it is exact. It is URL-safe
base64 of compact JSON followed by an HMAC-SHA256 tag, so an edited or truncated cursor is
rejected. The content is not secret: the tag only proves that this service made the cursor.

The sort value is the one stored, so that the next page starts exactly after it. SQLite keeps a
fraction, text or a blob written by hand in an INTEGER column, and such a value is carried
tagged: ``{"real": "12.5"}`` (``repr`` keeps infinity), plain text, ``{"blob": "<hex>"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from taskrun_center.errors import InvalidQueryError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.query_reasons import fill

# Version 2 added the page size. A cursor of another version is rejected.
CURSOR_VERSION = 2
#: Maximum length of a cursor text. Cursors of this service stay far below it, and the bound
#: limits the work that decoding an invalid one costs.
MAX_CURSOR_CHARS = 2048
# Ids, page numbers and totals are 64-bit integers in the database, so a larger one cannot be
# bound as a parameter.
_MAX_INT64 = 2**63 - 1
# 12 bytes of HMAC-SHA256 are far beyond guessing and keep URLs short.
_TAG_BYTES = 12
# Used when no secret key is configured, so that cursors still work across processes and
# restarts. Anyone who reads this source can then forge a tag. A forged cursor can only choose
# where a page starts, because every field is type- and range-checked and reaches SQL as a bound
# parameter.
_DEFAULT_KEY = b"taskrun-center/run-list-cursor"
_OTHER_SORT = Text(
    "它属于 sort={sort} order={order}；请传入相同的排序字段和方向，或从第一页重新开始",
    "it belongs to sort={sort} order={order}; pass the same sort and order, "
    "or start again from the first page",
)
_OTHER_LIMIT = Text(
    "它属于每页 {limit} 条（limit={limit}）；请传入相同的 limit，或从第一页重新开始",
    "it belongs to pages of {limit} runs (limit={limit}); pass the same limit, "
    "or start again from the first page",
)
_MISMATCH = Text("其中的排序值与排序字段不符", "its sort value does not match the sort field")
_UNSTORABLE = Text("其中的排序值含有无法存储的字符",
                   "its sort value contains a character that cannot be stored")


@dataclass(frozen=True, slots=True)
class RunCursor:
    """The end of one page of the run list and the query that page belongs to."""

    sort: str
    order: str
    # A float, or text or bytes in place of an int, only from a row edited by hand on SQLite.
    last_value: datetime | int | float | str | bytes | None
    last_id: int
    filter_fingerprint: str
    page: int
    limit: int
    total: int
    total_exact: bool = True


@lru_cache(maxsize=8)
def cursor_key(secret_key: str | None) -> bytes:
    """Return the HMAC key for cursors, derived from the configured secret key when there is one.

    Cached, because a read service derives it on every request and a process has one or two keys.
    """
    if not secret_key:
        return _DEFAULT_KEY
    return hashlib.sha256(_DEFAULT_KEY + b"\0" + secret_key.encode()).digest()


def encode_cursor(cursor: RunCursor, key: bytes) -> str:
    """Serialise and sign ``cursor``."""
    payload = {
        "v": CURSOR_VERSION,
        "s": cursor.sort,
        "o": cursor.order,
        "k": _value_payload(cursor.last_value),
        "i": cursor.last_id,
        "f": cursor.filter_fingerprint,
        "p": cursor.page,
        "l": cursor.limit,
        "t": cursor.total,
        "x": cursor.total_exact,
    }
    body = orjson.dumps(payload)
    return _b64encode(body) + "." + _b64encode(_tag(key, body))


def decode_cursor(text: str, key: bytes, *, sort: str, order: str, limit: int,
                  filter_fingerprint: str, value_kind: type) -> RunCursor:
    """Verify and parse a cursor made for this sort, order, page size and filter.

    ``value_kind`` is the Python type of the sort column.

    Raises:
        InvalidQueryError: the cursor is malformed, was edited, comes from another version,
            contains a value out of range, or belongs to another sort, order, limit or filter.
    """
    body = _verified_body(text, key)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid(Text("内容不是 JSON", "its content is not JSON")) from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise _invalid(Text("由其他版本的服务生成",
                            "it was made by another version of the service"))

    if not all(isinstance(payload.get(field), str) for field in ("s", "o", "f")):
        raise _invalid(Text("缺少排序字段、排序方向或筛选指纹",
                            "sort, order or filter fingerprint is missing"))
    if not all(_is_count(payload.get(field)) for field in ("i", "p", "l", "t")) \
            or payload["p"] < 2:
        raise _invalid(Text("其中的末行 ID、页码、每页条数或总数不是有效数字",
                            "the last id, page, limit or total is not a valid number"))
    if not isinstance(payload.get("x"), bool):
        raise _invalid(Text("未注明总数是否精确",
                            "it does not say whether its total is exact"))
    if (sort, order) != (payload["s"], payload["o"]):
        if not all(_is_plain_word(payload[field]) for field in ("s", "o")):
            raise _invalid(Text("属于另一种排序", "it belongs to another sort"))
        reason = fill(_OTHER_SORT, sort=payload["s"], order=payload["o"])
        raise InvalidQueryError("cursor", reason)
    if payload["l"] != limit:
        raise InvalidQueryError("cursor", fill(_OTHER_LIMIT, limit=payload["l"]))
    if payload["f"] != filter_fingerprint:
        raise _invalid(Text("属于另一组筛选条件", "it belongs to another filter"))

    return RunCursor(
        sort=sort,
        order=order,
        last_value=_parse_value(payload.get("k"), value_kind),
        last_id=payload["i"],
        filter_fingerprint=filter_fingerprint,
        page=payload["p"],
        limit=limit,
        total=payload["t"],
        total_exact=payload["x"],
    )


def _verified_body(text: str, key: bytes) -> bytes:
    if not isinstance(text, str) or text.count(".") != 1 or len(text) > MAX_CURSOR_CHARS:
        raise _invalid(Text("不是运行列表返回的游标",
                            "it is not a cursor returned by the run list"))
    body_text, tag_text = text.split(".")
    try:
        body, tag = _b64decode(body_text), _b64decode(tag_text)
    except (binascii.Error, ValueError):
        raise _invalid(Text("不是有效的 base64", "it is not valid base64")) from None
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise _invalid(Text("签名不匹配（被修改或截断）",
                            "its signature does not match (edited or truncated)"))
    return body


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.digest(key, body, "sha256")[:_TAG_BYTES]


def _value_payload(value: datetime | int | float | str | bytes | None) -> Any:
    """Return the JSON form of a sort value; see the module docstring for the tagged ones."""
    # NOTE: a timestamp that reads as None (text that is no time on SQLite, 'infinity' on
    # PostgreSQL) is carried as None, so the next page starts among the runs without a value
    # and skips the rest of those with one. Text of more than about 1,400 bytes makes a cursor
    # longer than MAX_CURSOR_CHARS, which decode_cursor rejects.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return {"real": repr(value)}
    if isinstance(value, bytes):
        return {"blob": value.hex()}
    return value


def _parse_value(raw: Any, value_kind: type) -> datetime | int | float | str | bytes | None:
    if raw is None:
        return None
    if value_kind is datetime and isinstance(raw, str):
        return _parse_timestamp(raw)
    if value_kind is int and isinstance(raw, int) and not isinstance(raw, bool):
        if abs(raw) > _MAX_INT64:
            raise _invalid(Text("其中的排序值超出范围", "its sort value is out of range"))
        return raw
    if value_kind is str and isinstance(raw, str):
        if "\x00" in raw or not _encodes_as_utf8(raw):
            raise _invalid(_UNSTORABLE)
        return raw
    if value_kind is not datetime:
        return _parse_hand_edited(raw, value_kind)
    raise _invalid(_MISMATCH)


def _parse_hand_edited(raw: Any, value_kind: type) -> float | str | bytes:
    """Parse a sort value that only a hand edit on SQLite stores in an int or text column.

    Raises:
        InvalidQueryError: ``raw`` is no such value for ``value_kind``.
    """
    if value_kind is int and isinstance(raw, str):
        if not _encodes_as_utf8(raw):
            raise _invalid(_UNSTORABLE)
        return raw
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _invalid(_MISMATCH)
    [(tag, text)] = raw.items()
    if not isinstance(text, str):
        raise _invalid(_MISMATCH)
    try:
        if tag == "real" and value_kind is int:
            return float(text)
        if tag == "blob":
            return bytes.fromhex(text)
    except ValueError:
        raise _invalid(_MISMATCH) from None
    raise _invalid(_MISMATCH)


def require_column_kind(value: Any, value_kind: type) -> None:
    """Check that a cursor's sort value fits a column that contains only ``value_kind``.

    A cursor made on SQLite may carry a fraction, text or a blob from a row edited by hand.
    PostgreSQL's typed columns contain none of them, and binding one there would fail the query.

    Raises:
        InvalidQueryError: ``value`` is neither None nor a ``value_kind``.
    """
    if value is not None and not isinstance(value, value_kind):
        raise _invalid(_MISMATCH)


def _parse_timestamp(raw: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(Text("其中的排序值不是时间戳",
                            "its sort value is not a timestamp")) from None
    if parsed.tzinfo is None:
        raise _invalid(Text("其中的排序值没有时区", "its sort value has no time zone"))
    try:
        # Stored in UTC: an offset that moves the time past year 1 or 9999 cannot be compared.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise _invalid(Text("其中的排序值超出范围", "its sort value is out of range")) from None


def _is_plain_word(value: str) -> bool:
    # Only such text is quoted back: anything else could carry terminal escapes or surrogates.
    return len(value) <= 40 and value.isascii() and value.replace("_", "").isalnum()


def _encodes_as_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_INT64


def _invalid(reason: Text) -> InvalidQueryError:
    return InvalidQueryError("cursor", Text(f"{reason.zh}；请从第一页重新开始",
                                            f"{reason.en}; start again from the first page"))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode((text + padding).encode("ascii"))
