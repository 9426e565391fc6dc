"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
import structlog
from sqlalchemy import JSON, ColumnElement, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from taskrun_center.contract.masking import mask_text
from taskrun_center.log_throttle import LogThrottle

logger = structlog.get_logger(__name__)

# Shared by every column and statement: a column type cannot see which row it reads.
_unreadable_warnings = LogThrottle(interval_seconds=60)


#: Key that marks a JSON column value read back from text that is not valid JSON.
INVALID_JSON_KEY = "_invalid_json"
#: Characters of the undecodable text kept, masked, in the marker's ``preview``.
INVALID_JSON_PREVIEW_CHARS = 200


def invalid_json_marker(text: str) -> dict[str, Any]:
    """Return the value that stands for undecodable stored text: a flag and a masked preview."""
    return {INVALID_JSON_KEY: True, "preview": _masked_preview(text)}


def _masked_preview(text: str) -> str:
    """Return the first ``INVALID_JSON_PREVIEW_CHARS`` of ``text`` after masking.

    Masking comes first, on a longer window, because a secret cut in two at the preview's end
    is no longer recognised (the first digits of a card number, the start of an e-mail
    address). Masks shorten the text, so the window grows until the masked text has at least
    twice the preview's length, or covers the whole text.
    """
    window = 4 * INVALID_JSON_PREVIEW_CHARS
    while True:
        masked = mask_text(text[:window]).value
        if window >= len(text) or len(masked) >= 2 * INVALID_JSON_PREVIEW_CHARS:
            return masked[:INVALID_JSON_PREVIEW_CHARS]
        window *= 4


def is_invalid_json(value: Any) -> bool:
    """Return True when ``value`` is the marker of a stored JSON text that did not decode."""
    return isinstance(value, dict) and value.get(INVALID_JSON_KEY) is True


class TolerantJson(TypeDecorator[Any]):
    """A JSON column: JSONB on PostgreSQL, JSON text on SQLite, read without raising.

    SQLite stores JSON as plain text and accepts any text in the column, so one row edited by
    hand would otherwise make every query that reads it raise ``JSONDecodeError``. Text that
    does not decode is read as ``invalid_json_marker``, which the audit reports as
    ``row.json_invalid``. Writes are unchanged. PostgreSQL's JSONB rejects invalid JSON on
    write and psycopg decodes it, so nothing changes there.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def column_expression(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # Selected as bytes on SQLite (see ``JsonAsBytes``).
        return JsonAsBytes(column)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], Any] | None:
        # The row is out of reach here, so lifecycle.serialize logs the run_id with it.
        parse = load_json_text if dialect.name == "sqlite" else super().result_processor(
            dialect, coltype
        )
        if parse is None:
            return None
        return _tolerant(parse, "stored_json_invalid", invalid_json_marker)


class JsonAsBytes(FunctionElement[Any]):
    """A selected JSON column, read as its UTF-8 bytes on SQLite and as itself elsewhere.

    The JSON decoder works on UTF-8. Read as text, each value would be decoded to ``str`` by
    the driver and encoded back by orjson. For the 21 summaries of a run list page that took
    80 µs instead of 65 µs to fetch and decode (measured once on the list benchmark's runs).
    Text that is not valid UTF-8, which SQLite accepts from a hand edit, then reads as invalid
    JSON instead of failing the query.
    """

    inherit_cache = True
    name = "json_as_bytes"

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(JsonAsBytes)
def _json_as_itself(element: JsonAsBytes, compiler: SQLCompiler, **options: Any) -> str:
    return str(compiler.process(element.clauses, **options))


@compiles(JsonAsBytes, "sqlite")
def _json_as_blob(element: JsonAsBytes, compiler: SQLCompiler, **options: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **options)} AS BLOB)"


def load_json_text(value: str | bytes | None) -> Any:
    """Decode JSON text read from SQLite, with orjson first and the ``json`` module second.

    orjson decodes a run's summary two to three times faster (measured on the benchmark's
    summaries), which matters on a list page of runs. It rejects a few texts that ``json``
    accepts (NaN, integers beyond 64 bits), so those still read as before instead of as
    invalid. Values that no response could carry are invalid: lone surrogates (they cannot be
    encoded as UTF-8) and nesting deeper than ``MAX_STORED_JSON_DEPTH``.

    Raises:
        ValueError: the text is not JSON for either, or contains such a value.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        # SQLite stores a number written by hand as a number, and a JSON number reads as one.
        return value
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        # Given bytes, ``json.loads`` would guess UTF-16, UTF-32 or a UTF-8 BOM and decode text
        # that is not UTF-8 JSON. Strict UTF-8 decoding raises UnicodeDecodeError (a ValueError).
        decoded = json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)
        # orjson rejects lone surrogates; encoding finds them (UnicodeEncodeError is a ValueError).
        json.dumps(decoded, ensure_ascii=False).encode()
    if _bracket_count(value) > MAX_STORED_JSON_DEPTH and _nested_deeper(decoded,
                                                                         MAX_STORED_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_STORED_JSON_DEPTH} levels")
    return decoded


#: Maximum nesting levels of a stored JSON value that still reads. The API's pydantic
#: serializer failed beyond about 250 levels (measured), and the contract accepts a few
#: (``max_depth``).
MAX_STORED_JSON_DEPTH = 100


