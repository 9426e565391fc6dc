"""Fixtures of the Celery tests: one PostgreSQL database, the broker, and real workers.

The workers are started once per test session (per xdist worker) because a worker takes a
second or two to start; tests share the database and tell their runs apart by run_id.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

import tests.celery.sample_tasks  # noqa: F401  (declares the tasks in the test process too)
from taskrun_center.config import get_settings
from taskrun_center.runners.celery import create_app
from taskrun_center.runners.celery.execution import RunMessage
from taskrun_center.runners.recording import database_for, default_database
from taskrun_center.storage.engine import Database
from tests.celery.workers import WorkerProcess, start_worker, worker_env
from tests.conftest import TEMPLATE_DATABASE
from tests.support.servers import PostgresServer, RedisServer

PREFORK_PROCESSES = 3


@pytest.fixture(scope="session")
def celery_database_url(postgres_server: PostgresServer) -> str:
    """A migrated PostgreSQL database that the workers of this session record into."""
    name = f"taskrun_celery_{os.getpid()}"
    postgres_server.execute_autocommit(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    return postgres_server.url(name)


@pytest.fixture(scope="session")
def celery_database(celery_database_url: str) -> Iterator[Database]:
    """The workers' database as a ``Database`` of the test process."""
    database = Database(celery_database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def worker_logs() -> Path:
    """A folder for the workers' logs."""
    return Path(tempfile.mkdtemp(prefix="taskrun-celery-logs-"))


def _queue(role: str) -> str:
    return f"taskrun-test-{role}-{os.getpid()}"


@pytest.fixture(scope="session")
def celery_app(redis_server: RedisServer) -> Celery:
    """The application the tests send through, on the prefork workers' queue."""
    return create_app(broker_url=redis_server.url, queue=_queue("prefork"))


@pytest.fixture(scope="session")
def prefork_worker(
    celery_app: Celery, celery_database_url: str, redis_server: RedisServer, worker_logs: Path
) -> Iterator[WorkerProcess]:
    """One ``celery worker --pool=prefork`` with three worker processes."""
    env = worker_env(celery_database_url, redis_server.url, _queue("prefork"))
    worker = start_worker(
        celery_app,
        env,
        name=f"prefork-{os.getpid()}@localhost",
        log_path=worker_logs / "prefork.log",
        pool="prefork",
        concurrency=PREFORK_PROCESSES,
    )
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def solo_app(redis_server: RedisServer, request: pytest.FixtureRequest) -> Celery:
    """An application on a queue of this test only, served by ``solo_worker``."""
    return create_app(broker_url=redis_server.url, queue=_queue(request.node.name[:40]))


@pytest.fixture
def solo_worker(
    solo_app: Celery,
    celery_database_url: str,
    redis_server: RedisServer,
    worker_logs: Path,
    request: pytest.FixtureRequest,
) -> Iterator[WorkerProcess]:
    """A ``celery worker --pool=solo`` of this test only (tests may kill it)."""
    queue = solo_app.conf.task_routes["taskrun.execute_run"]["queue"]
    env = worker_env(celery_database_url, redis_server.url, queue)
    worker = start_worker(
        solo_app,
        env,
        name=f"solo-{os.getpid()}-{request.node.name[:30]}@localhost",
        log_path=worker_logs / f"solo-{request.node.name[:40]}.log",
        pool="solo",
    )
    try:
        yield worker
    finally:
        worker.stop()


class CapturingDispatcher:
    """Keep the message a ``CeleryDispatcher`` would send, for ``execute_run`` to take."""

    def __init__(self) -> None:
        self.messages: list[RunMessage] = []

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        self.messages.append(
            RunMessage(task_key, run_id, dict(arguments), trigger_source, created_by)
        )


@pytest.fixture
def worker_database(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the worker code of this process at the test's PostgreSQL database."""
    monkeypatch.setenv("TASKRUN_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    database_for.cache_clear()
    yield postgres_url
    default_database().dispose()
    get_settings.cache_clear()
    database_for.cache_clear()
