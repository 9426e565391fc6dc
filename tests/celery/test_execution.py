"""Runs executed by real Celery workers: pending first, then running, then their outcome."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery

from taskrun_center.runners.celery import EXECUTE_RUN, CeleryDispatcher
from taskrun_center.runners.celery.retries import retry_created_by, retry_run_id
from taskrun_center.runners.dispatch import enqueue_run
from taskrun_center.states import RUN_TERMINAL, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from tests.celery.rows import find_run, load_items, load_run, runs_created_by
from tests.celery.workers import WorkerProcess, wait_for


class StatusAtSubmitDispatcher(CeleryDispatcher):
    """A ``CeleryDispatcher`` that notes the run's stored status just before sending."""

    def __init__(self, app: Celery, database: Database) -> None:
        super().__init__(app)
        self.database = database
        self.status_at_submit: str | None = None

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        self.status_at_submit = load_run(self.database, run_id).status
        super().submit(task_key, run_id, arguments, trigger_source, created_by)


def _wait_status(database: Database, run_id: str, accept: set[str], timeout: float = 60) -> TaskRun:
    run = wait_for(
        lambda: find_run(database, run_id),
        lambda run: run is not None and run.status in accept,
        timeout=timeout,
        what=f"run {run_id} to be {sorted(accept)}",
    )
    assert run is not None
    return run


def _wait_ended(database: Database, run_id: str, timeout: float = 60) -> TaskRun:
    return _wait_status(database, run_id, {status.value for status in RUN_TERMINAL}, timeout)


def test_enqueued_run_goes_pending_running_completed(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database, tmp_path: Path
) -> None:
    """A run sent with the dispatcher is pending before the worker resumes that same run."""
    gate = tmp_path / "gate"
    dispatcher = StatusAtSubmitDispatcher(celery_app, celery_database)

    run_id = enqueue_run(
        "celery_gate",
        database=celery_database,
        dispatcher=dispatcher,
        arguments={"gate_path": str(gate), "count": 2},
        created_by="alice",
    )

    assert dispatcher.status_at_submit == RunStatus.PENDING.value
    _wait_status(celery_database, run_id, {RunStatus.RUNNING.value})
    gate.touch()
    run = _wait_ended(celery_database, run_id)
    assert run.status == RunStatus.COMPLETED.value
    assert run.trigger_source == "manual"
    assert run.created_by == "alice"
    assert run.progress_completed == 2
    item_pids = {item.metrics_json["pid"] for item in load_items(celery_database, run_id)}
    assert os.getpid() not in item_pids
    assert f"{EXECUTE_RUN}[{run_id}]" in prefork_worker.log_text()


def test_message_sent_through_celery_records_celery_trigger(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """A message sent with send_task becomes a run whose run_id is the Celery task id."""
    result = celery_app.send_task(
        EXECUTE_RUN, kwargs={"task_key": "celery_slow", "arguments": {"count": 3, "delay": 0}}
    )

    run = _wait_ended(celery_database, str(result.id))
    assert run.status == RunStatus.COMPLETED.value
    assert run.trigger_source == "celery"
    assert run.progress_completed == 3
    assert run.summary_json["ext"]["type"] == "celery_slow"


def test_task_unknown_to_worker_fails_run(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """A task key no worker module declares fails the run with the setting to fix."""
    result = celery_app.send_task(EXECUTE_RUN, kwargs={"task_key": "celery_not_declared"})

    run = _wait_ended(celery_database, str(result.id))
    assert run.status == RunStatus.FAILED.value
    assert run.error_message is not None
    assert "TASKRUN_TASK_MODULES" in run.error_message


def test_secret_in_task_exception_is_masked(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """The stored error and the worker's log keep the exception type but not its secrets."""
    run_id = enqueue_run(
        "celery_secret_failure",
        database=celery_database,
        dispatcher=CeleryDispatcher(celery_app),
    )

    run = _wait_ended(celery_database, run_id)
    assert run.status == RunStatus.FAILED.value
    assert run.error_message is not None
    assert "RuntimeError" in run.error_message
    for secret in ("hunter2secret", "s3cr3t-pass", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"):
        assert secret not in run.error_message
        assert secret not in prefork_worker.log_text()


def test_failed_run_is_retried_as_new_linked_runs(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database, tmp_path: Path
) -> None:
    """Two failures then a success give three runs; the retries point to the first one."""
    counter = tmp_path / "attempts"

    first_run_id = enqueue_run(
        "celery_flaky",
        database=celery_database,
        dispatcher=CeleryDispatcher(celery_app),
        arguments={"counter_path": str(counter), "failures": 2},
    )

    last = _wait_ended(celery_database, retry_run_id(first_run_id, 2))
    assert last.status == RunStatus.COMPLETED.value
    assert load_run(celery_database, first_run_id).status == RunStatus.FAILED.value
    retries = runs_created_by(celery_database, retry_created_by(first_run_id))
    assert [run.run_id for run in retries] == [
        retry_run_id(first_run_id, 1),
        retry_run_id(first_run_id, 2),
    ]
    assert [run.status for run in retries] == ["failed", "completed"]
    assert counter.read_text() == "3"


class TwiceDispatcher(CeleryDispatcher):
    """A ``CeleryDispatcher`` that sends every message twice, as a duplicate delivery would."""

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        super().submit(task_key, run_id, arguments, trigger_source, created_by)
        super().submit(task_key, run_id, arguments, trigger_source, created_by)


def test_duplicate_message_runs_task_once(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database, tmp_path: Path
) -> None:
    """Of two copies of one message, one claims the run and the other is dropped."""
    counter = tmp_path / "executions"

    run_id = enqueue_run(
        "celery_flaky",
        database=celery_database,
        dispatcher=TwiceDispatcher(celery_app),
        arguments={"counter_path": str(counter), "failures": 0},
    )

    wait_for(prefork_worker.log_text,
             lambda text: any("celery_message_dropped" in line and run_id in line
                              for line in text.splitlines()),
             what="the second copy to be dropped")
    run = _wait_ended(celery_database, run_id)
    assert run.status == RunStatus.COMPLETED.value
    assert counter.read_text() == "1"
