"""Apply, revert and inspect schema migrations from Python (``taskrun db`` calls these).

The Alembic environment ships inside the package (``storage/migrations``), so migrations work
from an installed package in any working directory, without an ``alembic.ini``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from functools import cache
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url

from taskrun_center.errors import StorageError
from taskrun_center.storage.engine import create_engine_for
from taskrun_center.storage.errors import ForeignTablesError, translate_errors
from taskrun_center.storage.models import Base

logger = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option, because ini interpolation would read every
    # "%" in a URL-encoded password as a placeholder.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head", *, allow_other_tables: bool = False) -> None:
    """Migrate the database at ``url`` forward to ``revision`` (the newest by default).

    A SQLite file that has another program's tables and none of this schema is refused
    unless ``allow_other_tables``: a mistyped URL would otherwise add the tables to that
    program's database and switch it to WAL mode. A PostgreSQL database is often shared by
    several programs, so it is never refused.

    Raises:
        ForeignTablesError: the SQLite file has other tables only; nothing was changed.
        StorageError: the revision is unknown or the database failed; nothing of the failing
            revision stays applied, because each revision runs in one transaction.
    """
    if not allow_other_tables:
        _check_file_is_ours(url)
    logger.info("migration_upgrade_started", revision=revision)
    with translate_errors(f"upgrade to revision {revision}"), _alembic_errors(revision):
        command.upgrade(_config(url), revision)
    logger.info("migration_upgrade_finished", revision=revision, current=current(url))


def _check_file_is_ours(url: str) -> None:
    """Raise ForeignTablesError when the SQLite file at ``url`` has objects but not our schema.

    Ours means an ``alembic_version`` table beside ``task_runs``: another program that uses
    Alembic has the first without the second. Any other table, view or trigger (``sqlite_sequence``
    and ``sqlite_stat1`` included: they come from another program's tables) is foreign.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    engine = create_engine_for(url)
    try:
        with translate_errors("read the schema revision"), engine.connect() as connection:
            present = set(connection.exec_driver_sql(
                "SELECT name FROM sqlite_master "
                "WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite_autoindex%'"
            ).scalars())
            # ``taskrun db downgrade base`` leaves the revision table, empty.
            reverted = present == {"alembic_version"} and not connection.exec_driver_sql(
                "SELECT count(*) FROM alembic_version").scalar()
    finally:
        engine.dispose()
    if not present or reverted or {"alembic_version", "task_runs"} <= present:
        return
    raise ForeignTablesError(_sqlite_path(parsed.database or ""), sorted(present))


def _sqlite_path(database: str) -> str:
    # A URI filename (sqlite:///file:x.db?mode=ro&uri=true) names the file after "file:".
    path = database.removeprefix("file:").split("?", 1)[0]
    return str(Path(path).resolve())


def downgrade(url: str, revision: str) -> None:
    """Revert the database at ``url`` to ``revision`` (``base`` drops every table and its data).

    Raises:
        StorageError: the revision is unknown or the database failed.
    """
    logger.info("migration_downgrade_started", revision=revision)
    with translate_errors(f"downgrade to revision {revision}"), _alembic_errors(revision):
        command.downgrade(_config(url), revision)
    logger.info("migration_downgrade_finished", revision=revision, current=current(url))


def current(url: str) -> str | None:
    """Return the revision the database at ``url`` is at, or None before the first upgrade.

    Raises:
        StorageError: the database cannot be read.
    """
    engine = create_engine_for(url)
    try:
        with translate_errors("read the schema revision"), engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """Return the newest revision shipped with this package."""
    newest = _scripts().get_current_head()
    if newest is None:
        raise StorageError(f"no migration revisions found in {MIGRATIONS_DIR}")
    return newest


class SchemaState(StrEnum):
    """The result of comparing a database's schema revision with this package's revisions."""

    CURRENT = "current"
    MISSING = "missing"  # never migrated: no revision recorded
    OUTDATED = "outdated"  # an older revision of this package, fixed by ``taskrun db upgrade``
    NEWER = "newer"  # a revision this package does not know, from a newer release
    TABLES_MISSING = "tables_missing"  # the newest revision, but a table was dropped by hand


def schema_state(connection: Connection) -> SchemaState:
    """Compare the revision recorded in the database behind ``connection`` with ``head()``.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database cannot be read.
    """
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        return SchemaState.MISSING
    if revision == head():
        present = set(inspect(connection).get_table_names())
        missing = set(Base.metadata.tables) - present
        return SchemaState.TABLES_MISSING if missing else SchemaState.CURRENT
    return SchemaState.OUTDATED if is_known_revision(revision) else SchemaState.NEWER


def is_known_revision(revision: str) -> bool:
    """Return True when ``revision`` ships with this package (False: from a newer release)."""
    return revision in known_revisions()


def known_revisions() -> list[str]:
    """Return the revisions that ship with this package, oldest first."""
    return [script.revision for script in reversed(list(_scripts().walk_revisions()))]


@cache
def _scripts() -> ScriptDirectory:
    # The revision files ship with the package and never change while it runs.
    return ScriptDirectory.from_config(_config(""))


@contextmanager
def _alembic_errors(revision: str) -> Iterator[None]:
    """Turn Alembic's command errors (such as an unknown revision) into ``StorageError``."""
    try:
        yield
    except CommandError as error:
        raise StorageError(f"migration to revision {revision!r} failed: {error}") from error
