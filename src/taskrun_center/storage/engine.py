"""Engines and sessions for SQLite (the embedded default) and PostgreSQL.

SQLite connections run in WAL mode with a busy timeout and enforced foreign keys, set on every
new connection because these are per-connection settings. PostgreSQL pools check a connection
before use (``pool_pre_ping``), so a connection that the server dropped is replaced on the next
checkout instead of failing the next operation.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from taskrun_center.storage.errors import record_connect_failures, translate_errors

logger = structlog.get_logger(__name__)

def create_engine_for(url: str, *, busy_timeout_ms: int | None = None,
                      begin_hook: bool = True) -> Engine:
    """Create an engine for ``url`` with the settings this product relies on.

    ``busy_timeout_ms`` applies to SQLite only: how long a writer waits for another writer's
    lock before failing; ``None`` uses ``TASKRUN_SQLITE_BUSY_TIMEOUT_MS`` (5000 by default).
    On SQLite an engine's transactions start with a deferred ``BEGIN`` from an engine hook.
    With ``begin_hook=False`` the caller emits ``BEGIN`` itself, as ``Database`` does: any
    engine hook makes SQLAlchemy dispatch events around every statement. Without the hook, and
    with ``BEGIN IMMEDIATE`` sent to the driver, an item operation took 0.13 ms instead of
    0.18 ms (measured on SQLite).
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = _create_sqlite_engine(url, _busy_timeout(busy_timeout_ms))
        if begin_hook:
            event.listen(engine, "begin", _begin_deferred)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True,
                               connect_args=postgres_connect_args(url))
        if engine.dialect.driver == "psycopg":
            event.listen(engine, "connect", _load_timestamptz_as_text)
    record_connect_failures(engine)
    return engine


#: Seconds that opening a PostgreSQL connection may take. libpq sets no limit of its own, so a
#: server that accepts the connection and never replies would hold a command forever.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10


def postgres_connect_args(url: str) -> dict[str, Any]:
    """Return the driver arguments for ``url``: the connect timeout unless the URL sets one."""
    if "connect_timeout" in make_url(url).query:
        return {}
    return {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}


def _load_timestamptz_as_text(dbapi_connection: Any, _record: Any) -> None:
    """Make psycopg return timestamptz values as text, which ``UTCDateTime`` parses.

    psycopg's loader raises on 'infinity' and on years outside 1 to 9999, which a hand edit can
    store, and the error fails the whole query. Its text loader is C code too, and parsing in
    ``UTCDateTime`` replaces the conversion to UTC that ran there anyway. In a one-off
    comparison on a local PostgreSQL 15 (not a recorded benchmark), loading and converting one
    value took 250 ns instead of 300 ns. Values without that column type,
    such as those of ``text()`` queries, come back as the text itself.
    """
    # Imported here: a SQLite-only process never loads psycopg.
    from psycopg.types.string import TextLoader

    dbapi_connection.adapters.register_loader("timestamptz", TextLoader)


def _busy_timeout(busy_timeout_ms: int | None) -> int:
    if busy_timeout_ms is not None:
        return busy_timeout_ms
    from taskrun_center.config import get_settings

    return get_settings().sqlite_busy_timeout_ms


def _create_sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    # Parameters stay out of error messages: they carry item data and token hashes, and the
    # messages end up in tracebacks in the log.
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module opens transactions on its own and never for SELECT. Switching that
        # off lets ``_begin_deferred`` and ``_begin_immediate`` emit BEGIN, so reads are in the
        # transaction too.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The journal mode is stored in the file. Only a file that has this schema is
            # switched, so another program's database, or an empty file that a command opened by
            # mistake, stays as it was. ``taskrun db upgrade`` creates the schema, and the next
            # connection switches the new file.
            if _has_schema(cursor):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL keeps the database consistent after a crash; only the last
            # commits before a power loss can be lost. FULL would fsync on every commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return engine


def _begin_deferred(connection: Connection) -> None:
    """Start a SQLite read transaction, so that all reads of a unit of work use one snapshot.

    A deferred BEGIN takes no lock, so it cannot wait or fail on one. It goes to the driver
    directly because every read starts with it, and the statement machinery around it cost
    about a twentieth of a keyset page of the run list (measured on SQLite).
    """
    driver: Any = connection.connection.driver_connection  # set while checked out
    driver.execute("BEGIN")


def _begin_immediate(connection: Connection) -> None:
    """Start a SQLite write transaction that takes the write lock up front.

    A deferred transaction that reads first and writes later cannot wait for the write lock
    (SQLite reports "database is locked" at once), so write transactions take it here and wait
    up to the busy timeout instead. The driver's error is wrapped as SQLAlchemy wraps it, so
    ``translate_errors`` reports a lock held too long as ``DatabaseLockedError``.
    """
    driver: Any = connection.connection.driver_connection
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise DBAPIError.instance("BEGIN IMMEDIATE", None, error, sqlite3.Error) from error


def _session_hook(begin: Callable[[Connection], None]) -> Callable[..., None]:
    """Return an ``after_begin`` hook that starts a session's outer transaction with ``begin``.

    A savepoint (``begin_nested``) fires the hook too, inside the running transaction.
    """

    def after_begin(_session: Session, transaction: SessionTransaction,
                    connection: Connection) -> None:
        if not transaction.nested:
            begin(connection)

    return after_begin


