"""``taskrun run --enqueue``: run-now from the command line through the Celery workers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from celery import Celery
from typer.testing import CliRunner

from taskrun_center.cli.app import app as cli_app
from taskrun_center.config import get_settings
from taskrun_center.runners.celery.app import default_app
from taskrun_center.states import RUN_TERMINAL, RunStatus
from taskrun_center.storage.engine import Database
from tests.celery.rows import find_run
from tests.celery.workers import WorkerProcess, wait_for


@pytest.fixture
def celery_settings(celery_app: Celery, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point this process's settings at the test broker and the prefork workers' queue."""
    monkeypatch.setenv("TASKRUN_CELERY_BROKER_URL", celery_app.conf.broker_url)
    monkeypatch.setenv("TASKRUN_CELERY_QUEUE",
                       celery_app.conf.task_routes["taskrun.execute_run"]["queue"])
    monkeypatch.setenv("TASKRUN_TASK_MODULES", "tests.celery.sample_tasks")
    get_settings.cache_clear()
    default_app.cache_clear()
    yield
    get_settings.cache_clear()
    default_app.cache_clear()


@pytest.mark.usefixtures("celery_settings")
def test_run_enqueue_returns_pending_run(
    prefork_worker: WorkerProcess, celery_database: Database, celery_database_url: str
) -> None:
    """The command returns the pending run's id at once; a worker then completes that run."""
    result = CliRunner().invoke(
        cli_app,
        ["run", "celery_slow", "--enqueue", "--arg", "count=2", "--arg", "delay=0",
         "--database-url", celery_database_url, "--format", "json"],
    )

    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["status"] == "pending"
    run = wait_for(
        lambda: find_run(celery_database, output["run_id"]),
        lambda run: run is not None and run.status in RUN_TERMINAL,
        what="the enqueued run to end",
    )
    assert run is not None
    assert run.status == RunStatus.COMPLETED.value
    assert run.trigger_source == "cli"
    assert run.progress_completed == 2
