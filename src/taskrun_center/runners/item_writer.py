"""Background writer of a run's item events: several events per short transaction.

The task's thread only appends events to a buffer, so recording an item costs it microseconds.
A writer thread stores them through the write service in batches. A batch is one
transaction, so a crash loses at most the events not yet written (``LINGER_SECONDS`` of work
plus the batch in flight) and everything before them stays recorded.

A terminal status is final. When the run is cancelled while events are still queued, the write
service ignores the queued changes, so those items stay cancelled even if the task finished them
just before the cancellation. Once a write finds the run ended, the writer stores no more events
of it. It counts them and logs the count once, at info level, when it stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from taskrun_center.contract import mask_text
from taskrun_center.errors import DuplicateItemError, StorageError, TaskRunError
from taskrun_center.lifecycle.write_service import (
    ItemCompletion,
    ItemSpec,
    TaskRunsWriteService,
)
from taskrun_center.states import RUN_TERMINAL
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import translate_errors
from taskrun_center.storage.models import TaskRun, TaskRunItem

logger = structlog.get_logger(__name__)

EventKind = Literal["declare", "start", "complete", "fail"]

# Events per transaction: large enough to amortise the commit, small enough that one
# transaction never holds SQLite's write lock for long.
MAX_BATCH = 500
# How long the writer waits for more events before it writes a batch: the delay before an
# item change becomes visible, and the most a crash of the process can lose.
LINGER_SECONDS = 0.05
# Pause between retries of a batch that failed on a database error (doubles up to the max).
RETRY_DELAY_SECONDS = 0.05
MAX_RETRY_DELAY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ItemEvent:
    """One change to an item of the run, in the order the task made it."""

    kind: EventKind
    item_type: str
    item_key: str
    item_name: str | None = None
    metrics: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    error_message: str | None = None


class ItemWriter:
    """Store item events of one run from a background thread.

    ``on_item_ended_run`` is called from the writer thread when the write service leaves an
    item unchanged because it is already terminal, which happens when the run was cancelled,
    and when a rejected batch turns out to belong to a run that has ended.
    """

    def __init__(
        self,
        database: Database,
        run_id: str,
        task_key: str,
        *,
        on_item_ended_run: Callable[[], None] | None = None,
    ) -> None:
        self.database = database
        self.run_id = run_id
        self.task_key = task_key
        self._on_item_ended_run = on_item_ended_run
        self._buffer: list[ItemEvent] = []
        self._in_flight = 0
        self._flush_waiters = 0
        self._closing = False
        self._handing_over = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._log = logger.bind(run_id=run_id, task_key=task_key)
        #: Events that were not stored: rejected by a rule, or given up after database errors.
        self.dropped = 0
        #: Events not stored because the run had already ended (cancelled from outside, or
        #: failed by the reaper). A terminal status is final, so these are not errors.
        self.ignored = 0
        #: The run's terminal status once a write found the run ended, else None.
        self.ended_status: str | None = None
        self._ignored_logged = False

    def put(self, event: ItemEvent) -> None:
        """Queue ``event`` for writing; returns at once."""
        with self._condition:
            if self._thread is None:
                # Started with the first event: a run without items never pays for a thread.
                self._thread = threading.Thread(
                    target=self._loop, name=f"taskrun-items-{self.run_id[:8]}", daemon=True
                )
                self._thread.start()
            self._buffer.append(event)
            # Wake the writer only when it sleeps on an empty buffer or a batch is full; it
            # collects the events in between by itself.
            if len(self._buffer) == 1 or len(self._buffer) >= MAX_BATCH:
                self._condition.notify_all()

    def flush(self) -> None:
        """Wait until every queued event is stored (or dropped after a logged error)."""
        with self._condition:
            self._flush_waiters += 1
            self._condition.notify_all()
            try:
                while self._buffer or self._in_flight:
                    self._condition.wait()
            finally:
                self._flush_waiters -= 1

    def close(self) -> None:
        """Store what is queued, then stop the writer thread and log the ignored events."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._join_thread()
        self.log_ignored()

    def log_ignored(self) -> None:
        """Log once, at info level, how many events the ended run ignored (if any)."""
        if self.ignored and not self._ignored_logged:
            self._ignored_logged = True
            self._log.info("item_events_ignored", events=self.ignored,
                           run_status=self.ended_status)

    def ignore_if_run_ended(self, events: Sequence[ItemEvent], *, read_status: bool) -> bool:
        """Count ``events`` as ignored and return True when the run has ended.

        Without ``read_status`` only a status that an earlier write found counts. With it, the
        run's status is read when it is not known yet.
        """
        ended = self._run_has_ended() if read_status else self.ended_status is not None
        if ended:
            self.ignored += len(events)
        return ended

    def _join_thread(self) -> None:
        if self._thread is None:
            return
        try:
            self._thread.join()
        except RuntimeError:
            # Ctrl-C or SIGTERM raised inside Thread.start() leaves the thread unmarked as
            # started. If it runs, it sees ``_closing`` and ends by itself.
            self._log.info("item_writer_not_joined")

    def hand_over(self) -> list[ItemEvent]:
        """Stop the writer thread and return the queued events that it has not written.

        The caller stores them with ``store`` in a transaction of its own, so the run's end
        carries the last events. A batch that the thread is writing at that moment is finished
        first. When its write fails on a database error, the thread stops retrying and the
        batch comes back first in the list, so the caller's retries cover it. The wait is then
        at most one try, on SQLite one busy timeout. Every queued event is handed over, however
        many: written by this thread, a batch would get five tries (about 25 s of a locked
        file) and then be dropped, while the run's end retries for its whole budget. The caller
        does not wait for the thread to exit, which it does when it next wakes.
        """
        with self._condition:
            self._closing = True
            self._handing_over = True
            self._condition.notify_all()
            while self._in_flight:
                self._condition.wait()
            events, self._buffer = self._buffer, []
            return events

    def store(
        self,
        session: Session | Connection,
        events: Sequence[ItemEvent],
        *,
        service: TaskRunsWriteService | None = None,
    ) -> None:
        """Store ``events`` in the caller's transaction ``session``; the caller commits.

        ``service`` is the caller's write service on ``session``, when it has one.

        Raises:
            TaskRunError: the write service rejected an event; roll back and call
                ``store_separately``.
            StorageError: the database failed.
        """
        service = service or TaskRunsWriteService(session)
        if self._store(session, service, events) and self._on_item_ended_run is not None:
            self._on_item_ended_run()

    def store_separately(self, events: list[ItemEvent]) -> None:
        """Store ``events`` in transactions of their own, with the writer's retries."""
        if events:
            self._write_with_retries(events)

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._buffer and not self._closing:
                    self._condition.wait()
                if self._handing_over or (not self._buffer and self._closing):
                    return
                self._linger()
                if self._handing_over:
                    return
                batch = self._buffer[:MAX_BATCH]
                del self._buffer[:MAX_BATCH]
                self._in_flight = len(batch)

            self._write_with_retries(batch, hand_back=True)

            with self._condition:
                self._in_flight = 0
                self._condition.notify_all()

    def _linger(self) -> None:
        # Called with the condition held: wait a moment for more events so that a batch
        # carries many items, unless someone waits for the flush or the run is ending.
        deadline = time.monotonic() + LINGER_SECONDS
        while len(self._buffer) < MAX_BATCH and not self._closing and not self._flush_waiters:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._condition.wait(remaining)

    def _write_with_retries(self, batch: list[ItemEvent], *, hand_back: bool = False) -> None:
        # ``hand_back`` is set only on the writer thread. There a batch that failed goes back
        # to the buffer once ``hand_over`` waits for it.
        if self.ignore_if_run_ended(batch, read_status=False):
            return
        delay = RETRY_DELAY_SECONDS
        attempt = 1
        while True:
            try:
                self._write_batch(batch)
                return
            except StorageError as error:
                if self._stops_retrying(batch, attempt, error, hand_back=hand_back):
                    return
            except TaskRunError as error:
                self._handle_rejected(batch, error)
                return
            time.sleep(delay)
            if hand_back and self._give_back(batch):
                return
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
            attempt += 1

    def _stops_retrying(
        self, batch: list[ItemEvent], attempt: int, error: StorageError, *, hand_back: bool
    ) -> bool:
        # A locked SQLite file or a dropped connection passes, so retry. Give up only
        # when the run is ending and the database still fails, so finalizing cannot hang.
        self._log.warning(
            "item_batch_write_failed", events=len(batch), attempt=attempt, error=str(error)
        )
        if hand_back and self._give_back(batch):
            return True
        if self._closing and attempt >= 5:
            self._log.error("item_batch_dropped", events=len(batch), error=str(error))
            self.dropped += len(batch)
            return True
        return False

    def _handle_rejected(self, batch: list[ItemEvent], error: TaskRunError) -> None:
        # The items of a run that ended were never declared (the write service ignores
        # declarations then), so their changes fail as unknown items.
        if self.ignore_if_run_ended(batch, read_status=True):
            self._notify_run_ended()
            return
        # A rule of the write service rejected one event (a duplicate item, an unknown
        # item): store the others one by one and log the rejected one.
        self._log.warning("item_batch_rejected", events=len(batch), error=str(error))
        self._write_one_by_one(batch)

    def _give_back(self, batch: list[ItemEvent]) -> bool:
        """Put ``batch`` back in front of the buffer when ``hand_over`` waits for it.

        The run's final write then stores these events within its own retry budget, rather
        than wait while this thread retries them until it drops them.
        """
        with self._condition:
            if not self._handing_over:
                return False
            self._buffer[:0] = batch
        self._log.info("item_batch_handed_back", events=len(batch))
        return True

    def _write_one_by_one(self, batch: list[ItemEvent]) -> None:
        for event in batch:
            try:
                self._write_batch([event])
            except DuplicateItemError:
                # Declared by another writer of the run first: the item exists as intended.
                self._log.debug("item_already_declared", item_type=event.item_type,
                                item_key=mask_text(event.item_key[:300]).value)
                continue
            except TaskRunError as error:
                # Masked here too, for programs that log through a structlog set-up without
                # the masking processor of logging_setup.
                self._log.error(
                    "item_event_dropped",
                    kind=event.kind,
                    item_type=mask_text(event.item_type[:200]).value,
                    item_key=mask_text(event.item_key[:300]).value,
                    error=mask_text(str(error)).value,
                )
                self.dropped += 1

    def _write_batch(self, batch: Sequence[ItemEvent]) -> None:
        with self.database.transaction("record items") as session:
            unchanged = self._store(session, TaskRunsWriteService(session), batch)
        if unchanged:
            # Nothing of a run that ended changes, so the write service ignored the whole batch.
            self.ignore_if_run_ended(batch, read_status=True)
            self._notify_run_ended()

    def _notify_run_ended(self) -> None:
        if self._on_item_ended_run is not None:
            self._on_item_ended_run()

    def _run_has_ended(self) -> bool:
        if self.ended_status is None:
            status = self._read_run_status()
            if status in RUN_TERMINAL:
                self.ended_status = status
        return self.ended_status is not None

    def _read_run_status(self) -> str | None:
        try:
            with translate_errors("read run status"), self.database.session() as session:
                return session.scalar(select(TaskRun.status).where(TaskRun.run_id == self.run_id))
        except StorageError as error:
            # The batch is then handled as for a run in progress, which logs its errors.
            self._log.warning("item_run_status_unread", error=str(error))
            return None

    def _store(
        self,
        session: Session | Connection,
        service: TaskRunsWriteService,
        batch: Sequence[ItemEvent],
    ) -> int:
        # Returns how many events found their item already ended. Within one transaction the
        # order between different items does not matter to readers, so the batch is
        # regrouped. Declarations go in one init_items call and completions in one
        # complete_items call; starts and failures follow one by one. The start of an item
        # that also ends in the batch is skipped.
        declared = [
            ItemSpec(event.item_type, event.item_key, event.item_name)
            for event in batch
            if event.kind == "declare"
        ]
        ended = {
            (event.item_type, event.item_key)
            for event in batch
            if event.kind in ("complete", "fail")
        }
        starts = [
            event
            for event in batch
            if event.kind == "start" and (event.item_type, event.item_key) not in ended
        ]
        new_items = {(spec.item_type, spec.item_key) for spec in declared}
        born_completed, completions = _split_completions(batch, new_items)
        failures = [event for event in batch if event.kind == "fail"]

        # Items declared in this batch do not exist before it, so there is nothing to lock for
        # them; a batch of new items alone saves the round trip.
        existing_keys = {
            event.item_key
            for event in batch
            if (event.item_type, event.item_key) not in new_items
        }
        if existing_keys:
            _lock_items(session, self.run_id, existing_keys)

        unchanged = 0
        if declared:
            # An item declared and completed in this batch is inserted completed, which saves
            # the completion's UPDATE. A run that ended takes none of them.
            added = service.init_items(self.run_id, declared, completions=born_completed)
            unchanged += len(declared) if not added else 0
        for event in starts:
            unchanged += not service.start_item(self.run_id, event.item_type, event.item_key)
        if completions:
            unchanged += len(completions) - service.complete_items(self.run_id, completions)
        for event in failures:
            unchanged += not _fail(service, self.run_id, event)
        return unchanged


