"""Messages a worker cannot execute are dropped with an error line, never with a traceback."""

from __future__ import annotations

import uuid

import structlog
from celery import Celery

from taskrun_center.runners.celery.execution import REJECTED, RunMessage, execute_run
from taskrun_center.runners.dispatch import enqueue_run
from taskrun_center.runners.recording import default_database
from taskrun_center.states import RunStatus
from tests.celery.conftest import CapturingDispatcher
from tests.celery.rows import load_run
from tests.celery.test_round_trips import celery_five_steps  # noqa: F401 - declares the task


def test_other_tasks_run_rejected(worker_database: str) -> None:
    database = default_database()
    dispatcher = CapturingDispatcher()
    enqueue_run("celery_five_steps", database=database, dispatcher=dispatcher)
    run_id = dispatcher.messages[0].run_id
    wrong = RunMessage("task_runs_audit", run_id, {}, "api", None)

    with structlog.testing.capture_logs() as logs:
        result = execute_run(Celery(), wrong)

    assert result == {"run_id": run_id, "status": REJECTED}
    assert load_run(database, run_id).status == RunStatus.PENDING.value
    assert [entry["event"] for entry in logs if entry["log_level"] == "error"] == [
        "celery_message_rejected"
    ]


def test_invalid_task_key_rejected(worker_database: str) -> None:
    run_id = str(uuid.uuid4())

    result = execute_run(Celery(), RunMessage("Bad Key", run_id, {}, None, None))

    assert result == {"run_id": run_id, "status": REJECTED}
