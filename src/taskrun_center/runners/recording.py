"""Open, watch and end one recorded run: the machinery behind ``run_task`` and ``record_run``.

Each write is its own short transaction: opening the run, item batches (``ItemWriter``),
heartbeats and the final status, which also carries the last item batch. A process that dies
mid-run therefore leaves the run ``running`` with everything recorded so far, and the reaper
ends it after its timeout.

The final write (finish, fail or cancel) is tried again on a locked SQLite file or a lost
connection for ``FINAL_WRITE_RETRY_SECONDS``. After that it raises ``RunEndNotRecordedError``
and the run stays running until the reaper fails it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import structlog
from sqlalchemy import select

from taskrun_center.config import get_settings
from taskrun_center.contract import SummaryValidationError, default_registry, mask_text
from taskrun_center.errors import InvalidTransitionError, StorageError, TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.write_service import ClaimedRun, TaskRunsWriteService
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.errors import RunCancelledError
from taskrun_center.runners.failure import describe_error, masked_traceback
from taskrun_center.runners.heartbeat import Heartbeat
from taskrun_center.runners.interrupts import interrupts_held
from taskrun_center.runners.item_writer import ItemEvent, ItemWriter
from taskrun_center.runners.result import RunOutcome, TaskResult
from taskrun_center.runners.summary import (
    CONNECTION_LOST,
    DATABASE_LOCKED,
    DATABASE_UNREACHABLE,
    invalid_result_status_message,
    items_dropped_message,
    items_failed_message,
    items_unrecorded_message,
    rejection_message,
    run_end_not_recorded_text,
    summary_from_counts,
    summary_from_result,
    unsupported_result_message,
)
from taskrun_center.states import RUN_TERMINAL, RunStatus, TriggerSource
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import (
    ConnectionLostError,
    DatabaseLockedError,
    DatabaseUnreachableError,
    UnreachableReason,
    translate_errors,
)
from taskrun_center.storage.models import TaskRun

logger = structlog.get_logger(__name__)

_T = TypeVar("_T")

# How often a task's cancellation checks read the run's status at most, in seconds.
DEFAULT_CANCEL_CHECK_INTERVAL_SECONDS = 1.0

# How long the run's final write is tried again after a locked SQLite file or a lost
# connection, in seconds from its first try. A try that starts before then may itself wait one
# more SQLite busy timeout (TASKRUN_SQLITE_BUSY_TIMEOUT_MS, 5 s by default). That outlasts a
# writer that holds the lock for seconds (a purge batch, a backup), and a `taskrun run` in cron
# or CI does not seem to hang. The reap timeout is usually longer (600 s by default). When the
# reaper ends the run first, the run keeps the reaper's status.
FINAL_WRITE_RETRY_SECONDS = 30.0
# Pause between tries of the final write, doubled after each try up to the maximum.
FINAL_WRITE_RETRY_DELAY_SECONDS = 0.25
FINAL_WRITE_MAX_RETRY_DELAY_SECONDS = 4.0

# Failures to connect that a server restart or an overloaded server causes. A SQLite file that
# cannot be opened, a rejected login or a missing database stay that way, so they are not tried
# again.
_PASSING_UNREACHABLE = frozenset(
    {UnreachableReason.REFUSED, UnreachableReason.TIMED_OUT, UnreachableReason.OTHER}
)


class RunEndNotRecordedError(StorageError):
    """Raised when the run's final write still failed after ``FINAL_WRITE_RETRY_SECONDS``.

    The run stays running until the reaper fails it. ``text`` is the message in both languages,
    which the CLI prints; ``str()`` is English, for logs. The database error is ``__cause__``.
    """

    code = "RUN_END_NOT_RECORDED"

    def __init__(
        self,
        run_id: str,
        task_key: str,
        waited_seconds: float,
        reap_timeout_seconds: int,
        cause: Text,
    ) -> None:
        self.run_id = run_id
        self.task_key = task_key
        self.waited_seconds = waited_seconds
        self.reap_timeout_seconds = reap_timeout_seconds
        self.cause = cause
        self.text = run_end_not_recorded_text(run_id, waited_seconds, reap_timeout_seconds, cause)
        super().__init__(self.text.en)

    def __reduce__(
        self,
    ) -> tuple[type[RunEndNotRecordedError], tuple[str, str, float, int, Text]]:
        # Exception pickling (a Celery result) would call the class with the message alone.
        return type(self), (self.run_id, self.task_key, self.waited_seconds,
                            self.reap_timeout_seconds, self.cause)


@functools.lru_cache(maxsize=8)
def database_for(url: str) -> Database:
    """Return the shared ``Database`` of ``url`` in this process (one engine per URL)."""
    return Database(url)


def default_database() -> Database:
    """Return the shared ``Database`` of ``TASKRUN_DATABASE_URL``."""
    return database_for(get_settings().database_url)


class RunRecorder:
    """One run from start to end: the run row, its context, heartbeat and item writer."""

    def __init__(
        self,
        database: Database,
        run: ClaimedRun,
        context: RunContext,
        writer: ItemWriter,
        heartbeat: Heartbeat,
    ) -> None:
        self.database = database
        self.run = run
        self.run_id = run.run_id
        self.task_key = run.task_key
        self.context = context
        self.resumed = False
        self._writer = writer
        self._heartbeat = heartbeat
        self._language = get_settings().language
        self._log = logger.bind(run_id=self.run_id, task_key=self.task_key)

    @classmethod
    def open(
        cls,
        task_key: str,
        *,
        database: Database | None = None,
        run_id: str | None = None,
        trigger_source: TriggerSource | str = TriggerSource.MANUAL,
        arguments: Mapping[str, Any] | None = None,
        created_by: str | None = None,
        task_name: str | None = None,
        task_category: str | None = None,
        cancel_check_interval_seconds: float = DEFAULT_CANCEL_CHECK_INTERVAL_SECONDS,
        claimed: ClaimedRun | None = None,
    ) -> RunRecorder:
        """Start the run, or resume the pending run ``run_id``, and start its heartbeat.

        ``claimed`` is the run that the caller already moved to running in its own transaction
        (a Celery worker's claim): the recorder takes it as it is and reads nothing.

        Raises:
            RunCancelledError: the run ``run_id`` was cancelled before it started.
            InvalidTransitionError: the run ``run_id`` has already ended otherwise.
            RunNotFoundError: no run has the id ``run_id``.
            StorageError: the database failed.
        """
        database = database or default_database()
        run = claimed or _resolve_run(
            database,
            task_key,
            run_id,
            trigger_source=trigger_source,
            created_by=created_by,
            task_name=task_name,
            task_category=task_category,
        )
        recorder_ref: list[RunRecorder] = []

        def on_run_ended() -> None:
            if recorder_ref:
                recorder_ref[0].context.request_status_check()

        writer = ItemWriter(database, run.run_id, task_key, on_item_ended_run=on_run_ended)
        context = RunContext(
            database=database,
            run_id=run.run_id,
            task_key=task_key,
            trigger_source=run.trigger_source,
            arguments=arguments,
            created_by=created_by,
            writer=writer,
            cancel_check_interval_seconds=cancel_check_interval_seconds,
        )
        heartbeat = Heartbeat(
            database,
            run.run_id,
            task_key,
            get_settings().heartbeat_interval_seconds,
            on_terminal=context.request_status_check,
        )
        recorder = cls(database, run, context, writer, heartbeat)
        recorder.resumed = run_id is not None or claimed is not None
        recorder_ref.append(recorder)
        heartbeat.start()
        recorder._log.info("task_started", trigger_source=run.trigger_source)
        return recorder

    def finish(self, result: object) -> RunOutcome:
        """End the run with the task's result (a ``TaskResult``, a summary dict or None).

        Item events still queued are stored in the transaction that ends the run, which saves
        a transaction per run. The write is tried again as ``_write_final`` describes.

        Raises:
            RunEndNotRecordedError: the database stayed locked or unreachable; the run stays
                running until the reaper ends it.
            StorageError: the database failed otherwise, with the same result.
        """
        self._heartbeat.stop()
        # The wait for the writer's batch in flight counts toward the final write's budget.
        started = time.monotonic()
        events = self._writer.hand_over()
        if self._writer.ignore_if_run_ended(events, read_status=False):
            events = []
        summary, status, error_message = self._final_summary(result)
        try:
            final = self._write_final(
                lambda: self._end_run(events, summary, *self._with_dropped(status, error_message)),
                started,
            )
            if final is None and events:
                # The run had ended before this write, so its items took none of the events.
                self._writer.ignore_if_run_ended(events, read_status=True)
        except RunEndNotRecordedError:
            raise
        except TaskRunError as error:
            if not events:
                raise
            final = self._end_run_after_items_failed(events, summary, status, error_message,
                                                     error=error, started=started)
        finally:
            self._writer.log_ignored()
        if final is None:
            return self._outcome_of_ended_run()
        self._log.info("task_finished", status=str(final), **self._count_fields())
        outcome = self._outcome(RunStatus(final), error_message)
        return replace(outcome, skip_reason=_skip_reason(summary))

    def _end_run_after_items_failed(
        self,
        events: list[ItemEvent],
        summary: dict[str, Any] | None,
        status: RunStatus | None,
        error_message: str | None,
        *,
        error: TaskRunError,
        started: float,
    ) -> RunStatus | None:
        if self._writer.ignore_if_run_ended(events, read_status=True):
            # The run was cancelled or reaped meanwhile, so its items took none of the events.
            return None
        # A rejected event or a database error rolled back the run's end too. The events go
        # through the writer's retries and one-by-one fallback, then the run ends alone.
        self._log.warning("run_end_with_items_failed", events=len(events), error=str(error))
        self._writer.store_separately(events)
        status, error_message = self._with_dropped(status, error_message)
        return self._write_final(
            lambda: self._end_run([], summary, status, error_message), started
        )

    def _write_final(self, write: Callable[[], _T], started: float) -> _T:
        """Call ``write`` until it succeeds; retry a locked or lost database for a while.

        ``started`` is the monotonic time of the first try. Tries go on, with growing pauses,
        until ``FINAL_WRITE_RETRY_SECONDS`` have passed since then. A Ctrl-C or SIGTERM during
        a pause ends the wait at once. During a try it takes effect when the try returns, on
        SQLite at most one busy timeout later. Other errors propagate at once.

        Raises:
            RunEndNotRecordedError: the last try failed too; the cause is chained.
        """
        delay = FINAL_WRITE_RETRY_DELAY_SECONDS
        attempt = 1
        try:
            while True:
                try:
                    return write()
                except StorageError as error:
                    if not _is_passing(error):
                        raise
                    waited = time.monotonic() - started
                    pause = min(delay, FINAL_WRITE_RETRY_SECONDS - waited)
                    if pause <= 0:
                        raise self._end_not_recorded(error, waited) from error
                    self._log.warning("run_end_write_failed", attempt=attempt,
                                      retry_in_seconds=round(pause, 2), error=str(error))
                time.sleep(pause)
                delay = min(delay * 2, FINAL_WRITE_MAX_RETRY_DELAY_SECONDS)
                attempt += 1
        except (KeyboardInterrupt, SystemExit):
            self._log.warning("run_end_abandoned", attempt=attempt,
                              reap_timeout_seconds=get_settings().reap_timeout_seconds)
            raise

    def _end_not_recorded(self, error: StorageError, waited: float) -> RunEndNotRecordedError:
        reap_timeout = get_settings().reap_timeout_seconds
        self._log.error("run_end_not_recorded", waited_seconds=round(waited, 1),
                        reap_timeout_seconds=reap_timeout, error=str(error))
        return RunEndNotRecordedError(self.run_id, self.task_key, waited, reap_timeout,
                                      _cause_text(error))

    def _end_run(
        self,
        events: list[ItemEvent],
        summary: dict[str, Any] | None,
        status: RunStatus | None,
        error_message: str | None,
    ) -> RunStatus | None:
        # A Core connection: the run's end needs no ORM session, which costs more than a
        # statement on a fast database.
        with self.database.write_connection("finalize run") as connection:
            # Ending the run recounts its items, so the counter increments of its last items
            # are only needed when the run had already ended.
            service = TaskRunsWriteService(connection, defer_counters=True)
            if events:
                self._writer.store(connection, events, service=service)
            if self._writer.dropped:
                # Their last change was lost: their true status is unknown, so they fail.
                service.fail_unfinished_items(
                    self.run_id, items_unrecorded_message(self._language))
            final = service.finalize_run_with_summary(
                self.run_id, summary, status=status, error_message=error_message, claimed=self.run
            )
            service.apply_deferred_counters()
        return final

    def finish_cancelled(self) -> RunOutcome:
        """End the task of a run that was cancelled; the run keeps the status ``cancelled``.

        The items of an ended run take no more changes, so the item events still queued are
        counted as ignored instead of written. On a locked database that saves the writer's
        retries, which would end in dropping them. The wait is at most the one try of a batch
        that the writer has begun.
        """
        self._heartbeat.stop()
        events = self._writer.hand_over()
        if not self._writer.ignore_if_run_ended(events, read_status=True):
            # The status read failed, or task code raised RunCancelledError for a run that
            # has not ended: the events are stored as the writer would have stored them.
            self._writer.store_separately(events)
        self._writer.log_ignored()
        self._log.info("run_cancelled_stopped", **self._count_fields())
        return self._outcome_of_ended_run()

    def finish_failed(self, error: BaseException) -> RunOutcome:
        """Mark the run failed with the masked message of ``error``; log the traceback.

        Item events still queued are stored in the transaction that fails the run, as
        ``finish`` does. The write is tried again as ``_write_final`` describes.

        Raises:
            RunEndNotRecordedError: the database stayed locked or unreachable; the run stays
                running until the reaper ends it.
            StorageError: the database failed otherwise, with the same result.
        """
        self._heartbeat.stop()
        started = time.monotonic()
        message = describe_error(error)
        self._log.error("run_failed", error=message, traceback=masked_traceback(error))
        changed = self._end_with_queued_events(
            lambda events: self._mark_failed(events, message), started, "fail"
        )
        if not changed:
            return self._outcome_of_ended_run()
        return self._outcome(RunStatus.FAILED, message)

    def _mark_failed(self, events: list[ItemEvent], message: str) -> bool:
        with self.database.transaction("mark run failed") as session:
            service = TaskRunsWriteService(session)
            if events:
                self._writer.store(session, events, service=service)
            return service.mark_run_failed(self.run_id, message)

    def finish_interrupted(self) -> RunOutcome:
        """Cancel the run because its process was interrupted (Ctrl-C, SIGTERM, exit).

        Item events still queued are stored in the transaction that cancels the run, as
        ``finish`` does, so the whole end shares one retry budget. The write is tried again as
        ``_write_final`` describes, and a second interrupt ends the wait.

        Raises:
            RunEndNotRecordedError: the database stayed locked or unreachable.
            StorageError: the database failed otherwise.
        """
        self._heartbeat.stop()
        self._end_with_queued_events(self._cancel, time.monotonic(), "cancel")
        self._log.warning("run_interrupted", **self._count_fields())
        return self._outcome_of_ended_run()

    def _end_with_queued_events(self, end: Callable[[list[ItemEvent]], bool], started: float,
                                action: str) -> bool:
        """Store the writer's queued item events with the run's end, ``end(events)``.

        The end and the events share one transaction and one retry budget (``_write_final``).
        An event that the write service rejects rolls the end back too, so the events are then
        stored apart and the run is ended alone. ``action`` names the end in the log line.
        """
        events = self._writer.hand_over()
        if self._writer.ignore_if_run_ended(events, read_status=False):
            events = []
        try:
            return self._write_final(lambda: end(events), started)
        except RunEndNotRecordedError:
            raise
        except TaskRunError as error:
            if not events:
                raise
            self._log.warning("run_end_with_items_failed", action=action, events=len(events),
                              error=str(error))
            self._writer.store_separately(events)
            return self._write_final(lambda: end([]), started)
        finally:
            self._writer.log_ignored()

    def _cancel(self, events: list[ItemEvent]) -> bool:
        with self.database.transaction("cancel interrupted run") as session:
            service = TaskRunsWriteService(session)
            if events:
                self._writer.store(session, events, service=service)
            return service.cancel_run(self.run_id)

    def _final_summary(
        self, result: object
    ) -> tuple[dict[str, Any] | None, RunStatus | None, str | None]:
        status = self._status_from_items()
        error_message: str | None = None
        if status == RunStatus.COMPLETED_WITH_ERRORS:
            counts = self.context.counts
            error_message = items_failed_message(counts.completed, counts.failed, self._language)
        if isinstance(result, TaskResult):
            if result.status is not None and result.status not in RUN_TERMINAL:
                # The run would otherwise stay running until the reaper ended it.
                message = invalid_result_status_message(result.status, self._language)
                return self.context.last_valid_summary, RunStatus.FAILED, message
            status = result.status or (None if result.skipped else status)
            error_message = result.error_message or error_message
        if result is not None and not isinstance(result, TaskResult | Mapping):
            message = unsupported_result_message(result, self._language)
            return self.context.last_valid_summary, RunStatus.COMPLETED_WITH_ERRORS, message

        try:
            summary = self._build_summary(result)
        except SummaryValidationError as error:
            # The run keeps its status in spirit: the work was done, only the summary is wrong.
            rules = sorted({violation.rule for violation in error.violations})
            self._log.warning("final_summary_rejected", rules=rules)
            message = rejection_message(error, self._language)
            if status in (None, RunStatus.COMPLETED):
                status = RunStatus.COMPLETED_WITH_ERRORS
            return self.context.last_valid_summary, status, _join(error_message, message)
        return summary, status, error_message

    def _with_dropped(
        self, status: RunStatus | None, error_message: str | None
    ) -> tuple[RunStatus | None, str | None]:
        # A run with item changes that could not be stored never ends "completed". The stored
        # items cannot tell whether the run failed, so completed_with_errors is used.
        dropped = self._writer.dropped
        if not dropped:
            return status, error_message
        if status in (None, RunStatus.COMPLETED):
            status = RunStatus.COMPLETED_WITH_ERRORS
        return status, _join(error_message, items_dropped_message(dropped, self._language))

    def _build_summary(self, result: object) -> dict[str, Any]:
        if isinstance(result, TaskResult | Mapping):
            return summary_from_result(self.task_key, result)
        counts = self.context.counts
        return summary_from_counts(self.task_key, counts.completed, counts.failed, self._language)

    def _status_from_items(self) -> RunStatus | None:
        # Some items failed while others completed: the run did part of its work. When
        # every item failed the write service's own rule (failed) applies.
        counts = self.context.counts
        if counts.failed and counts.completed:
            return RunStatus.COMPLETED_WITH_ERRORS
        return None

    def _outcome_of_ended_run(self) -> RunOutcome:
        with translate_errors("read run"), self.database.session() as session:
            run = session.scalars(select(TaskRun).where(TaskRun.run_id == self.run_id)).one()
            return self._outcome(RunStatus(run.status), run.error_message)

    def _outcome(self, status: RunStatus, error_message: str | None) -> RunOutcome:
        # The stored message is masked by the write service; the caller (``taskrun run``
        # prints it) gets the same masking.
        counts = self.context.counts
        return RunOutcome(
            run_id=self.run_id,
            task_key=self.task_key,
            status=status,
            error_message=mask_text(error_message).value if error_message else None,
            items_completed=counts.completed,
            items_failed=counts.failed,
        )

    def _count_fields(self) -> dict[str, int]:
        counts = self.context.counts
        return {"items_completed": counts.completed, "items_failed": counts.failed}


def _is_passing(error: StorageError) -> bool:
    # A lock or an outage that may end while the final write waits.
    if isinstance(error, DatabaseLockedError | ConnectionLostError):
        return True
    return isinstance(error, DatabaseUnreachableError) and error.reason in _PASSING_UNREACHABLE


def _cause_text(error: StorageError) -> Text:
    if isinstance(error, DatabaseLockedError):
        return DATABASE_LOCKED
    if isinstance(error, ConnectionLostError):
        return CONNECTION_LOST
    return DATABASE_UNREACHABLE


def _skip_reason(summary: dict[str, Any] | None) -> str | None:
    if summary is None:
        return None
    reason = summary.get("common", {}).get("flags", {}).get("skip_reason")
    return str(reason) if reason else None


def _join(first: str | None, second: str) -> str:
    return f"{first}\n{second}" if first else second


def _resolve_run(
    database: Database,
    task_key: str,
    run_id: str | None,
    *,
    trigger_source: TriggerSource | str,
    created_by: str | None,
    task_name: str | None,
    task_category: str | None,
) -> ClaimedRun:
    task_type = default_registry.get(task_key)
    if task_type is not None:
        task_name = task_name or task_type.name_zh
        task_category = task_category or task_type.category
    start: dict[str, Any] = {
        "trigger_source": trigger_source,
        "created_by": created_by,
        "task_name": task_name,
        "task_category": task_category,
    }
    with database.transaction("start run") as session:
        run = TaskRunsWriteService(session).resolve_or_start_run(
            run_id=run_id, task_key=task_key, **start
        )
    status = RunStatus(run.status)
    if status == RunStatus.CANCELLED:
        raise RunCancelledError(run.run_id, task_key)
    if status.is_terminal:
        raise InvalidTransitionError(run.run_id, status.value, RunStatus.RUNNING.value)
    return ClaimedRun.of(run)


@contextmanager
def record_run(
    task_key: str,
    *,
    database: Database | None = None,
    run_id: str | None = None,
    trigger_source: TriggerSource | str = TriggerSource.MANUAL,
    arguments: Mapping[str, Any] | None = None,
    created_by: str | None = None,
    task_name: str | None = None,
    task_category: str | None = None,
    cancel_check_interval_seconds: float = DEFAULT_CANCEL_CHECK_INTERVAL_SECONDS,
) -> Iterator[RunContext]:
    """Record the code inside the ``with`` block as one run of ``task_key``.

    Set ``ctx.result`` to a ``TaskResult`` for the final summary. Without one, the summary
    contains the item counts. An exception marks the run failed and propagates;
    ``RunCancelledError`` ends the block quietly and the run stays cancelled. Names and
    category default to the registered task type, else to the key and ``other``.
    KeyboardInterrupt cancels the run and propagates, also when Ctrl-C arrives while the run
    is being opened (see ``open_run_holding_interrupts``).

    Raises:
        RunCancelledError: the run ``run_id`` was cancelled before it started.
        InvalidTransitionError: the run ``run_id`` has already ended otherwise.
        StorageError: the database failed.
    """
    recorder = open_run_holding_interrupts(
        task_key,
        database=database,
        run_id=run_id,
        trigger_source=trigger_source,
        arguments=arguments,
        created_by=created_by,
        task_name=task_name,
        task_category=task_category,
        cancel_check_interval_seconds=cancel_check_interval_seconds,
    )
    try:
        yield recorder.context
    except RunCancelledError:
        recorder.finish_cancelled()
        return
    except Exception as error:
        recorder.finish_failed(error)
        raise
    except BaseException:
        record_interrupt(recorder)
        raise
    recorder.finish(recorder.context.result)


def open_run_holding_interrupts(task_key: str, **options: Any) -> RunRecorder:
    """Open the run as ``RunRecorder.open(task_key, **options)`` does, with signals held.

    The run's row is written before the recorder that could cancel it exists, so a Ctrl-C in
    between would leave the run running with a heartbeat that goes on while the process lives.
    SIGINT and SIGTERM are therefore held while the run opens (``interrupts_held``) and raised
    again once the recorder exists. A KeyboardInterrupt then cancels the run and propagates.
    Signals interrupt only the main thread, and only there are they held.

    Raises:
        KeyboardInterrupt: Ctrl-C, or SIGTERM under ``sigterm_as_interrupt``, arrived while
            the run opened. The run is cancelled first, unless the open itself failed.
        RunCancelledError, InvalidTransitionError, RunNotFoundError, StorageError: as
            ``RunRecorder.open``.
    """
    recorder: RunRecorder | None = None
    try:
        with interrupts_held():
            recorder = RunRecorder.open(task_key, **options)
    except KeyboardInterrupt:
        if recorder is not None:
            record_interrupt(recorder)
        raise
    return recorder


def record_interrupt(recorder: RunRecorder) -> RunOutcome | None:
    """Cancel the run of an interrupted process and return how it ended, or None on failure.

    The caller re-raises the interrupt either way. A database error raised here would replace
    it, and Ctrl-C would then end ``taskrun run`` with a storage error (exit 1) instead of 130.
    A second Ctrl-C or SIGTERM during the wait for a locked database ends the wait, is logged
    and is not raised. A run left running is ended by the reaper once its heartbeat stops.
    """
    reap_timeout = get_settings().reap_timeout_seconds
    try:
        return recorder.finish_interrupted()
    except TaskRunError as error:
        recorder.context.log.error("run_interrupt_not_recorded", error=str(error),
                                   reap_timeout_seconds=reap_timeout)
    except (KeyboardInterrupt, SystemExit) as again:
        recorder.context.log.error(
            "run_interrupt_not_recorded",
            error=f"interrupted again ({type(again).__name__}) while the cancel was being stored",
            reap_timeout_seconds=reap_timeout,
        )
    return None
