"""Item batches and run ends of the recorder's write paths, on both databases."""

from __future__ import annotations

from dataclasses import replace

import pytest
import structlog

from taskrun_center.contract import SummaryValidationError, build_base_summary
from taskrun_center.errors import InvalidValueError
from taskrun_center.lifecycle.write_service import (
    ClaimedRun,
    ItemCompletion,
    ItemSpec,
    TaskRunsWriteService,
)
from taskrun_center.runners import record_run
from taskrun_center.runners.item_writer import MAX_BATCH, ItemEvent, ItemWriter
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.runners.rows import load_items, load_run


def test_complete_items_skips_terminal_items(database: Database) -> None:
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        run_id = service.start_run(task_key="batch_demo").run_id
        service.init_items(run_id, [ItemSpec("row", key) for key in "abc"])
        service.fail_item(run_id, "row", "b", error_message="broken")

    with database.transaction() as session:
        changed = TaskRunsWriteService(session).complete_items(
            run_id,
            [
                ItemCompletion("row", "a", metrics={"n": 1}),
                ItemCompletion("row", "b", metrics={"n": 2}),
                ItemCompletion("row", "c"),
            ],
        )

    assert changed == 2
    items = load_items(database, run_id)
    assert (items["a"].status, items["b"].status, items["c"].status) == (
        "completed",
        "failed",
        "completed",
    )
    assert items["a"].metrics_json == {"n": 1}
    assert items["c"].metrics_json is None
    run = load_run(database, run_id)
    assert (run.progress_completed, run.progress_failed) == (2, 1)


def _running_run(database: Database, task_key: str = "batch_demo") -> ClaimedRun:
    with database.transaction() as session:
        return ClaimedRun.of(TaskRunsWriteService(session).start_run(task_key=task_key))


def test_init_items_inserts_completions_completed(database: Database) -> None:
    run_id = _running_run(database).run_id

    with database.transaction() as session:
        added = TaskRunsWriteService(session).init_items(
            run_id,
            [ItemSpec("row", key) for key in "abc"],
            completions=[ItemCompletion("row", "a", metrics={"n": 1}), ItemCompletion("row", "c")],
        )

    assert added == 3
    items = load_items(database, run_id)
    assert (items["a"].status, items["b"].status, items["c"].status) == (
        "completed",
        "pending",
        "completed",
    )
    assert items["a"].metrics_json == {"n": 1}
    assert items["c"].metrics_json is None
    assert items["a"].started_at is not None
    assert items["a"].completed_at is not None
    assert items["b"].started_at is None
    run = load_run(database, run_id)
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (3, 2, 0)


def test_init_items_rejects_undeclared_completion(database: Database) -> None:
    run_id = _running_run(database).run_id

    with pytest.raises(InvalidValueError), database.transaction() as session:
        TaskRunsWriteService(session).init_items(
            run_id, [ItemSpec("row", "a")], completions=[ItemCompletion("row", "z")]
        )

    assert load_items(database, run_id) == {}
    assert load_run(database, run_id).progress_total == 0


def test_init_items_on_cancelled_run_adds_nothing(database: Database) -> None:
    run_id = _running_run(database).run_id
    with database.transaction() as session:
        TaskRunsWriteService(session).cancel_run(run_id)

    with database.transaction() as session:
        added = TaskRunsWriteService(session).init_items(
            run_id, [ItemSpec("row", "a")], completions=[ItemCompletion("row", "a")]
        )

    assert added == 0
    assert load_items(database, run_id) == {}
    assert load_run(database, run_id).progress_completed == 0


def test_writer_batch_keeps_first_completion_of_new_item(database: Database) -> None:
    run_id = _running_run(database).run_id
    ended_run_calls: list[bool] = []
    writer = ItemWriter(database, run_id, "batch_demo",
                        on_item_ended_run=lambda: ended_run_calls.append(True))

    for event in [
        ItemEvent("declare", "row", "a"),
        ItemEvent("start", "row", "a"),
        ItemEvent("complete", "row", "a", metrics={"n": 1}),
        ItemEvent("declare", "row", "b"),
        ItemEvent("start", "row", "b"),
        ItemEvent("fail", "row", "b", error_message="broken"),
        ItemEvent("start", "row", "a"),
        ItemEvent("complete", "row", "a", metrics={"n": 2}),
    ]:
        writer.put(event)
    writer.close()

    items = load_items(database, run_id)
    assert (items["a"].status, items["b"].status) == ("completed", "failed")
    assert items["a"].metrics_json == {"n": 1}
    assert items["b"].error_message == "broken"
    run = load_run(database, run_id)
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (2, 1, 1)
    # The second completion of "a" found it completed already, as a cancelled run's items are.
    assert ended_run_calls == [True]


