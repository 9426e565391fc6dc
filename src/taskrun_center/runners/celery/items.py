"""One run whose items are processed by many Celery workers: a chord of item tasks.

``enqueue_item_run`` creates the run as pending with all its items, then sends one
``taskrun.run_item`` message per item in a Celery group, and ``taskrun.finalize_items`` as the
chord's callback with the run_id as its Celery task id. Each item task moves the run to running
when it is the first, records its item through the write service (whose counters are
incremented in the database, so they stay exact with any number of workers) and records a
heartbeat. The callback runs once after every item task has returned and ends the run.

A cancelled run's remaining item tasks find their items cancelled and skip the handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from celery import Celery, chord, group
from kombu.exceptions import KombuError
from sqlalchemy import select

from taskrun_center.config import get_settings
from taskrun_center.contract import SummaryValidationError, mask_text, normalize_json
from taskrun_center.errors import ConfigurationError, InvalidValueError, UnknownTaskTypeError
from taskrun_center.lifecycle.value_reasons import NO_ITEMS
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.runners.celery.names import FINALIZE_ITEMS, RUN_ITEM
from taskrun_center.runners.context import ItemCounts, ItemRecorder
from taskrun_center.runners.failure import describe_error, masked_traceback
from taskrun_center.runners.heartbeat import Heartbeat
from taskrun_center.runners.recording import default_database
from taskrun_center.runners.result import TaskResult
from taskrun_center.runners.summary import (
    items_failed_message,
    rejection_message,
    summary_from_counts,
    summary_from_result,
)
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import TaskRun

logger = structlog.get_logger(__name__)

ItemHandler = Callable[..., None]
Finalizer = Callable[..., TaskResult | None]
H = TypeVar("H", bound=ItemHandler)

# Values ``run_item`` returns; the chord stores them in the result backend.
ITEM_COMPLETED = "completed"
ITEM_FAILED = "failed"
ITEM_SKIPPED = "skipped"


@dataclass(frozen=True)
class ItemTask:
    """The functions of a task whose items run on many workers."""

    task_key: str
    handler: ItemHandler
    finalizer: Finalizer | None = None


_item_tasks: dict[str, ItemTask] = {}
_lock = threading.Lock()


def item_handler(task_key: str, *, finalizer: Finalizer | None = None) -> Callable[[H], H]:
    """Declare the function that processes one item of ``task_key`` on any Celery worker.

    The handler is called as ``handler(item, **arguments)`` with an ``ItemRecorder``; it
    fills ``item.metrics`` and ``item.details``, and raises or calls ``item.fail`` to fail the
    item. ``finalizer``, called as ``finalizer(counts, **arguments)`` with the ``ItemCounts``
    of the run, may return a ``TaskResult`` for the final summary; without it the summary contains
    the item counts. Declare it in a module every worker imports (``TASKRUN_TASK_MODULES``).
    """

    def declare(handler: H) -> H:
        with _lock:
            _item_tasks[task_key] = ItemTask(task_key, handler, finalizer)
        return handler

    return declare


def find_item_task(task_key: str) -> ItemTask | None:
    """Return the item functions declared for ``task_key`` in this process, or None."""
    return _item_tasks.get(task_key)


def enqueue_item_run(
    task_key: str,
    items: Iterable[ItemSpec | tuple[str, str] | tuple[str, str, str | None]],
    *,
    app: Celery | None = None,
    database: Database | None = None,
    arguments: Mapping[str, Any] | None = None,
    trigger_source: TriggerSource | str = TriggerSource.MANUAL,
    created_by: str | None = None,
    run_id: str | None = None,
) -> str:
    """Create a pending run of ``task_key`` with ``items`` and send one message per item.

    Returns the run_id. When the broker cannot be reached the run is marked failed and the
    error propagates.

    Raises:
        UnknownTaskTypeError: no item handler is declared for ``task_key`` in this process.
        ConfigurationError: ``app`` has no result backend, which a chord needs.
        InvalidValueError: ``items`` is empty, or ``run_id`` is taken or no UUID.
        DuplicateItemError: an item is given twice.
        StorageError: the database failed.
    """
    if find_item_task(task_key) is None:
        raise UnknownTaskTypeError(task_key)
    specs = [_as_spec(item) for item in items]
    if not specs:
        raise InvalidValueError("items", NO_ITEMS)
    if app is None:
        from taskrun_center.runners.celery.app import default_app

        app = default_app()
    _require_result_backend(app, task_key)
    database = database or default_database()
    run_id = _create_run(
        database,
        task_key,
        specs=specs,
        trigger_source=trigger_source,
        created_by=created_by,
        run_id=run_id,
    )

    try:
        _send_chord(app, run_id, task_key, specs, dict(arguments or {}))
    except (KombuError, OSError) as error:
        reason = f"sending the item messages failed: {describe_error(error)}"
        logger.error("item_run_dispatch_failed", run_id=run_id, task_key=task_key, error=reason)
        with database.transaction("mark unsent item run failed") as session:
            TaskRunsWriteService(session).mark_run_failed(run_id, reason)
        raise
    logger.info("item_run_enqueued", run_id=run_id, task_key=task_key, items=len(specs))
    return run_id


def _create_run(
    database: Database,
    task_key: str,
    *,
    specs: list[ItemSpec],
    trigger_source: TriggerSource | str,
    created_by: str | None,
    run_id: str | None,
) -> str:
    with database.transaction("create pending item run") as session:
        service = TaskRunsWriteService(session)
        run = service.start_run(
            task_key=task_key,
            trigger_source=trigger_source,
            created_by=created_by,
            run_id=run_id,
            status=RunStatus.PENDING,
        )
        service.init_items(run.run_id, specs)
    return run.run_id


def _send_chord(
    app: Celery, run_id: str, task_key: str, specs: list[ItemSpec], arguments: dict[str, Any]
) -> None:
    header = group(
        app.signature(
            RUN_ITEM,
            kwargs={
                "run_id": run_id,
                "task_key": task_key,
                "item_type": spec.item_type,
                "item_key": spec.item_key,
                "item_name": spec.item_name,
                "arguments": arguments,
            },
        )
        for spec in specs
    )
    callback = app.signature(
        FINALIZE_ITEMS,
        kwargs={"run_id": run_id, "task_key": task_key, "arguments": arguments},
        immutable=True,
    ).set(task_id=run_id)
    chord(header)(callback)


def _require_result_backend(app: Celery, task_key: str) -> None:
    backend = app.conf.result_backend
    if not backend or str(backend).startswith(("disabled", "rpc://")):
        raise ConfigurationError(
            f"item run of task {task_key!r}: the Celery application has no result backend "
            f"({backend!r}), which counting the items of a chord needs; set "
            "TASKRUN_CELERY_RESULT_BACKEND, for example to a Redis URL"
        )


def _as_spec(item: ItemSpec | tuple[str, str] | tuple[str, str, str | None]) -> ItemSpec:
    if isinstance(item, ItemSpec):
        return item
    return ItemSpec(*item)


# --- worker side -------------------------------------------------------------------------------


def run_item(
    *,
    run_id: str,
    task_key: str,
    item_type: str,
    item_key: str,
    item_name: str | None = None,
    arguments: dict[str, Any] | None = None,
) -> str:
    """Process one item of run ``run_id`` with its declared handler; return the item's end.

    Returns ``completed``, ``failed``, or ``skipped`` when the run or the item had already
    ended before or while the handler ran (a cancelled run, a second delivery). The
    handler's exception fails the item with its masked message and does not propagate.

    Raises:
        StorageError: the database failed.
    """
    database = default_database()
    log = logger.bind(run_id=run_id, task_key=task_key, item_type=item_type, item_key=item_key)
    if not _start_item(database, run_id, task_key, item_type, item_key):
        log.info("item_skipped")
        return ITEM_SKIPPED

    recorder = ItemRecorder(item_type, item_key, item_name)
    # Heartbeats while the handler works, so a long item is not taken for a crashed worker.
    heartbeat = Heartbeat(
        database, run_id, task_key, get_settings().heartbeat_interval_seconds
    ).start()
    try:
        error_message = _call_handler(recorder, task_key, arguments or {}, log)
    finally:
        heartbeat.stop()
    return _end_item(database, run_id, recorder, error_message)


def _start_item(
    database: Database, run_id: str, task_key: str, item_type: str, item_key: str
) -> bool:
    with database.transaction("start item") as session:
        service = TaskRunsWriteService(session)
        run = service.resolve_or_start_run(run_id=run_id, task_key=task_key)
        if RunStatus(run.status).is_terminal:
            return False
        return service.start_item(run_id, item_type, item_key)


def _call_handler(
    recorder: ItemRecorder, task_key: str, arguments: dict[str, Any], log: Any
) -> str | None:
    item_task = find_item_task(task_key)
    if item_task is None:
        log.error("item_handler_unknown")
        return (
            f"no item handler is declared for task {task_key!r} on this worker; add its module "
            "to TASKRUN_TASK_MODULES of the workers"
        )
    try:
        item_task.handler(recorder, **arguments)
    except Exception as error:
        message = describe_error(error)
        log.warning("item_failed", error=message, traceback=masked_traceback(error))
        return message
    if recorder.error_message is not None:
        return mask_text(recorder.error_message).value
    return None


def _end_item(
    database: Database, run_id: str, recorder: ItemRecorder, error_message: str | None
) -> str:
    try:
        metrics = normalize_json(recorder.metrics) if recorder.metrics else None
        details = normalize_json(recorder.details) if recorder.details else None
    except SummaryValidationError as error:
        # Values that cannot become JSON fail the item instead of losing its end state.
        metrics, details = None, None
        error_message = error_message or f"item data is not JSON: {error}"

    with database.transaction("end item") as session:
        service = TaskRunsWriteService(session)
        if error_message is None:
            changed = service.complete_item(
                run_id, recorder.item_type, recorder.item_key, metrics=metrics, details=details
            )
        else:
            changed = service.fail_item(
                run_id,
                recorder.item_type,
                recorder.item_key,
                error_message=error_message,
                details=details,
            )
        # The run has no process of its own; each finished item is its sign of life.
        service.heartbeat(run_id)
    if not changed:
        # The run was cancelled while the handler worked; the item stays cancelled.
        return ITEM_SKIPPED
    return ITEM_COMPLETED if error_message is None else ITEM_FAILED


def finalize_items(
    *, run_id: str, task_key: str, arguments: dict[str, Any] | None = None
) -> str:
    """End run ``run_id`` after its item tasks returned; return its final status.

    The status follows the items: ``completed`` when none failed, ``failed`` when all failed,
    ``completed_with_errors`` otherwise. A run that already ended (cancelled) keeps its status.

    Raises:
        StorageError: the database failed; the reaper ends the run later.
    """
    database = default_database()
    log = logger.bind(run_id=run_id, task_key=task_key)
    status, counts = _read_counts(database, run_id)
    if status.is_terminal:
        log.info("item_run_already_ended", status=status.value)
        return status.value

    summary, requested, error_message = _final_summary(task_key, counts, arguments or {}, log)
    with database.transaction("finalize item run") as session:
        final = TaskRunsWriteService(session).finalize_run_with_summary(
            run_id, summary, status=requested, error_message=error_message
        )
    if final is None:
        status, _ = _read_counts(database, run_id)
        return status.value
    log.info("item_run_finished", status=final.value, items_completed=counts.completed,
             items_failed=counts.failed, items_total=counts.declared)
    return final.value


def _read_counts(database: Database, run_id: str) -> tuple[RunStatus, ItemCounts]:
    with translate_errors("read run counters"), database.session() as session:
        row = session.execute(
            select(
                TaskRun.status,
                TaskRun.progress_total,
                TaskRun.progress_completed,
                TaskRun.progress_failed,
            ).where(TaskRun.run_id == run_id)
        ).one()
    return RunStatus(row.status), ItemCounts(
        declared=row.progress_total, completed=row.progress_completed, failed=row.progress_failed
    )


def _final_summary(
    task_key: str, counts: ItemCounts, arguments: dict[str, Any], log: Any
) -> tuple[dict[str, Any] | None, RunStatus | None, str | None]:
    language = get_settings().language
    status: RunStatus | None = None
    error_message: str | None = None
    if counts.failed and counts.completed:
        status = RunStatus.COMPLETED_WITH_ERRORS
        error_message = items_failed_message(counts.completed, counts.failed, language)

    try:
        result = _call_finalizer(task_key, counts, arguments)
        if result is None:
            summary = summary_from_counts(task_key, counts.completed, counts.failed, language)
            return summary, status, error_message
        summary = summary_from_result(task_key, result)
        return summary, result.status or status, result.error_message or error_message
    except SummaryValidationError as error:
        # The items were processed; only the summary is wrong, so the base summary stays.
        log.warning("final_summary_rejected",
                    rules=sorted({violation.rule for violation in error.violations}))
        message = rejection_message(error, language)
    except Exception as error:
        message = describe_error(error)
        log.error("item_finalizer_failed", error=message, traceback=masked_traceback(error))
    joined = f"{error_message}\n{message}" if error_message else message
    fallback = RunStatus.FAILED if counts.failed else RunStatus.COMPLETED_WITH_ERRORS
    return None, status or fallback, joined


def _call_finalizer(
    task_key: str, counts: ItemCounts, arguments: dict[str, Any]
) -> TaskResult | None:
    item_task = find_item_task(task_key)
    if item_task is None or item_task.finalizer is None:
        return None
    return item_task.finalizer(counts, **arguments)
