"""Cancel revokes the Celery task; a worker killed mid-run leaves a run the reaper ends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery

from taskrun_center.config import get_settings
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.maintenance.reaper import reap_runs
from taskrun_center.runners.celery import CeleryDispatcher, revoke_run
from taskrun_center.runners.celery.app import default_app
from taskrun_center.runners.dispatch import (
    default_dispatcher_for,
    enqueue_run,
    revoke_dispatched_run,
)
from taskrun_center.states import RUN_TERMINAL, RunStatus
from taskrun_center.storage.engine import Database
from tests.celery.rows import find_run, load_items, load_run
from tests.celery.workers import WorkerProcess, wait_for

REAP_TIMEOUT = timedelta(seconds=3)


def _cancel(database: Database, run_id: str) -> bool:
    with database.transaction("cancel in test") as session:
        return TaskRunsWriteService(session).cancel_run(run_id)


def _completed_items(database: Database, run_id: str) -> int:
    return load_run(database, run_id).progress_completed


def test_cancel_stops_running_task_between_items(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """The task stops at its next item; later items stay cancelled."""
    run_id = enqueue_run(
        "celery_slow",
        database=celery_database,
        dispatcher=CeleryDispatcher(celery_app),
        arguments={"count": 200, "delay": 0.05},
    )
    wait_for(lambda: _completed_items(celery_database, run_id), lambda done: done >= 3,
             what="three items to complete")

    assert _cancel(celery_database, run_id)
    assert revoke_run(run_id, celery_app)

    wait_for(prefork_worker.log_text, lambda text: _logged(text, "run_cancelled_stopped", run_id),
             what="the task to stop")
    run = load_run(celery_database, run_id)
    assert run.status == RunStatus.CANCELLED.value
    statuses = [item.status for item in load_items(celery_database, run_id)]
    assert statuses.count("completed") < 200
    assert statuses.count("cancelled") > 0
    assert "running" not in statuses
    assert "pending" not in statuses


def _logged(log_text: str, phrase: str, run_id: str) -> bool:
    return any(phrase in line and run_id in line for line in log_text.splitlines())


def test_cancel_before_start_discards_message(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database, tmp_path: Path
) -> None:
    """A revoked message that waits for its countdown is dropped; the task never starts."""
    marker = tmp_path / "started"
    run_id = enqueue_run(
        "celery_slow",
        database=celery_database,
        dispatcher=CeleryDispatcher(celery_app, countdown=2),
        arguments={"count": 1, "delay": 0, "marker_path": str(marker)},
    )

    assert _cancel(celery_database, run_id)
    assert revoke_run(run_id, celery_app)

    wait_for(prefork_worker.log_text,
             lambda text: _logged(text, "Discarding revoked task", run_id),
             what="the worker to discard the revoked message")
    run = load_run(celery_database, run_id)
    assert run.status == RunStatus.CANCELLED.value
    assert run.heartbeat_at is None
    assert not marker.exists()


def test_enabled_setting_uses_celery(
    celery_app: Celery,
    prefork_worker: WorkerProcess,
    celery_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With TASKRUN_CELERY_ENABLED the default dispatcher and the cancel hook use Celery."""
    broker = celery_app.conf.broker_url
    queue = celery_app.conf.task_routes["taskrun.execute_run"]["queue"]
    monkeypatch.setenv("TASKRUN_CELERY_ENABLED", "true")
    monkeypatch.setenv("TASKRUN_CELERY_BROKER_URL", broker)
    monkeypatch.setenv("TASKRUN_CELERY_QUEUE", queue)
    get_settings.cache_clear()
    default_app.cache_clear()
    try:
        assert isinstance(default_dispatcher_for(celery_database), CeleryDispatcher)
        run_id = enqueue_run(
            "celery_slow", database=celery_database, arguments={"count": 400, "delay": 0.05}
        )
        wait_for(lambda: _completed_items(celery_database, run_id), lambda done: done >= 1,
                 what="the first item to complete")
        assert _cancel(celery_database, run_id)
        revoke_dispatched_run(run_id)
        run = wait_for(
            lambda: find_run(celery_database, run_id),
            lambda run: run is not None and run.status in RUN_TERMINAL,
            what="the run to end",
        )
        assert run is not None
        assert run.status == RunStatus.CANCELLED.value
        assert run.trigger_source == "manual"
    finally:
        get_settings.cache_clear()
        default_app.cache_clear()


def test_sigkill_of_worker_leaves_run_for_reaper(
    solo_app: Celery, solo_worker: WorkerProcess, celery_database: Database
) -> None:
    """Heartbeats stop with the worker; the reaper then fails the run and its open items."""
    run_id = enqueue_run(
        "celery_slow",
        database=celery_database,
        dispatcher=CeleryDispatcher(solo_app),
        arguments={"count": 600, "delay": 0.05},
    )
    wait_for(lambda: _completed_items(celery_database, run_id), lambda done: done >= 2,
             what="two items to complete")
    assert run_id not in reap_runs(celery_database, timeout=REAP_TIMEOUT).run_ids

    solo_worker.kill()

    result = wait_for(
        lambda: reap_runs(celery_database, timeout=REAP_TIMEOUT),
        lambda result: run_id in result.run_ids,
        timeout=30,
        what="the reaper to fail the silent run",
    )
    assert run_id in result.run_ids
    run = load_run(celery_database, run_id)
    assert run.status == RunStatus.FAILED.value
    assert run.error_message is not None
    statuses = {item.status for item in load_items(celery_database, run_id)}
    assert statuses <= {"completed", "failed"}
    assert "failed" in statuses
