"""One scheduler leader per database: the lock, and the ``scheduler_leader`` record.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection kept open
while leading. SQLite: an OS file lock (``filelock``) on a file next to the database file. In
both cases the operating system or the server releases the lock when the leader's process
dies, so a waiting replica acquires it at its next attempt.

The record in ``scheduler_leader`` is for people (``taskrun scheduler status``): holder host,
pid, since when, an epoch that grows by one at every takeover, and the jobs' next fire times.
Only the lock decides who leads, and only the process holding the lock writes the record.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
from filelock import FileLock, Timeout
from sqlalchemy import Connection, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from taskrun_center.errors import ConfigurationError
from taskrun_center.i18n import Text
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import SchedulerLeader
from taskrun_center.storage.types import utcnow

logger = structlog.get_logger(__name__)

DEFAULT_LEADER_NAME = "default"


@dataclass(frozen=True)
class Holder:
    """This scheduler process, as the leader record names it."""

    holder_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)


@dataclass(frozen=True)
class LeaderRecord:
    """The stored leader of one scheduler name."""

    name: str
    epoch: int
    holder_id: str
    host: str
    pid: int
    since: datetime
    renewed_at: datetime
    jobs: list[dict[str, Any]]

    @property
    def released(self) -> bool:
        """True when the last leader stopped cleanly and no replica has taken over since."""
        return self.holder_id == ""


class LeaderLock(Protocol):
    """A lock that at most one process holds, released by the system when that process dies."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free and return whether this process has it, without waiting."""
        ...

    def is_held(self) -> bool:
        """Return True while this process still holds the lock."""
        ...

    def release(self) -> None:
        """Give the lock up (nothing happens when it is not held)."""
        ...


def lock_key(name: str) -> int:
    """Return the signed 64-bit advisory lock key of scheduler ``name``."""
    digest = hashlib.sha256(f"taskrun_center.scheduler:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAdvisoryLock:
    """``pg_try_advisory_lock`` held on a dedicated connection for as long as this leads."""

    def __init__(self, database: Database, name: str) -> None:
        self.database = database
        self.key = lock_key(name)
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is not None:
            return True
        connection = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            acquired = bool(
                connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            )
        except SQLAlchemyError:
            connection.close()
            raise
        if not acquired:
            connection.close()
            return False
        self._connection = connection
        return True

    def is_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            # A session-level lock lasts as long as the session, so a live session still has it.
            self._connection.scalar(text("SELECT 1"))
        except SQLAlchemyError as error:
            logger.warning("leader_lock_connection_lost", error=str(error).splitlines()[0])
            self._discard()
            return False
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError as error:
            # Closing the connection below ends the session, which releases the lock anyway.
            logger.warning("leader_lock_release_failed", error=str(error).splitlines()[0])
        self._discard()

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except SQLAlchemyError:
                pass


class InMemoryDatabaseError(ConfigurationError):
    """Raised when the scheduler is given an in-memory SQLite database; ``text`` has both."""

    text = Text(
        "调度器需要 SQLite 数据库文件（或 PostgreSQL），不能用内存数据库，"
        "因为各副本靠数据库文件旁的锁文件选出主调度器。",
        "the scheduler needs a SQLite database file (or PostgreSQL), not an in-memory "
        "database, because replicas elect their leader with a lock file next to it",
    )

    def __init__(self) -> None:
        super().__init__(self.text.en)


class SqliteFileLock:
    """An exclusive OS lock on ``<database file>.scheduler-<name>.lock``."""

    def __init__(self, database: Database, name: str) -> None:
        database_file = make_url(database.url).database
        if not database_file or database_file == ":memory:":
            raise InMemoryDatabaseError
        self.path = Path(f"{database_file}.scheduler-{name}.lock")
        self._lock = FileLock(str(self.path), timeout=0, thread_local=False)

    def try_acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def is_held(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)


def lock_for(database: Database, name: str = DEFAULT_LEADER_NAME) -> LeaderLock:
    """Return the leader lock that fits the database's backend.

    Raises:
        ConfigurationError: a SQLite database without a file.
    """
    if database.is_sqlite:
        return SqliteFileLock(database, name)
    return PostgresAdvisoryLock(database, name)


def claim_leadership(
    database: Database, name: str, holder: Holder, jobs: list[dict[str, Any]]
) -> int:
    """Record ``holder`` as the leader of ``name`` with the next epoch; return the epoch.

    Call only while holding the lock: the epoch is read and written back, which is safe
    because no other process writes the record without the lock.

    Raises:
        StorageError: the database failed.
    """
    now = utcnow()
    with database.transaction("record scheduler leader") as session:
        row = session.get(SchedulerLeader, name)
        if row is None:
            row = SchedulerLeader(name=name, epoch=0)
            session.add(row)
        row.epoch = (row.epoch or 0) + 1
        row.holder_id = holder.holder_id
        row.host = holder.host[:255]
        row.pid = holder.pid
        row.since = now
        row.renewed_at = now
        row.jobs_json = jobs
        session.flush()
        return int(row.epoch)


def renew_leadership(
    database: Database, name: str, holder: Holder, jobs: list[dict[str, Any]]
) -> bool:
    """Refresh ``renewed_at`` and the jobs' next fire times; False when another holder wrote.

    Raises:
        StorageError: the database failed.
    """
    with database.transaction("renew scheduler leader") as session:
        result = session.execute(
            update(SchedulerLeader)
            .where(SchedulerLeader.name == name, SchedulerLeader.holder_id == holder.holder_id)
            .values(renewed_at=utcnow(), jobs_json=jobs)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release_leadership(database: Database, name: str, holder: Holder) -> None:
    """Mark the record as released by ``holder`` (empty ``holder_id``) after a clean stop.

    ``taskrun scheduler status`` then reports that no replica leads, instead of waiting for
    the record to go stale.

    Raises:
        StorageError: the database failed.
    """
    with database.transaction("release scheduler leader") as session:
        session.execute(
            update(SchedulerLeader)
            .where(SchedulerLeader.name == name, SchedulerLeader.holder_id == holder.holder_id)
            .values(holder_id="", renewed_at=utcnow())
        )


def read_leader(database: Database, name: str = DEFAULT_LEADER_NAME) -> LeaderRecord | None:
    """Return the stored leader of scheduler ``name``, or None when none ever led.

    Raises:
        StorageError: the database failed.
    """
    with translate_errors("read scheduler leader"), database.session() as session:
        row = session.scalar(select(SchedulerLeader).where(SchedulerLeader.name == name))
        if row is None:
            return None
        return LeaderRecord(
            name=row.name,
            epoch=int(row.epoch),
            holder_id=row.holder_id,
            host=row.host,
            pid=row.pid,
            since=row.since,
            renewed_at=row.renewed_at,
            jobs=list(row.jobs_json or []),
        )
