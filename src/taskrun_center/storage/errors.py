"""Translate database driver errors into ``StorageError`` at the storage boundary.

Callers above the storage layer catch ``taskrun_center.errors.StorageError`` or one of the
subclasses here, never a SQLAlchemy or driver exception. The original error stays chained as
``__cause__`` for the traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from taskrun_center.errors import StorageError
from taskrun_center.i18n import Text

# PostgreSQL's SQLSTATE for "relation does not exist".
_UNDEFINED_TABLE = "42P01"
# SQLite names the table; PostgreSQL's message quotes the relation.
_SQLITE_NO_TABLE = re.compile(r"no such table: (?:\w+\.)?(\w+)")
_POSTGRES_NO_TABLE = re.compile(r'relation "(?:\w+\.)?(\w+)" does not exist')


class DatabaseLockedError(StorageError):
    """Raised when SQLite stayed locked by another writer for longer than the busy timeout."""

    code = "STORAGE_LOCKED"

    def __init__(self, operation: str, busy_timeout_ms: int | None) -> None:
        waited = f"{busy_timeout_ms} ms" if busy_timeout_ms is not None else "the busy timeout"
        super().__init__(
            f"{operation} failed: the SQLite database was locked by another writer for longer "
            f"than {waited}; retry later, or raise TASKRUN_SQLITE_BUSY_TIMEOUT_MS"
        )
        self.operation = operation
        self.busy_timeout_ms = busy_timeout_ms


class ConnectionLostError(StorageError):
    """Raised when the database connection broke during an operation; the next one reconnects."""

    code = "STORAGE_CONNECTION_LOST"

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"{operation} failed: the database connection was lost and the transaction was "
            "rolled back; the next operation opens a new connection"
        )
        self.operation = operation


class SchemaMissingError(StorageError):
    """Raised when a table is missing: the database was never migrated or is behind.

    ``text`` is the message in both languages, for the CLI; ``str()`` is English, for logs.
    """

    code = "STORAGE_SCHEMA_MISSING"

    def __init__(self, operation: str, table: str | None) -> None:
        self.operation = operation
        self.table = table
        named = table or "?"
        self.text = Text(
            f"数据库中没有表 {named}：表结构尚未创建或不是最新版本。"
            f"请运行 taskrun db upgrade（或 scripts/start）后重试。（操作：{operation}）",
            f"{operation} failed: the database has no table {named}, so its schema was never "
            "created or is out of date; run taskrun db upgrade (or scripts/start) and retry.",
        )
        super().__init__(self.text.en)

    def render(self, language: str) -> str:
        """Return the message in ``language`` (Chinese unless it is English)."""
        return self.text.render(language)

    def __reduce__(self) -> tuple[type[SchemaMissingError], tuple[str, str | None]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.operation, self.table)


def missing_table(error: BaseException) -> str | None:
    """Return the missing table's name when ``error`` reports one ("" when unnamed), else None."""
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    original = error.orig
    text = str(original)
    if isinstance(error, sa_exc.OperationalError) and "no such table" in text:
        match = _SQLITE_NO_TABLE.search(text)
        return match.group(1) if match else ""
    if getattr(original, "sqlstate", None) == _UNDEFINED_TABLE:
        match = _POSTGRES_NO_TABLE.search(text)
        return match.group(1) if match else ""
    return None


def is_sqlite_locked(error: BaseException) -> bool:
    """Return True when ``error`` is SQLite's "database is locked" (or "busy") failure."""
    if not isinstance(error, sa_exc.OperationalError):
        return False
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


def to_storage_error(
    error: sa_exc.SQLAlchemyError, operation: str, *, busy_timeout_ms: int | None = None
) -> StorageError:
    """Build the ``StorageError`` that describes ``error``; the caller raises it ``from error``."""
    if is_sqlite_locked(error):
        return DatabaseLockedError(operation, busy_timeout_ms)
    table = missing_table(error)
    if table is not None:
        return SchemaMissingError(operation, table or None)
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return ConnectionLostError(operation)
    # The driver's first line names the failure (constraint, syntax, type) without the
    # statement or its parameters, which could carry item data.
    detail = str(getattr(error, "orig", None) or error).splitlines()[0]
    return StorageError(f"{operation} failed: {type(error).__name__}: {detail}")


@contextmanager
def translate_errors(operation: str, *, busy_timeout_ms: int | None = None) -> Iterator[None]:
    """Re-raise SQLAlchemy and driver errors inside the block as ``StorageError``.

    Raises:
        DatabaseLockedError: SQLite stayed locked beyond the busy timeout.
        ConnectionLostError: the connection broke; the pool reconnects on the next checkout.
        SchemaMissingError: a table is missing; the database needs ``taskrun db upgrade``.
        StorageError: any other database failure.
    """
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise to_storage_error(error, operation, busy_timeout_ms=busy_timeout_ms) from error
