"""Schema migrations: upgrade, downgrade, current, and agreement with the models."""

from __future__ import annotations

import contextlib
import importlib
import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from taskrun_center.errors import StorageError
from taskrun_center.storage import migrate
from taskrun_center.storage.engine import create_engine_for
from taskrun_center.storage.errors import ForeignTablesError
from taskrun_center.storage.models import Base
from tests.support.servers import PostgresServer

PRODUCT_TABLES = {"task_runs", "task_run_items", "users", "api_tokens", "scheduler_leader"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.applymarker(pytest.mark.postgres)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"empty_{tmp_path.name.lower().replace('-', '_')[-40:]}"
    server.execute_autocommit(f"CREATE DATABASE {name}")
    yield server.url(name)


def table_names(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table(empty_url: str) -> None:
    assert migrate.current(empty_url) is None

    migrate.upgrade(empty_url)

    assert table_names(empty_url) >= PRODUCT_TABLES
    assert migrate.current(empty_url) == migrate.head()


def test_downgrade_to_base_drops_every_table(empty_url: str) -> None:
    migrate.upgrade(empty_url)

    migrate.downgrade(empty_url, "base")

    assert table_names(empty_url) & PRODUCT_TABLES == set()
    assert migrate.current(empty_url) is None


def test_upgrade_after_downgrade_restores_schema(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")

    migrate.upgrade(empty_url)

    assert table_names(empty_url) >= PRODUCT_TABLES


def test_migrated_schema_matches_models(database_url: str) -> None:
    engine = create_engine_for(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


def test_unknown_revision_raises(empty_url: str) -> None:
    with pytest.raises(StorageError) as raised:
        migrate.upgrade(empty_url, "9999")

    assert "9999" in str(raised.value)
    assert migrate.current(empty_url) is None


def test_upgrade_works_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = f"sqlite:///{tmp_path / 'any-dir.db'}"

    migrate.upgrade(url)

    assert migrate.current(url) == migrate.head()


def test_each_revision_states_why_and_locks() -> None:
    versions = migrate.MIGRATIONS_DIR / "versions"
    for path in sorted(versions.glob("[0-9]*.py")):
        module = importlib.import_module(
            f"taskrun_center.storage.migrations.versions.{path.stem}"
        )
        doc = module.__doc__ or ""

        assert "Why:" in doc, path.name
        assert "Locks:" in doc, path.name


def _statistics_names(postgres_url: str) -> set[str]:
    from sqlalchemy import text

    engine = create_engine_for(postgres_url)
    try:
        with engine.connect() as connection:
            names = connection.execute(text("SELECT stxname FROM pg_statistic_ext"))
            return set(names.scalars())
    finally:
        engine.dispose()


def test_task_category_statistics_on_postgresql(postgres_url: str) -> None:
    assert "st_task_runs_task_key_category" in _statistics_names(postgres_url)
    migrate.downgrade(postgres_url, "0004")
    assert "st_task_runs_task_key_category" not in _statistics_names(postgres_url)
    migrate.upgrade(postgres_url)
    assert "st_task_runs_task_key_category" in _statistics_names(postgres_url)


def test_status_null_statistics_on_postgresql(postgres_url: str) -> None:
    names = {"st_task_runs_status_started_at", "st_task_runs_status_completed_at",
             "st_task_runs_status_duration_ms"}

    assert names <= _statistics_names(postgres_url)
    migrate.downgrade(postgres_url, "0009")
    assert not names & _statistics_names(postgres_url)
    migrate.upgrade(postgres_url)
    assert names <= _statistics_names(postgres_url)


def test_upgrade_refuses_sqlite_file_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        connection.commit()

    with pytest.raises(ForeignTablesError) as refused:
        migrate.upgrade(f"sqlite:///{path}")

    assert refused.value.code == "STORAGE_FOREIGN_TABLES"
    assert refused.value.tables == ["notes"]
    assert migrate.current(f"sqlite:///{path}") is None
    # The error survives pickling, as errors raised in a worker process must.
    assert pickle.loads(pickle.dumps(refused.value)).tables == ["notes"]
