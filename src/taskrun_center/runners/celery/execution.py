"""Execution of one run's message on a Celery worker: resume the pending run, run it, retry it.

A message from ``CeleryDispatcher`` names a pending run that already exists. A message sent
straight through Celery (``send_task`` or ``apply_async`` on ``taskrun.execute_run``) names
none: the worker then creates the run, already running, with the Celery task id as its run_id
and the trigger source ``celery``, so both paths record the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from celery import Celery
from kombu.exceptions import KombuError

from taskrun_center.contract import SummaryValidationError
from taskrun_center.errors import (
    InvalidValueError,
    RunNotFoundError,
    StorageError,
    TaskRunError,
    UnknownTaskTypeError,
)
from taskrun_center.lifecycle.write_service import ClaimedRun, TaskRunsWriteService
from taskrun_center.runners.celery.dispatcher import CeleryDispatcher
from taskrun_center.runners.celery.retries import retry_created_by, retry_policy, retry_run_id
from taskrun_center.runners.dispatch import enqueue_run
from taskrun_center.runners.execute import run_task
from taskrun_center.runners.recording import default_database
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)

#: ``status`` of the result of a message that names no run this worker may execute.
REJECTED = "rejected"


@dataclass(frozen=True)
class RunMessage:
    """The arguments of one ``taskrun.execute_run`` message.

    ``trigger_source`` is None for a message sent straight through Celery. ``attempt`` counts
    retries (0 for the first run), and ``first_run_id`` names the first attempt of a retry.
    """

    task_key: str
    run_id: str
    arguments: dict[str, Any]
    trigger_source: str | None
    created_by: str | None
    attempt: int = 0
    first_run_id: str | None = None


def execute_run(app: Celery, message: RunMessage) -> dict[str, Any]:
    """Run the task of ``message`` as its run and return the run_id and final status.

    Only a pending run is executed, and the worker claims it (pending to running) before the
    task starts. A run in any other status was cancelled before a worker took it, or this
    message is a second delivery of a run that another worker claimed, so the message is
    dropped with a log line.

    A message whose run belongs to another task, or whose task key or run id is invalid, is
    dropped with an error line and the status ``rejected``.

    Raises:
        StorageError: the database failed while claiming or opening the run (a claimed run
            is ended by the reaper later).
    """
    database = default_database()
    log = logger.bind(run_id=message.run_id, task_key=message.task_key)
    try:
        claimed = _claim(database, message)
    except (InvalidValueError, SummaryValidationError) as error:
        # The message itself is wrong: it names another task's run, or a task key or run id
        # that no run may have. Running it again cannot help, so it is dropped. A pending run
        # it named stays for its own message or for the reaper.
        log.error("celery_message_rejected", error=str(error))
        return {"run_id": message.run_id, "status": REJECTED}
    if not isinstance(claimed, ClaimedRun):
        log.info("celery_message_dropped", status=claimed.value)
        return {"run_id": message.run_id, "status": claimed.value}

    try:
        outcome = run_task(
            message.task_key,
            database=database,
            trigger_source=message.trigger_source or TriggerSource.CELERY,
            arguments=message.arguments,
            run_id=message.run_id,
            created_by=message.created_by,
            claimed=claimed,
        )
    except UnknownTaskTypeError as error:
        _fail_undeclared(database, message, error)
        return {"run_id": message.run_id, "status": RunStatus.FAILED.value}

    if outcome.status is RunStatus.FAILED:
        _enqueue_retry(app, database, message)
    return {"run_id": message.run_id, "status": outcome.status.value}


def _claim(database: Database, message: RunMessage) -> ClaimedRun | RunStatus:
    """Move the pending run of ``message`` to running for this worker and return it.

    Returns the run's status when it was not pending. The claim is one conditional UPDATE,
    so of two deliveries of one message only the first matches the pending row.
    """
    try:
        return _claim_once(database, message)
    except (InvalidValueError, StorageError):
        # Another delivery of a message sent straight through Celery created the run at the
        # same moment. The run exists now, so a second attempt reads its status.
        return _claim_once(database, message)


def _claim_once(database: Database, message: RunMessage) -> ClaimedRun | RunStatus:
    # The claim is one statement, so it needs no transaction of its own.
    with database.autocommit_connection("claim run of a Celery message") as connection:
        try:
            return TaskRunsWriteService(connection).claim_pending_run(
                message.run_id, message.task_key
            )
        except RunNotFoundError:
            pass

    # A message sent straight through Celery names no existing run: create it running.
    with database.transaction("start run of a Celery message") as session:
        run = TaskRunsWriteService(session).start_run(
            task_key=message.task_key,
            trigger_source=message.trigger_source or TriggerSource.CELERY,
            created_by=message.created_by,
            run_id=message.run_id,
            status=RunStatus.RUNNING,
        )
    return ClaimedRun.of(run)


def _fail_undeclared(database: Database, message: RunMessage, error: UnknownTaskTypeError) -> None:
    reason = (
        f"{error}: no module imported by this Celery worker declares it; add the module to "
        "TASKRUN_TASK_MODULES of the workers and restart them"
    )
    logger.error("celery_task_unknown", run_id=message.run_id, task_key=message.task_key)
    with database.transaction("fail run of an unknown task") as session:
        TaskRunsWriteService(session).mark_run_failed(message.run_id, reason)


def _enqueue_retry(app: Celery, database: Database, message: RunMessage) -> None:
    policy = retry_policy(message.task_key)
    if message.attempt >= policy.max_retries:
        return

    first_run_id = message.first_run_id or message.run_id
    attempt = message.attempt + 1
    new_run_id = retry_run_id(first_run_id, attempt)
    log = logger.bind(run_id=message.run_id, task_key=message.task_key)
    dispatcher = CeleryDispatcher(
        app,
        countdown=policy.delay_seconds or None,
        first_run_id=first_run_id,
        attempt=attempt,
    )
    try:
        enqueue_run(
            message.task_key,
            database=database,
            dispatcher=dispatcher,
            trigger_source=message.trigger_source or TriggerSource.CELERY,
            arguments=message.arguments,
            created_by=retry_created_by(first_run_id),
            run_id=new_run_id,
        )
    except InvalidValueError:
        log.info("run_retry_exists", retry_run_id=new_run_id, attempt=attempt)
        return
    except (TaskRunError, KombuError, OSError) as error:
        log.error("run_retry_failed", retry_run_id=new_run_id, attempt=attempt, error=str(error))
        return
    log.info("run_retry_enqueued", retry_run_id=new_run_id, attempt=attempt,
             max_retries=policy.max_retries)
