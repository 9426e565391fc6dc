"""Fixtures of the storage tests: a Database on the parametrised test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskrun_center.storage.engine import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A Database on the migrated test database (SQLite and PostgreSQL)."""
    database = Database(database_url)
    yield database
    database.dispose()
