"""Run a declared task now, in this thread, as one recorded run."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping
from typing import Any

import structlog

from taskrun_center.lifecycle.write_service import ClaimedRun
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.definition import TaskDefinition, get_task
from taskrun_center.runners.errors import RunCancelledError
from taskrun_center.runners.recording import (
    DEFAULT_CANCEL_CHECK_INTERVAL_SECONDS,
    RunRecorder,
    open_run_holding_interrupts,
    record_interrupt,
)
from taskrun_center.runners.result import RunOutcome
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)


def run_task(
    task_key: str,
    *,
    database: Database | None = None,
    trigger_source: TriggerSource | str = TriggerSource.MANUAL,
    arguments: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    created_by: str | None = None,
    cancel_check_interval_seconds: float = DEFAULT_CANCEL_CHECK_INTERVAL_SECONDS,
    claimed: ClaimedRun | None = None,
) -> RunOutcome:
    """Run the task declared under ``task_key`` now and return how its run ended.

    With ``run_id`` the pending run of that id is resumed (run-now and queues create it
    first); otherwise a new run starts. ``claimed`` is a run that the caller already moved to
    running in its own transaction (a Celery worker's claim), so it is not read again. The
    task's exceptions never propagate: they mark the run failed and come back in the outcome,
    and so do ``sys.exit()`` and other BaseExceptions raised by the task. KeyboardInterrupt and
    a host's stop signal (see ``_stops_the_host``) cancel the run and propagate.

    Raises:
        UnknownTaskTypeError: no task is declared under ``task_key``.
        TaskArgumentsError: ``arguments`` do not fit the task's signature (no run is started;
            a pending run ``run_id`` is marked failed).
        RunNotFoundError: no run has the id ``run_id``.
        RunEndNotRecordedError: the run's end still failed on a locked or lost database after
            the retries of ``FINAL_WRITE_RETRY_SECONDS``; the run stays running.
        StorageError: the database failed while opening or ending the run.
    """
    definition = get_task(task_key)
    if run_id is None and claimed is None:
        definition.check_arguments(arguments)
    try:
        # A signal while the run opens is raised once the recorder exists, and cancels the run.
        recorder = open_run_holding_interrupts(
            task_key,
            database=database,
            run_id=run_id,
            trigger_source=trigger_source,
            arguments=arguments,
            created_by=created_by,
            task_name=definition.name_zh,
            task_category=definition.category,
            cancel_check_interval_seconds=cancel_check_interval_seconds,
            claimed=claimed,
        )
    except RunCancelledError as cancelled:
        logger.info("run_cancelled_before_start", run_id=cancelled.run_id, task_key=task_key)
        return RunOutcome(run_id=cancelled.run_id, task_key=task_key, status=RunStatus.CANCELLED)
    return _drive(definition, recorder, arguments)


def _drive(
    definition: TaskDefinition, recorder: RunRecorder, arguments: Mapping[str, Any] | None
) -> RunOutcome:
    try:
        # Checked again for a new run too: the task receives the converted values.
        converted = definition.check_arguments(arguments)
        result = call_task(definition, recorder.context, converted)
    except RunCancelledError:
        return recorder.finish_cancelled()
    except Exception as error:
        return recorder.finish_failed(error)
    except BaseException as error:
        if _stops_the_host(error):
            record_interrupt(recorder)
            raise
        # sys.exit() in task code, GeneratorExit or a task's own BaseException subclass ends
        # the task, not the process that hosts it (taskrun up, the scheduler, a worker).
        return recorder.finish_failed(error)
    return recorder.finish(result)


def _stops_the_host(error: BaseException) -> bool:
    """Return True for an interrupt meant for the process: Ctrl-C, SIGTERM, a host's stop.

    A subclass of SystemExit is a host's own stop signal (Celery's WorkerShutdown), and
    gevent's GreenletExit kills the greenlet that runs the task. Plain SystemExit comes from
    ``sys.exit()`` in the task.
    """
    if isinstance(error, KeyboardInterrupt):
        return True
    if isinstance(error, SystemExit):
        return type(error) is not SystemExit
    return type(error).__name__ == "GreenletExit"


def call_task(
    definition: TaskDefinition, context: RunContext, arguments: Mapping[str, Any] | None
) -> Any:
    """Call the task function with the context and arguments; drive it to the end if async.

    An ``async def`` task gets its own event loop, in a helper thread when this thread
    already runs one (``asyncio.run`` cannot nest).
    """
    kwargs = dict(arguments or {})
    if not definition.is_async:
        return definition.func(context, **kwargs)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(definition.func(context, **kwargs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, definition.func(context, **kwargs)).result()
