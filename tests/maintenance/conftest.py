"""Fixtures shared by the maintenance tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskrun_center.storage.engine import Database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database, SQLite and PostgreSQL, disposed after the test."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()