def test_finalize_of_claimed_run_recounts_items(database: Database) -> None:
    claimed = _running_run(database)
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        service.init_items(claimed.run_id, [ItemSpec("row", "a"), ItemSpec("row", "b")])
        service.complete_item(claimed.run_id, "row", "a")
        service.fail_item(claimed.run_id, "row", "b", error_message="broken")

    with database.transaction() as session:
        final = TaskRunsWriteService(session).finalize_run_with_summary(
            claimed.run_id, None, claimed=claimed
        )

    assert final is RunStatus.FAILED
    run = load_run(database, claimed.run_id)
    assert run.status == RunStatus.FAILED.value
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (2, 1, 1)
    assert run.completed_at is not None
    assert run.duration_ms is not None


def test_finalize_of_claimed_run_keeps_cancel(database: Database) -> None:
    claimed = _running_run(database)
    with database.transaction() as session:
        TaskRunsWriteService(session).cancel_run(claimed.run_id)

    with database.transaction() as session:
        final = TaskRunsWriteService(session).finalize_run_with_summary(
            claimed.run_id, None, status=RunStatus.COMPLETED, claimed=claimed
        )

    assert final is None
    assert load_run(database, claimed.run_id).status == RunStatus.CANCELLED.value


def test_finalize_of_claimed_run_checks_stored_task_key(database: Database) -> None:
    claimed = _running_run(database)
    other = replace(claimed, task_key="another_task")
    # Valid for the claimed task key, so only the stored task key can reject it.
    summary = build_base_summary("another_task")

    with pytest.raises(SummaryValidationError), database.transaction() as session:
        TaskRunsWriteService(session).finalize_run_with_summary(
            claimed.run_id, summary, claimed=other
        )

    assert load_run(database, claimed.run_id).status == RunStatus.RUNNING.value


def test_run_end_stores_rejected_items_separately(database: Database) -> None:
    with structlog.testing.capture_logs() as logs, record_run(
        "batch_demo", database=database
    ) as ctx:
        # Another writer declares the item first, so the run's end cannot declare it again.
        with database.transaction() as session:
            TaskRunsWriteService(session).init_items(ctx.run_id, [ItemSpec("row", "a")])
        with ctx.item("row", "a"):
            pass
        with ctx.item("row", "b"):
            pass

    run = load_run(database, ctx.run_id)
    assert run.status == RunStatus.COMPLETED.value
    items = load_items(database, ctx.run_id)
    assert (items["a"].status, items["b"].status) == ("completed", "completed")
    assert (run.progress_total, run.progress_completed) == (2, 2)
    events = [entry["event"] for entry in logs]
    assert "run_end_with_items_failed" in events


@pytest.mark.parametrize(
    ("ending", "expected_status"),
    [
        ("none", RunStatus.RUNNING),
        ("finalize", RunStatus.COMPLETED),
        ("mark_failed", RunStatus.FAILED),
        ("cancel", RunStatus.CANCELLED),
    ],
)
def test_deferred_counters_count_each_item_once(
    database: Database, ending: str, expected_status: RunStatus
) -> None:
    claimed = _running_run(database)

    with database.write_connection() as connection:
        service = TaskRunsWriteService(connection, defer_counters=True)
        service.init_items(
            claimed.run_id,
            [ItemSpec("row", "a"), ItemSpec("row", "b")],
            completions=[ItemCompletion("row", "a")],
        )
        if ending == "finalize":
            service.finalize_run_with_summary(claimed.run_id, None, claimed=claimed)
        elif ending == "mark_failed":
            service.mark_run_failed(claimed.run_id, "stopped")
        elif ending == "cancel":
            service.cancel_run(claimed.run_id)
        service.apply_deferred_counters()

    run = load_run(database, claimed.run_id)
    assert run.status == expected_status.value
    assert run.progress_total == 2
    assert run.progress_completed == 1
    expected_failed = 1 if ending == "mark_failed" else 0
    assert run.progress_failed == expected_failed


@pytest.mark.parametrize("stop", ["close", "hand_over"])
def test_stop_after_interrupted_thread_start(sqlite_database: Database, stop: str) -> None:
    """Ctrl-C inside Thread.start() leaves an unstarted thread; stopping must not raise."""
    import threading

    writer = ItemWriter(sqlite_database, "run-1", "task")
    writer._thread = threading.Thread(target=lambda: None)

    result = getattr(writer, stop)()

    assert result in (None, [])
    assert not writer._thread.is_alive()


def test_hand_over_returns_every_queued_event(sqlite_database: Database) -> None:
    """More than a batch queued at the run's end goes to the end's transaction, none dropped."""
    writer = ItemWriter(sqlite_database, "run-1", "task")
    queued = [ItemEvent("declare", "row", str(index)) for index in range(MAX_BATCH + 100)]
    writer._buffer.extend(queued)

    handed = writer.hand_over()

    assert handed == queued
    assert writer.dropped == 0