def _bracket_count(text: str | bytes) -> int:
    # An upper bound of the depth that costs two C-level scans; a summary has a few dozen.
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def _nested_deeper(value: Any, limit: int) -> bool:
    """Return whether ``value`` has containers nested more than ``limit`` levels deep."""
    pending = [(value, 1)]
    while pending:
        node, level = pending.pop()
        if level > limit:
            return True
        if isinstance(node, dict):
            pending.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list):
            pending.extend((child, level + 1) for child in node)
    return False


# Every JSON column of the schema.
JsonColumn = TolerantJson()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored in UTC.

    SQLite has no time zone type, so values are stored there as naive UTC and read back with
    ``tzinfo=UTC``. Writing a naive datetime is a programming error and raises ``ValueError``:
    the write service always passes aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], Any] | None:
        # SQLite stores any text in a DATETIME column, and PostgreSQL's timestamptz accepts
        # 'infinity' and years outside 1 to 9999, so a value edited by hand would make every
        # query that reads the row raise. It reads as None, and ``taskrun audit`` names the row
        # under row.timestamp_invalid.
        parse = super().result_processor(dialect, coltype)
        if parse is None:
            return None
        if dialect.name == "sqlite":
            other_text = _tolerant(partial(_read_other_text, parse=parse),
                                   "stored_timestamp_invalid", lambda _text: None)
            return _stored_utc_first(other_text)
        if dialect.name == "postgresql":
            return _postgres_text_first(_tolerant(_read_postgres_other, "stored_timestamp_invalid",
                                                  lambda _text: None))
        return _tolerant(parse, "stored_timestamp_invalid", lambda _text: None)


# Appended to SQLite's stored timestamp text, so that the C parser returns an aware datetime.
# Calling ``datetime.replace(tzinfo=...)`` instead costs about ten times the parse (measured).
_UTC_OFFSET = "+00:00"


def _stored_utc_first(other_text: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Read the timestamp text this schema writes on SQLite with ``datetime.fromisoformat``.

    The writer stores naive UTC as ISO 8601 text, and the C parser reads it many times faster
    than SQLAlchemy's regular expression. A run list reads five timestamps per row. Any other
    text (an offset of its own, another spelling, or text that is no timestamp) goes to
    ``other_text``.
    """

    def process(value: Any) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value + _UTC_OFFSET)
        except (TypeError, ValueError):
            return other_text(value)
        # Python 3.11 drops the offset of a date without a time ("2026-05-01+00:00").
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)

    return process


def _read_other_text(value: Any, parse: Callable[[Any], Any]) -> datetime | None:
    """Read a timestamp text that is not in the stored form: ISO 8601 first, then ``parse``.

    Raises:
        ValueError, TypeError: the text is no timestamp.
        OverflowError: its offset moves it outside the years 1 to 9999.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _postgres_text_first(other: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Read timestamptz text, as psycopg passes it through (``storage.engine``), in UTC.

    psycopg's own loader raises ``DataError`` on 'infinity', '-infinity' and on years beyond
    9999 or before year 1, and one such value fails the whole query. So the engine loads
    timestamptz as text, which costs no more than psycopg's C loader, and this function parses
    it with ``datetime.fromisoformat``. PostgreSQL prints timestamptz in ISO 8601 with the
    session's offset under its default DateStyle ``ISO``. Any other value goes to ``other``.
    """

    def process(value: Any) -> datetime | None:
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except (TypeError, ValueError, OverflowError):
            return other(value)

    return process


def _read_postgres_other(value: Any) -> datetime:
    """Read a PostgreSQL value that is not a time in ISO 8601 text.

    A connection that psycopg set up without this product's engine still loads datetimes, and
    they read as they are, in UTC.

    Raises:
        ValueError: the value is text, such as 'infinity', '10000-01-01 00:00:00+00', a year
            before Christ ('… BC') or a time whose offset moves it outside the years 1 to 9999.
            Under a DateStyle other than ``ISO`` every value is such text; psycopg rejects
            that DateStyle for timestamptz too.
    """
    if not isinstance(value, datetime):
        raise ValueError("invalid timestamptz text: not a time between the years 1 and 9999")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _tolerant(
    parse: Callable[[Any], Any], event: str, fallback: Callable[[str], Any]
) -> Callable[[Any], Any]:
    """Wrap a result processor so that a value it cannot parse becomes ``fallback(text)``.

    Besides ``ValueError``, it catches ``TypeError`` (SQLite keeps a number or blob written by
    hand in any column), ``OverflowError`` (an offset moves a date past year 1 or 9999) and
    ``RecursionError`` (JSON nested deeper than the ``json`` module's recursion allows).

    The warning ``event`` goes through ``_unreadable_warnings``, so it is logged at most once a
    minute per process with the count of repeats held back, because the same bad row is read
    again on every page that shows it.
    """

    def process(value: Any) -> Any:
        try:
            return parse(value)
        except (ValueError, TypeError, OverflowError, RecursionError):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            held_back = _unreadable_warnings.due(event)
            if held_back is not None:
                logger.warning(event, chars=len(text), held_back=held_back)
            return fallback(text)

    return process


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