def _has_schema(cursor: Any) -> bool:
    """Return True when the SQLite file has this schema: revisions and the runs table.

    ``alembic_version`` alone is not enough: other programs that use Alembic have it too.
    """
    found = cursor.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
        "AND name IN ('alembic_version', 'task_runs')"
    ).fetchone()
    return bool(found[0] == 2)


class Database:
    """One database: its engine, a session factory and a unit-of-work helper.

    ``url`` defaults to ``TASKRUN_DATABASE_URL`` (a SQLite file ``taskrun.db`` in the working
    directory when unset). Sessions keep loaded objects usable after commit.
    """

    def __init__(self, url: str | None = None, *, busy_timeout_ms: int | None = None) -> None:
        if url is None:
            from taskrun_center.config import get_settings

            url = get_settings().database_url
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.busy_timeout_ms = _busy_timeout(busy_timeout_ms) if self.is_sqlite else None
        self.engine = create_engine_for(url, busy_timeout_ms=self.busy_timeout_ms,
                                        begin_hook=False)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.engine, expire_on_commit=False)
        if self.is_sqlite:
            # Session hooks run once per transaction, unlike engine hooks (``create_engine_for``).
            # Write transactions start with BEGIN IMMEDIATE, reads with a deferred BEGIN.
            event.listen(self._sessions, "after_begin", _session_hook(_begin_deferred))
            event.listen(self._write_sessions, "after_begin", _session_hook(_begin_immediate))
        self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def session(self) -> Session:
        """Open a session; the caller commits or rolls back and closes it.

        On SQLite its transactions start deferred, which suits reading; write through
        ``transaction()`` so that a write waits for another writer instead of failing.
        """
        return self._sessions()

    @contextmanager
    def transaction(self, operation: str = "database transaction") -> Iterator[Session]:
        """Yield a session in a write transaction: commit on success, roll back on error.

        ``operation`` names the work in error messages.

        Raises:
            DatabaseLockedError: SQLite stayed locked by another writer beyond the busy timeout.
            ConnectionLostError: the connection broke; the next transaction reconnects.
            StorageError: any other database failure, with the driver error chained.
        """
        session = self._write_sessions()
        try:
            with translate_errors(operation, busy_timeout_ms=self.busy_timeout_ms):
                yield session
                session.commit()
        except BaseException:
            self._rollback_quietly(session, operation)
            raise
        finally:
            session.close()

    @contextmanager
    def write_connection(self, operation: str = "database transaction") -> Iterator[Connection]:
        """Yield a Core connection in a write transaction: commit on success, roll back on error.

        The same transaction as ``transaction()`` without an ORM session, which costs more than
        a short item operation on SQLite. ``TaskRunsWriteService`` accepts the connection in
        place of a session. ``operation`` names the work in error messages.

        Raises:
            DatabaseLockedError: SQLite stayed locked by another writer beyond the busy timeout.
            ConnectionLostError: the connection broke; the next transaction reconnects.
            StorageError: any other database failure, with the driver error chained.
        """
        with (
            translate_errors(operation, busy_timeout_ms=self.busy_timeout_ms),
            self.engine.begin() as connection,
        ):
            if self.is_sqlite:
                _begin_immediate(connection)
            yield connection

    @contextmanager
    def read_connection(self, operation: str = "database read") -> Iterator[Connection]:
        """Yield a Core connection in a read transaction, rolled back on exit.

        The reads of ``session()`` without an ORM session, whose begin, connection lookup and
        close cost about 0.05 ms on SQLite, a seventh of a keyset page of the run list
        (measured side by side).
        ``TaskRunsReadService`` accepts the connection in place of a session. On SQLite the
        transaction starts deferred, as a session's does. ``operation`` names the work in error
        messages.

        Raises:
            DatabaseLockedError: SQLite stayed locked by another writer beyond the busy timeout.
            ConnectionLostError: the connection broke; the next read reconnects.
            StorageError: any other database failure, with the driver error chained.
        """
        with (
            translate_errors(operation, busy_timeout_ms=self.busy_timeout_ms),
            self.engine.connect() as connection,
        ):
            # Closing the connection rolls this transaction back, so nothing written here stays.
            connection.begin()
            if self.is_sqlite:
                _begin_deferred(connection)
            yield connection

    @contextmanager
    def autocommit_connection(self, operation: str = "database statement") -> Iterator[Connection]:
        """Yield a Core connection on which each statement commits on its own.

        For work that one statement does: on PostgreSQL the statement then costs one round
        trip after the pool's ping, because no BEGIN and COMMIT are sent. On SQLite the
        connection is in a write transaction, as ``write_connection()`` yields it, which
        commits on exit. ``operation`` names the work in error messages.

        Raises:
            DatabaseLockedError: SQLite stayed locked by another writer beyond the busy timeout.
            ConnectionLostError: the connection broke; the next operation reconnects.
            StorageError: any other database failure, with the driver error chained.
        """
        if self.is_sqlite:
            with self.write_connection(operation) as connection:
                yield connection
            return
        with (
            translate_errors(operation, busy_timeout_ms=None),
            self._autocommit_engine.connect() as connection,
        ):
            yield connection

    def _rollback_quietly(self, session: Session, operation: str) -> None:
        # The original error is what the caller needs; a rollback on a dead connection
        # would only hide it.
        try:
            session.rollback()
        except Exception as error:
            logger.warning("rollback_failed", operation=operation, error=str(error))

    def dispose(self) -> None:
        """Close every pooled connection (for tests and process shutdown)."""
        self.engine.dispose()