def _split_completions(
    batch: Sequence[ItemEvent], new_items: set[tuple[str, str]]
) -> tuple[list[ItemCompletion], list[ItemCompletion]]:
    # Returns the first completion of each item declared in the batch, then every other
    # completion. Completions are applied before failures either way, so an item of the batch
    # that both completes and fails ends completed, as complete_items alone would leave it.
    first: list[ItemCompletion] = []
    rest: list[ItemCompletion] = []
    seen: set[tuple[str, str]] = set()
    for event in batch:
        if event.kind != "complete":
            continue
        completion = ItemCompletion(event.item_type, event.item_key, event.metrics, event.details)
        key = (event.item_type, event.item_key)
        if key in new_items and key not in seen:
            seen.add(key)
            first.append(completion)
        else:
            rest.append(completion)
    return first, rest


def _lock_items(session: Session | Connection, run_id: str, item_keys: set[str]) -> None:
    # The batch changes its items in regrouped order and moves the run's counters in between.
    # Its items are locked in id order up front, as cancel and mark-failed lock theirs, so a
    # batch and a cancel of the same run take item locks in one order and cannot deadlock.
    session.execute(
        select(TaskRunItem.id)
        .where(TaskRunItem.run_id == run_id, TaskRunItem.item_key.in_(sorted(item_keys)))
        .order_by(TaskRunItem.id)
        .with_for_update()
    ).all()


def _fail(service: TaskRunsWriteService, run_id: str, event: ItemEvent) -> bool:
    return service.fail_item(
        run_id,
        event.item_type,
        event.item_key,
        error_message=event.error_message or "",
        details=event.details,
    )
