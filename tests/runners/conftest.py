"""Fixtures of the runner tests: a migrated database and fast heartbeats."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskrun_center.config import get_settings
from taskrun_center.runners.loading import load_builtin_tasks
from taskrun_center.storage.engine import Database

load_builtin_tasks()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The test's migrated database (SQLite and PostgreSQL) as a ``Database``."""
    db = Database(database_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    """The test's migrated SQLite database as a ``Database``."""
    db = Database(sqlite_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """Send heartbeats every 0.1 s in this test."""
    monkeypatch.setenv("TASKRUN_HEARTBEAT_INTERVAL_SECONDS", "0.1")
    get_settings.cache_clear()
    yield 0.1
    get_settings.cache_clear()
