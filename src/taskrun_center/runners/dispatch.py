"""Run-now for the console, the API and the CLI: create the run as pending, then hand it over.

The run exists, with its run_id, before anything executes it, so the caller can link to it at
once and a queue (Celery) can resume exactly that run. A dispatcher decides where the task
executes; ``ThreadDispatcher`` runs it in a background thread of this process.
"""

from __future__ import annotations

import concurrent.futures
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import structlog

from taskrun_center.config import get_settings
from taskrun_center.errors import TaskRunError
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.definition import get_task
from taskrun_center.runners.execute import run_task
from taskrun_center.runners.failure import describe_error
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


class Dispatcher(Protocol):
    """Executes a pending run somewhere: a thread, this call, a Celery worker."""

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        """Arrange for the pending run ``run_id`` to be executed; return without waiting."""
        ...


class InlineDispatcher:
    """Execute the run in the calling thread before ``submit`` returns (CLI, scheduler)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        """Run the task now; the outcome is recorded in the run."""
        run_task(
            task_key,
            database=self.database,
            trigger_source=trigger_source,
            arguments=arguments,
            run_id=run_id,
            created_by=created_by,
        )


class ThreadDispatcher:
    """Execute runs in a pool of background threads of this process (the default).

    Runs still executing when the process exits are ended by the reaper later. Use one
    dispatcher per process: ``shutdown`` waits for the runs in progress.
    """

    def __init__(self, database: Database, *, max_workers: int = 4) -> None:
        self.database = database
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="taskrun-run"
        )

    def submit(
        self,
        task_key: str,
        run_id: str,
        arguments: Mapping[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        """Queue the run for a worker thread and return at once."""
        self._pool.submit(
            self._execute, task_key, run_id, dict(arguments), trigger_source, created_by
        )

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting runs; with ``wait`` block until the running ones end."""
        self._pool.shutdown(wait=wait)

    def _execute(
        self,
        task_key: str,
        run_id: str,
        arguments: dict[str, Any],
        trigger_source: str,
        created_by: str | None,
    ) -> None:
        try:
            run_task(
                task_key,
                database=self.database,
                trigger_source=trigger_source,
                arguments=arguments,
                run_id=run_id,
                created_by=created_by,
            )
        except TaskRunError as error:
            # The run could not be opened or ended (database down); the reaper ends it later.
            logger.error(
                "dispatched_run_failed", run_id=run_id, task_key=task_key, error=str(error)
            )
        except Exception:
            # A pool thread has nobody to raise to: log it, and the reaper ends the run later.
            logger.exception("dispatched_run_crashed", run_id=run_id, task_key=task_key)


_thread_dispatchers: dict[str, ThreadDispatcher] = {}
_dispatchers_lock = threading.Lock()


def thread_dispatcher_for(database: Database) -> ThreadDispatcher:
    """Return this process's shared ``ThreadDispatcher`` for ``database``."""
    with _dispatchers_lock:
        dispatcher = _thread_dispatchers.get(database.url)
        if dispatcher is None:
            dispatcher = ThreadDispatcher(database)
            _thread_dispatchers[database.url] = dispatcher
        return dispatcher


def default_dispatcher_for(database: Database) -> Dispatcher:
    """Return the dispatcher run-now uses: Celery when ``TASKRUN_CELERY_ENABLED``, else threads."""
    if get_settings().celery_enabled:
        from taskrun_center.runners.celery.dispatcher import celery_dispatcher_for

        return celery_dispatcher_for(database)
    return thread_dispatcher_for(database)


def scheduler_dispatcher_for(database: Database) -> Dispatcher:
    """Return the dispatcher of scheduled runs: Celery when enabled, else the scheduler itself."""
    if get_settings().celery_enabled:
        from taskrun_center.runners.celery.dispatcher import celery_dispatcher_for

        return celery_dispatcher_for(database)
    return InlineDispatcher(database)


def revoke_dispatched_run(run_id: str) -> None:
    """Revoke the Celery message of a cancelled run when Celery is enabled; else do nothing.

    Call it after the run was cancelled in the database: a worker that already runs the task
    stops at its next cancellation check whether or not the revoke arrives.
    """
    if get_settings().celery_enabled:
        from taskrun_center.runners.celery.dispatcher import revoke_run

        revoke_run(run_id)


def enqueue_run(
    task_key: str,
    *,
    database: Database,
    dispatcher: Dispatcher | None = None,
    trigger_source: TriggerSource | str = TriggerSource.MANUAL,
    arguments: Mapping[str, Any] | None = None,
    created_by: str | None = None,
    run_id: str | None = None,
) -> str:
    """Create a pending run of ``task_key``, hand it to ``dispatcher`` and return its run_id.

    ``dispatcher`` defaults to ``default_dispatcher_for(database)``. When the dispatcher
    raises, the pending run is marked failed with the reason and the error propagates.

    Raises:
        UnknownTaskTypeError: no task is declared under ``task_key``.
        TaskArgumentsError: ``arguments`` do not fit the task's signature.
        StorageError: the database failed (for example ``run_id`` exists already).
    """
    definition = get_task(task_key)
    definition.check_arguments(arguments)
    run_id = run_id or str(uuid.uuid4())
    with database.transaction("create pending run") as session:
        TaskRunsWriteService(session).start_run(
            task_key=task_key,
            task_name=definition.name_zh,
            task_category=definition.category,
            trigger_source=trigger_source,
            created_by=created_by,
            run_id=run_id,
            status=RunStatus.PENDING,
        )
    logger.info(
        "run_enqueued", run_id=run_id, task_key=task_key, trigger_source=str(trigger_source)
    )

    target = dispatcher or default_dispatcher_for(database)
    try:
        target.submit(task_key, run_id, dict(arguments or {}), str(trigger_source), created_by)
    except Exception as error:
        reason = f"dispatch failed: {describe_error(error)}"
        logger.error("run_dispatch_failed", run_id=run_id, task_key=task_key, error=reason)
        with database.transaction("mark undispatched run failed") as session:
            TaskRunsWriteService(session).mark_run_failed(run_id, reason)
        raise
    return run_id
