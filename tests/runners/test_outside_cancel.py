"""A run cancelled while its task still records items: the item writer logs one info line."""

from __future__ import annotations

from typing import Any

import structlog

from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.runners import record_run
from taskrun_center.storage.engine import Database
from tests.runners import lock_tasks
from tests.runners.rows import load_items, load_run

# Long enough that only an item write that found the run ended makes the task read its status.
NO_PERIODIC_CHECK = 3600.0
ITEMS_AFTER_CANCEL = 50
# SQLite's busy timeout in the locked-file test: each write try on the locked file waits this long.
LOCKED_BUSY_TIMEOUT_MS = 200


def _cancel(database: Database, run_id: str) -> None:
    with database.transaction("cancel a run from the console") as session:
        assert TaskRunsWriteService(session).cancel_run(run_id)


def _writer_logs(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events = {"item_batch_rejected", "item_event_dropped", "item_batch_write_failed",
              "item_batch_dropped", "run_end_with_items_failed", "item_events_ignored"}
    return [log for log in logs if log["event"] in events]


def _warnings(logs: list[dict[str, Any]]) -> list[str]:
    # The task's own failed items are warnings by design, so they are left out.
    return [log["event"] for log in logs
            if log["log_level"] in ("warning", "error") and log["event"] != "item_failed"]


def _record_after_cancel(
    database: Database, *, declare_first: bool = False, fail_items: bool = False,
    flush_each: bool = True,
) -> tuple[str, int]:
    # Returns the run_id and how many items the task started after the cancel.
    started_after_cancel = 0
    with record_run("adhoc_outside_cancel", database=database,
                    cancel_check_interval_seconds=NO_PERIODIC_CHECK) as ctx:
        if declare_first:
            ctx.init_items([ItemSpec("row", str(index))
                            for index in range(ITEMS_AFTER_CANCEL + 1)])
        with ctx.item("row", "0"):
            pass
        ctx.flush_items()
        _cancel(database, ctx.run_id)
        for index in range(1, ITEMS_AFTER_CANCEL + 1):
            with ctx.item("row", str(index)) as item:
                started_after_cancel += 1
                if fail_items:
                    item.fail("the source row is invalid")
            if flush_each:
                ctx.flush_items()
    return ctx.run_id, started_after_cancel


def test_undeclared_items_after_cancel(database: Database) -> None:
    with structlog.testing.capture_logs() as logs:
        run_id, started = _record_after_cancel(database)

    writer_logs = _writer_logs(logs)
    assert [log["event"] for log in writer_logs] == ["item_events_ignored"]
    assert _warnings(logs) == []
    ignored = writer_logs[0]
    assert ignored["log_level"] == "info"
    assert ignored["run_status"] == "cancelled"
    # The declaration, start and completion of the one item recorded after the cancel.
    assert ignored["events"] == 3
    assert started == 1
    assert load_run(database, run_id).status == "cancelled"
    assert set(load_items(database, run_id)) == {"0"}


def test_failed_items_after_cancel(database: Database) -> None:
    with structlog.testing.capture_logs() as logs:
        run_id, started = _record_after_cancel(database, fail_items=True)

    writer_logs = _writer_logs(logs)
    assert [log["event"] for log in writer_logs] == ["item_events_ignored"]
    assert _warnings(logs) == []
    assert writer_logs[0]["events"] == 3
    assert started == 1
    assert set(load_items(database, run_id)) == {"0"}


def test_unflushed_items_after_cancel(database: Database) -> None:
    """Items recorded faster than the writer stores them are ignored in batches."""
    with structlog.testing.capture_logs() as logs:
        run_id, started = _record_after_cancel(database, flush_each=False)

    writer_logs = _writer_logs(logs)
    assert [log["event"] for log in writer_logs] == ["item_events_ignored"]
    assert _warnings(logs) == []
    assert writer_logs[0]["events"] == 3 * started
    assert load_run(database, run_id).status == "cancelled"
    assert set(load_items(database, run_id)) == {"0"}


def test_declared_items_after_cancel(database: Database) -> None:
    with structlog.testing.capture_logs() as logs:
        run_id, started = _record_after_cancel(database, declare_first=True)

    writer_logs = _writer_logs(logs)
    assert [log["event"] for log in writer_logs] == ["item_events_ignored"]
    assert _warnings(logs) == []
    assert writer_logs[0]["events"] == 2
    assert started == 1
    items = load_items(database, run_id)
    assert items["0"].status == "completed"
    assert items["1"].status == "cancelled"
    assert load_run(database, run_id).status == "cancelled"


def test_cancel_seen_by_ctx_cancelled(database: Database) -> None:
    """``ctx.cancelled`` turns True once the writer found a failed item's run ended."""
    seen_after: list[int] = []
    with record_run("adhoc_outside_cancel", database=database,
                    cancel_check_interval_seconds=NO_PERIODIC_CHECK) as ctx:
        _cancel(database, ctx.run_id)
        for index in range(ITEMS_AFTER_CANCEL):
            if ctx.cancelled:
                seen_after.append(index)
                break
            with ctx.item("row", str(index)) as item:
                item.fail("the source row is invalid")
            ctx.flush_items()

    assert seen_after == [1]


def test_cancelled_run_drops_queue_on_lock(sqlite_url: str) -> None:
    """The events queued when the task stops are counted as ignored, with no write retries."""
    database = Database(sqlite_url, busy_timeout_ms=LOCKED_BUSY_TIMEOUT_MS)
    try:
        with structlog.testing.capture_logs() as logs, record_run(
            "adhoc_outside_cancel", database=database,
            cancel_check_interval_seconds=NO_PERIODIC_CHECK,
        ) as ctx:
            with ctx.item("row", "0"):
                pass
            ctx.flush_items()
            _cancel(database, ctx.run_id)
            lock_tasks.hold_write_lock(sqlite_url)
            for index in range(1, ITEMS_AFTER_CANCEL + 1):
                with ctx.item("row", str(index)):
                    pass
            # The next check reads the status, finds the cancel and stops the task.
            ctx.request_status_check()
            ctx.check_cancelled()
        lock_tasks.release_locks()

        events = [log["event"] for log in _writer_logs(logs)]
        # At most the one try of a batch that the writer had begun before the task stopped.
        assert events.count("item_batch_write_failed") <= 1
        assert "item_batch_dropped" not in events
        [ignored] = [log for log in logs if log["event"] == "item_events_ignored"]
        assert ignored["events"] == 3 * ITEMS_AFTER_CANCEL
        assert ignored["run_status"] == "cancelled"
        assert load_run(database, ctx.run_id).status == "cancelled"
        assert set(load_items(database, ctx.run_id)) == {"0"}
    finally:
        lock_tasks.release_locks()
        database.dispose()
