"""Which dispatcher run-now and the scheduler use, by the TASKRUN_CELERY_ENABLED setting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from taskrun_center.config import get_settings
from taskrun_center.runners.celery import CeleryDispatcher
from taskrun_center.runners.dispatch import (
    InlineDispatcher,
    ThreadDispatcher,
    default_dispatcher_for,
    scheduler_dispatcher_for,
)
from taskrun_center.storage.engine import Database


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    """The test's migrated SQLite database."""
    database = Database(sqlite_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def celery_enabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Turn TASKRUN_CELERY_ENABLED on for this test."""
    monkeypatch.setenv("TASKRUN_CELERY_ENABLED", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_dispatchers_without_celery_stay_local(sqlite_database: Database) -> None:
    """Without the setting run-now uses threads and the scheduler runs jobs itself."""
    assert isinstance(default_dispatcher_for(sqlite_database), ThreadDispatcher)
    assert isinstance(scheduler_dispatcher_for(sqlite_database), InlineDispatcher)


@pytest.mark.usefixtures("celery_enabled")
def test_dispatchers_with_celery_send_to_queue(sqlite_database: Database) -> None:
    """With the setting both run-now and the scheduler send runs to Celery."""
    assert isinstance(default_dispatcher_for(sqlite_database), CeleryDispatcher)
    assert isinstance(scheduler_dispatcher_for(sqlite_database), CeleryDispatcher)
