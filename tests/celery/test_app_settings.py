"""The Celery application built from the settings, and what item runs require of it."""

from __future__ import annotations

import pytest

from taskrun_center.errors import ConfigurationError
from taskrun_center.runners.celery import EXECUTE_RUN, create_app, enqueue_item_run
from taskrun_center.storage.engine import Database
from tests.celery.rows import runs_created_by

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def test_redis_broker_doubles_as_result_backend() -> None:
    """Without a result backend setting a Redis broker stores the chord results too."""
    app = create_app(broker_url="redis://127.0.0.1:6399/3", queue="q1")

    assert app.conf.result_backend == "redis://127.0.0.1:6399/3"
    assert app.conf.task_routes[EXECUTE_RUN] == {"queue": "q1"}
    assert app.conf.task_acks_late is False


def test_rabbitmq_broker_gets_no_result_backend() -> None:
    """RabbitMQ has no chord-capable backend of its own, so none is set."""
    app = create_app(broker_url=RABBITMQ_URL)

    assert not app.conf.result_backend


def test_item_run_without_result_backend_is_rejected(sqlite_url: str) -> None:
    """An item run on an application without a result backend stores and sends nothing."""
    app = create_app(broker_url=RABBITMQ_URL)
    database = Database(sqlite_url)
    try:
        with pytest.raises(ConfigurationError, match="TASKRUN_CELERY_RESULT_BACKEND"):
            enqueue_item_run(
                "celery_fanout", [("number", "1")], app=app, database=database,
                created_by="no-backend",
            )
        assert runs_created_by(database, "no-backend") == []
    finally:
        database.dispose()
