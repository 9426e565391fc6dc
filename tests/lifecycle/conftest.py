"""Fixtures shared by the read service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.storage.engine import Database


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on a migrated database, SQLite and PostgreSQL."""
    database = Database(database_url)
    session = database.session()
    try:
        yield session
    finally:
        session.close()
        database.dispose()


@pytest.fixture
def service(session: Session) -> TaskRunsReadService:
    """A read service on ``session`` with a fixed cursor secret."""
    return TaskRunsReadService(session, cursor_secret="test-secret")
