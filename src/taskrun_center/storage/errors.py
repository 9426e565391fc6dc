"""Translate database driver errors into ``StorageError`` at the storage boundary.

Callers above the storage layer catch ``taskrun_center.errors.StorageError`` or one of the
subclasses here, never a SQLAlchemy or driver exception. The original error stays chained as
``__cause__`` for the traceback.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, ExceptionContext

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


class UnreachableReason(StrEnum):
    """Cause of a connection to the database that could not be opened."""

    REFUSED = "refused"
    HOST_UNKNOWN = "host_unknown"
    AUTHENTICATION_FAILED = "authentication_failed"
    DATABASE_MISSING = "database_missing"
    TIMED_OUT = "timed_out"
    FILE_UNOPENABLE = "file_unopenable"
    OTHER = "other"


# The failure in plain words and the next step, for each reason. ``{detail}`` is the driver's
# first line, which is English in both languages.
_REASONS: dict[UnreachableReason, tuple[Text, Text]] = {
    UnreachableReason.REFUSED: (
        Text("连接被拒绝，该主机和端口上没有数据库服务在监听",
             "the connection was refused, so no database server listens on that host and port"),
        Text("请启动数据库服务，或检查 TASKRUN_DATABASE_URL / --database-url 中的主机和端口。",
             "Start the database server, or check the host and port in TASKRUN_DATABASE_URL / "
             "--database-url."),
    ),
    UnreachableReason.HOST_UNKNOWN: (
        Text("无法解析主机名", "the host name could not be resolved"),
        Text("请检查 TASKRUN_DATABASE_URL / --database-url 中的主机名。",
             "Check the host name in TASKRUN_DATABASE_URL / --database-url."),
    ),
    UnreachableReason.AUTHENTICATION_FAILED: (
        Text("服务器拒绝了登录（身份验证失败）",
             "the server rejected the login (authentication failed)"),
        Text("请检查 TASKRUN_DATABASE_URL / --database-url 中的用户名和密码。",
             "Check the user name and password in TASKRUN_DATABASE_URL / --database-url."),
    ),
    UnreachableReason.DATABASE_MISSING: (
        Text("服务器上没有这个数据库", "the server has no database of that name"),
        Text("请先在服务器上创建该数据库（例如用 createdb），再运行 taskrun db upgrade；"
             "或检查 TASKRUN_DATABASE_URL / --database-url 中的数据库名。",
             "Create the database on the server (for example with createdb), then run "
             "taskrun db upgrade; or check the database name in TASKRUN_DATABASE_URL / "
             "--database-url."),
    ),
    UnreachableReason.TIMED_OUT: (
        Text("连接超时", "the connection timed out"),
        Text("请确认数据库服务已启动且本机可以访问，"
             "并检查 TASKRUN_DATABASE_URL / --database-url 中的主机和端口。",
             "Check that the database server is running and reachable from this machine, "
             "and check the host and port in TASKRUN_DATABASE_URL / --database-url."),
    ),
    UnreachableReason.FILE_UNOPENABLE: (
        Text("无法打开 SQLite 数据库文件", "the SQLite database file cannot be opened"),
        Text("请确认该路径是文件而不是文件夹、所在文件夹存在且可写，"
             "或检查 TASKRUN_DATABASE_URL / --database-url。",
             "Check that the path is a file, not a folder, and that its folder exists and is "
             "writable, or check TASKRUN_DATABASE_URL / --database-url."),
    ),
    UnreachableReason.OTHER: (
        Text("{detail}", "{detail}"),
        Text("请启动数据库服务，或检查 TASKRUN_DATABASE_URL / --database-url。",
             "Start the database server, or check TASKRUN_DATABASE_URL / --database-url."),
    ),
}
_UNREACHABLE = Text("无法连接数据库 {database}：{reason}。{advice}",
                    "cannot connect to the database {database}: {reason}. {advice}")
_UNREACHABLE_UNNAMED = Text("无法连接数据库：{reason}。{advice}",
                            "cannot connect to the database: {reason}. {advice}")
_OTHER_IN_LOG = Text("驱动程序报告了其他错误，详情见服务器日志",
                     "the driver reported another error, written to the server log")
_OPERATION_FAILED = Text("{operation}失败：{problem}", "{operation} failed: {problem}")


class DatabaseUnreachableError(StorageError):
    """Raised when no connection to the database could be opened at all.

    Unlike ``ConnectionLostError``, the work never reached the database: the server is down or
    unknown, it rejected the login or has no such database, or the SQLite file cannot be
    opened. ``database`` is ``host:port/dbname`` (the SQLite file's path), never with the user
    name or password. ``str()`` is English, for logs.
    """

    code = "STORAGE_UNREACHABLE"

    def __init__(
        self, operation: str, database: str, reason: UnreachableReason, detail: str = ""
    ) -> None:
        self.operation = operation
        self.database = database
        self.reason = reason
        self.detail = detail
        super().__init__(self.render("en"))

    def render_problem(self, language: str, *, show_address: bool = True) -> str:
        """Return what failed and the next step in ``language``, without the operation.

        Without ``show_address`` the message leaves out the database's address and the
        driver's text, which names the host too. The API uses that form, because any client
        reads it.
        """
        problem = self._problem(language, show_address=show_address)
        return problem[:1].upper() + problem[1:]

    def render(self, language: str, *, operation: str | None = None) -> str:
        """Return the message in ``language``, naming ``operation`` (the stored one by default)."""
        return _OPERATION_FAILED.render(
            language,
            operation=self.operation if operation is None else operation,
            problem=self._problem(language),
        )

    def _problem(self, language: str, *, show_address: bool = True) -> str:
        reason, advice = _REASONS[self.reason]
        if not show_address:
            if self.reason is UnreachableReason.OTHER:
                reason = _OTHER_IN_LOG
            return _UNREACHABLE_UNNAMED.render(
                language, reason=reason.render(language), advice=advice.render(language)
            )
        return _UNREACHABLE.render(
            language,
            database=self.database,
            reason=reason.render(language, detail=self.detail or "?"),
            advice=advice.render(language),
        )

    def __reduce__(
        self,
    ) -> tuple[type[DatabaseUnreachableError], tuple[str, str, UnreachableReason, str]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.operation, self.database, self.reason, self.detail)


class DatabaseFileInvalidError(StorageError):
    """Raised when the SQLite file is not a database, or is a damaged one.

    ``damaged`` is True for SQLite's "database disk image is malformed". ``str()`` is English,
    for logs. ``render`` returns the message in the CLI's language.
    """

    code = "STORAGE_FILE_INVALID"

    def __init__(self, operation: str, path: str, damaged: bool) -> None:
        self.operation = operation
        self.path = path
        self.damaged = damaged
        super().__init__(self.render("en"))

    def render(self, language: str, *, operation: str | None = None) -> str:
        """Return the message in ``language``, naming ``operation`` (the stored one by default)."""
        problem = _DAMAGED_FILE if self.damaged else _NOT_A_DATABASE
        return _OPERATION_FAILED.render(
            language,
            operation=self.operation if operation is None else operation,
            problem=problem.render(language, path=self.path),
        )

    def __reduce__(self) -> tuple[type[DatabaseFileInvalidError], tuple[str, str, bool]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.operation, self.path, self.damaged)


class ForeignTablesError(StorageError):
    """Raised by ``upgrade`` for a SQLite file that has other tables and none of this schema.

    ``text`` is the message in both languages, for the CLI; ``str()`` is English, for logs.
    """

    code = "STORAGE_FOREIGN_TABLES"

    def __init__(self, path: str, tables: list[str]) -> None:
        self.path = path
        self.tables = tables
        # Another program chose these names: one with a control character is shown escaped.
        names_shown = ", ".join(name if name.isprintable() else ascii(name)
                          for name in tables[:_FOREIGN_TABLES_SHOWN])
        if len(tables) > _FOREIGN_TABLES_SHOWN:
            names_shown += ", …"
        params = {"path": path, "tables": names_shown}
        self.text = Text(_FOREIGN_TABLES.zh.format(**params), _FOREIGN_TABLES.en.format(**params))
        super().__init__(self.text.en)

    def __reduce__(self) -> tuple[type[ForeignTablesError], tuple[str, list[str]]]:
        return type(self), (self.path, self.tables)


# Table names of another program quoted in the message, so that a user recognises the file.
_FOREIGN_TABLES_SHOWN = 3
_FOREIGN_TABLES = Text(
    "SQLite 文件 {path} 已有其他程序的表（{tables}），但没有 TaskRun Center 的表。"
    "请检查 TASKRUN_DATABASE_URL / --database-url 是否指向了别的数据库；若确实要把 TaskRun "
    "Center 的表加进这个文件，请运行 taskrun db upgrade --allow-other-tables（文件会切换为 "
    "WAL 模式）。",
    "The SQLite file {path} holds tables of another program ({tables}) and none of "
    "TaskRun Center. Check that TASKRUN_DATABASE_URL / --database-url names the right "
    "database; to add TaskRun Center's tables to this file anyway, run taskrun db upgrade "
    "--allow-other-tables (the file then switches to WAL mode).",
)


_NOT_A_DATABASE = Text(
    "SQLite 文件 {path} 不是数据库文件。请检查 TASKRUN_DATABASE_URL / --database-url "
    "是否指向正确的文件；要新建数据库，请指定一个尚不存在的文件，再运行 taskrun db upgrade。",
    "the SQLite file {path} is not a database. Check that TASKRUN_DATABASE_URL / "
    "--database-url names the right file; for a new database, name a file that does not exist "
    "yet and run taskrun db upgrade.",
)
_DAMAGED_FILE = Text(
    "SQLite 文件 {path} 已损坏（database disk image is malformed）。请从备份恢复该文件；"
    "sqlite3 命令的 PRAGMA integrity_check 可列出损坏之处。",
    "the SQLite file {path} is damaged (database disk image is malformed). Restore it from a "
    "backup; PRAGMA integrity_check in the sqlite3 shell lists what is damaged.",
)
# SQLite's result codes of a file that is not a database, or is a damaged one.
_INVALID_FILE_CODES = {sqlite3.SQLITE_NOTADB: False, sqlite3.SQLITE_CORRUPT: True}
_INVALID_FILE_ATTRIBUTE = "taskrun_invalid_file"


@dataclass(frozen=True)
class ConnectFailure:
    """Cause and address that ``record_connect_failures`` attaches to a connect error."""

    database: str
    reason: UnreachableReason
    detail: str


_CONNECT_FAILURE_ATTRIBUTE = "taskrun_connect_failure"

# psycopg 3 (checked on 3.3) gives no SQLSTATE for an error while connecting: ``sqlstate`` is
# None even when the server sent 28P01 (wrong password) or 3D000 (unknown database). A refused
# or unknown host is a plain OperationalError too, so the text is all there is to match. These
# are the English messages of libpq and the server. A server or client that translates its
# messages (lc_messages, LANG) gives OTHER, whose message keeps the driver's own first line.
_CONNECT_MESSAGES: tuple[tuple[re.Pattern[str], UnreachableReason], ...] = (
    (re.compile(r"failed to resolve host|could not translate host name"),
     UnreachableReason.HOST_UNKNOWN),
    (re.compile(r"Connection refused"), UnreachableReason.REFUSED),
    (re.compile(r'authentication failed for user|no password supplied|role "[^"]*" does not exist'),
     UnreachableReason.AUTHENTICATION_FAILED),
    (re.compile(r'database "[^"]*" does not exist'), UnreachableReason.DATABASE_MISSING),
    (re.compile(r"timeout expired"), UnreachableReason.TIMED_OUT),
)


def record_connect_failures(engine: Engine) -> None:
    """Mark the errors raised while ``engine`` opens a connection with the database's address.

    ``to_storage_error`` turns a marked error into ``DatabaseUnreachableError``. SQLAlchemy calls
    ``handle_error`` without a connection when the driver's ``connect()`` failed, which includes
    the pool replacing a connection that failed its pre-ping.
    """
    event.listen(engine, "handle_error", _mark_connect_failure)
    if engine.url.get_backend_name() == "sqlite":
        event.listen(engine, "handle_error", _mark_invalid_file)


def _mark_connect_failure(context: ExceptionContext) -> None:
    error = context.sqlalchemy_exception
    if context.connection is not None or context.is_pre_ping or context.engine is None:
        return
    if not isinstance(error, sa_exc.OperationalError):
        return
    url = context.engine.url
    reason = _unreachable_reason(context.original_exception, url)
    if reason is None:
        return
    failure = ConnectFailure(
        database=_database_address(url, context.original_exception),
        reason=reason,
        detail=_first_line_without(str(context.original_exception), url.password),
    )
    setattr(error, _CONNECT_FAILURE_ATTRIBUTE, failure)


def _mark_invalid_file(context: ExceptionContext) -> None:
    # At connect time (the first statement reads the header) or on any later read of a bad page.
    if context.engine is not None and context.sqlalchemy_exception is not None:
        mark_invalid_file(context.sqlalchemy_exception, context.original_exception,
                          context.engine.url)


def mark_invalid_file(error: BaseException, original: BaseException, url: URL) -> None:
    """Mark ``error`` when SQLite's ``original`` error reports a damaged file or no database.

    ``to_storage_error`` turns a marked error into ``DatabaseFileInvalidError``. Statements
    sent to the driver directly (``storage.driver``) never reach SQLAlchemy's ``handle_error``
    event, so they mark their errors with this too.
    """
    # Python gives the extended code (SQLITE_CORRUPT_INDEX is 779); its low byte is the primary.
    code = getattr(original, "sqlite_errorcode", None)
    damaged = _INVALID_FILE_CODES.get(code & 0xFF) if isinstance(code, int) else None
    if damaged is None:
        return
    setattr(error, _INVALID_FILE_ATTRIBUTE, (_database_address(url, original), damaged))


def _unreachable_reason(original: BaseException, url: URL) -> UnreachableReason | None:
    if url.get_backend_name() == "sqlite":
        # Other SQLite errors at connect time (a lock, a file that is not a database) keep their
        # own handling: the file was opened.
        if getattr(original, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN:
            return UnreachableReason.FILE_UNOPENABLE
        return None
    from psycopg.errors import ConnectionTimeout

    if isinstance(original, ConnectionTimeout):
        return UnreachableReason.TIMED_OUT
    text = str(original)
    for pattern, reason in _CONNECT_MESSAGES:
        if pattern.search(text):
            return reason
    return UnreachableReason.OTHER


def _database_address(url: URL, original: BaseException) -> str:
    """Return ``host:port/dbname`` (a SQLite file's absolute path), without user or password."""
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        return path if not path or path == ":memory:" else str(Path(path).absolute())
    # A URL without a host, port or name leaves them to libpq's defaults (a Unix socket, 5432,
    # the user name). The connection that failed records the values it used.
    pgconn = getattr(original, "pgconn", None)
    host = url.host or _pgconn_field(pgconn, "host") or "localhost"
    port = url.port or _pgconn_field(pgconn, "port") or 5432
    name = url.database or _pgconn_field(pgconn, "db") or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}/{name}"


def _pgconn_field(pgconn: object, name: str) -> str:
    value = getattr(pgconn, name, b"")
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _first_line_without(text: str, secret: str | None) -> str:
    """Return the first line of a driver message with ``secret`` blanked out."""
    line = text.splitlines()[0] if text else ""
    return line.replace(secret, "***") if secret else line


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
    failure = getattr(error, _CONNECT_FAILURE_ATTRIBUTE, None)
    if isinstance(failure, ConnectFailure):
        return DatabaseUnreachableError(
            operation, failure.database, failure.reason, failure.detail
        )
    invalid_file = getattr(error, _INVALID_FILE_ATTRIBUTE, None)
    if invalid_file is not None:
        return DatabaseFileInvalidError(operation, *invalid_file)
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
        DatabaseUnreachableError: no connection could be opened (on an engine from
            ``create_engine_for``, which records connect failures).
        DatabaseFileInvalidError: the SQLite file is not a database or is damaged (on such an
            engine too).
        StorageError: any other database failure.
    """
    try:
        yield
    except sa_exc.SQLAlchemyError as error:
        raise to_storage_error(error, operation, busy_timeout_ms=busy_timeout_ms) from error
