"""Session-wide servers and per-test databases.

``database_url`` is parametrised over SQLite and PostgreSQL so that one storage suite proves the
same contract on both. Each test gets an empty database with the schema applied: a new SQLite
file, or a PostgreSQL database copied from a migrated template.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import PostgresServer, RedisServer, start_postgres, start_redis

_database_numbers = itertools.count(1)
TEMPLATE_DATABASE = "taskrun_template"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster on loopback, shared by the whole test session (per xdist worker)."""
    base_dir = Path(tempfile.mkdtemp(prefix="taskrun-pg-"))
    server = start_postgres(base_dir)
    try:
        server.execute_autocommit(f"CREATE DATABASE {TEMPLATE_DATABASE}")
        _migrate(server.url(TEMPLATE_DATABASE))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server on loopback for Celery tests."""
    server = start_redis(Path(tempfile.mkdtemp(prefix="taskrun-redis-")))
    try:
        yield server
    finally:
        server.stop()


def _migrate(url: str) -> None:
    from taskrun_center.storage.migrate import upgrade

    upgrade(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file of this test."""
    url = f"sqlite:///{tmp_path / 'taskrun.db'}"
    _migrate(url)
    return url


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A migrated PostgreSQL database of this test, copied from the template."""
    name = f"taskrun_t{os.getpid()}_{next(_database_numbers)}"
    postgres_server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    return postgres_server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of this test, once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))
