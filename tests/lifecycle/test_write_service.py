"""The write service's run and item lifecycle, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import structlog
from sqlalchemy import select

from taskrun_center.contract import SummaryValidationError
from taskrun_center.errors import (
    DuplicateItemError,
    InvalidValueError,
    ItemNotFoundError,
    RunNotFoundError,
)
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.factories import DEFAULT_TASK_KEY, base_summary, load_run, make_run

UNKNOWN_RUN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def items_by_key(db: Database, run_id: str) -> dict[str, TaskRunItem]:
    with db.session() as session:
        rows = session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).all()
        return {row.item_key: row for row in rows}


def start(db: Database, **fields: object) -> str:
    with db.transaction() as session:
        return TaskRunsWriteService(session).start_run(task_key=DEFAULT_TASK_KEY, **fields).run_id


def with_items(db: Database, count: int) -> str:
    run_id = start(db)
    with db.transaction() as session:
        specs = [ItemSpec("step", str(index), f"step {index}") for index in range(count)]
        TaskRunsWriteService(session).init_items(run_id, specs)
    return run_id


class TestStartRun:
    def test_stores_base_envelope_without_summary(self, db: Database) -> None:
        run = load_run(db, start(db))

        assert run.status == RunStatus.RUNNING
        assert set(run.summary_json) == {"version", "common", "ext"}
        assert run.summary_json["ext"]["type"] == DEFAULT_TASK_KEY
        assert run.is_skipped is False
        assert run.started_at is not None
        assert run.started_at.tzinfo is not None

    def test_pending_status_for_queued_run(self, db: Database) -> None:
        run = load_run(db, start(db, status=RunStatus.PENDING))

        assert run.status == RunStatus.PENDING
        assert run.started_at is None
        assert run.created_at is not None

    def test_rejects_raw_dict_and_stores_nothing(self, db: Database) -> None:
        with pytest.raises(SummaryValidationError), db.transaction() as session:
            TaskRunsWriteService(session).start_run(
                task_key=DEFAULT_TASK_KEY, summary_json={"records": 3, "skipped": False}
            )

        with db.session() as session:
            assert session.scalar(select(TaskRun.id)) is None

    def test_rejects_ext_type_of_other_task(self, db: Database) -> None:
        with pytest.raises(SummaryValidationError), db.transaction() as session:
            TaskRunsWriteService(session).start_run(
                task_key=DEFAULT_TASK_KEY, summary_json=base_summary("other_task")
            )

    def test_skipped_flag_sets_is_skipped(self, db: Database) -> None:
        summary = base_summary()
        summary["common"]["flags"] = {"skipped": True, "skip_reason": "no new data"}

        run = load_run(db, start(db, summary_json=summary))

        assert run.is_skipped is True

    def test_rejects_taken_run_id(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(InvalidValueError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).start_run(task_key=DEFAULT_TASK_KEY, run_id=run_id)

        assert raised.value.field == "run_id"

    def test_long_name_with_nul_cut_and_cleaned(self, db: Database) -> None:
        run = load_run(db, start(db, task_name="同步\x00" + "名" * 300))

        assert len(run.task_name) == 255
        assert run.task_name.startswith("同步\ufffd名")
        assert run.task_name.endswith("…")

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("trigger_source", "cron"),
            ("status", RunStatus.COMPLETED),
            ("run_id", "not-a-uuid"),
            ("task_key", "k" * 129),
            ("created_by", "user\x00name"),
        ],
    )
    def test_rejects_invalid_field(self, db: Database, field: str, value: object) -> None:
        fields = {"task_key": DEFAULT_TASK_KEY, field: value}

        with pytest.raises(InvalidValueError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).start_run(**fields)  # type: ignore[arg-type]

        assert raised.value.field == field


class TestResolveOrStartRun:
    def test_reuses_pending_run_and_starts_it(self, db: Database) -> None:
        run_id = start(db, status=RunStatus.PENDING)

        with db.transaction() as session:
            run = TaskRunsWriteService(session).resolve_or_start_run(
                run_id=run_id, task_key=DEFAULT_TASK_KEY
            )

        assert run.run_id == run_id
        assert run.status == RunStatus.RUNNING
        assert load_run(db, run_id).status == RunStatus.RUNNING
        assert load_run(db, run_id).started_at is not None

    def test_starts_new_run_without_run_id(self, db: Database) -> None:
        with db.transaction() as session:
            run = TaskRunsWriteService(session).resolve_or_start_run(
                run_id=None, task_key=DEFAULT_TASK_KEY, created_by="alice"
            )

        stored = load_run(db, run.run_id)
        assert stored.status == RunStatus.RUNNING
        assert stored.created_by == "alice"

    def test_rejects_unknown_run_id(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).resolve_or_start_run(
                run_id=UNKNOWN_RUN_ID, task_key=DEFAULT_TASK_KEY
            )

        assert raised.value.run_id == UNKNOWN_RUN_ID

    def test_rejects_run_of_other_task(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(InvalidValueError), db.transaction() as session:
            TaskRunsWriteService(session).resolve_or_start_run(run_id=run_id, task_key="other")

    def test_returns_cancelled_run_unchanged(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.CANCELLED).run_id

        with db.transaction() as session:
            run = TaskRunsWriteService(session).resolve_or_start_run(
                run_id=run_id, task_key=DEFAULT_TASK_KEY
            )

        assert run.status == RunStatus.CANCELLED


class TestInitItems:
    def test_creates_pending_items_and_sets_total(self, db: Database) -> None:
        run_id = with_items(db, 3)

        items = items_by_key(db, run_id)
        assert sorted(items) == ["0", "1", "2"]
        assert {item.status for item in items.values()} == {ItemStatus.PENDING}
        assert items["1"].item_name == "step 1"
        assert load_run(db, run_id).progress_total == 3

    def test_second_call_adds_to_total(self, db: Database) -> None:
        run_id = with_items(db, 2)

        with db.transaction() as session:
            added = TaskRunsWriteService(session).init_items(run_id, [ItemSpec("step", "9")])

        assert added == 1
        assert load_run(db, run_id).progress_total == 3

    def test_rejects_keys_repeated_in_call(self, db: Database) -> None:
        run_id = start(db)
        specs = [ItemSpec("step", "a"), ItemSpec("step", "b"), ItemSpec("step", "a")]

        with pytest.raises(DuplicateItemError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).init_items(run_id, specs)

        assert raised.value.duplicates == [("step", "a")]
        assert items_by_key(db, run_id) == {}

    def test_rejects_keys_run_already_has(self, db: Database) -> None:
        run_id = with_items(db, 2)

        with pytest.raises(DuplicateItemError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).init_items(
                run_id, [ItemSpec("step", "5"), ItemSpec("step", "1")]
            )

        assert raised.value.duplicates == [("step", "1")]
        assert sorted(items_by_key(db, run_id)) == ["0", "1"]
        assert load_run(db, run_id).progress_total == 2

    def test_same_key_of_other_type_is_allowed(self, db: Database) -> None:
        run_id = start(db)

        with db.transaction() as session:
            count = TaskRunsWriteService(session).init_items(
                run_id, [ItemSpec("host", "a"), ItemSpec("rule", "a")]
            )

        assert count == 2

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).init_items(UNKNOWN_RUN_ID, [ItemSpec("step", "1")])

    def test_ended_run_gets_no_items(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.COMPLETED).run_id

        with db.transaction() as session:
            count = TaskRunsWriteService(session).init_items(run_id, [ItemSpec("step", "1")])

        assert count == 0
        assert items_by_key(db, run_id) == {}

    def test_rejects_too_long_key(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(InvalidValueError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).init_items(run_id, [ItemSpec("step", "k" * 256)])

        assert raised.value.field == "item_key"


class TestItemOperations:
    def test_complete_stores_metrics_and_counts(self, db: Database) -> None:
        run_id = with_items(db, 2)

        with db.transaction() as session:
            done = TaskRunsWriteService(session).complete_item(
                run_id, "step", "0", metrics={"rows": 5}, details={"note": "ok"}
            )

        item = items_by_key(db, run_id)["0"]
        assert done is True
        assert item.status == ItemStatus.COMPLETED
        assert item.metrics_json == {"rows": 5}
        assert item.details_json == {"note": "ok"}
        assert item.started_at is not None
        assert item.completed_at is not None
        assert load_run(db, run_id).progress_completed == 1

    def test_start_then_complete_keeps_start_time(self, db: Database) -> None:
        run_id = with_items(db, 1)

        with db.transaction() as session:
            TaskRunsWriteService(session).start_item(run_id, "step", "0")
        started = items_by_key(db, run_id)["0"].started_at
        with db.transaction() as session:
            service = TaskRunsWriteService(session)
            again = service.start_item(run_id, "step", "0")
            service.complete_item(run_id, "step", "0")

        item = items_by_key(db, run_id)["0"]
        assert again is True
        assert item.started_at == started
        assert item.status == ItemStatus.COMPLETED

    def test_fail_stores_message_and_counts(self, db: Database) -> None:
        run_id = with_items(db, 1)

        with db.transaction() as session:
            TaskRunsWriteService(session).fail_item(
                run_id, "step", "0", error_message="timeout", details={"attempts": 3}
            )

        item = items_by_key(db, run_id)["0"]
        assert item.status == ItemStatus.FAILED
        assert item.error_message == "timeout"
        assert item.details_json == {"attempts": 3}
        assert load_run(db, run_id).progress_failed == 1

    def test_terminal_item_is_final(self, db: Database) -> None:
        run_id = with_items(db, 1)
        with db.transaction() as session:
            TaskRunsWriteService(session).complete_item(run_id, "step", "0", metrics={"n": 1})

        with db.transaction() as session:
            service = TaskRunsWriteService(session)
            results = [
                service.fail_item(run_id, "step", "0", error_message="late"),
                service.cancel_item(run_id, "step", "0"),
                service.start_item(run_id, "step", "0"),
                service.complete_item(run_id, "step", "0", metrics={"n": 2}),
            ]

        item = items_by_key(db, run_id)["0"]
        run = load_run(db, run_id)
        assert results == [False, False, False, False]
        assert item.status == ItemStatus.COMPLETED
        assert item.metrics_json == {"n": 1}
        assert item.error_message is None
        assert run.progress_completed == 1
        assert run.progress_failed == 0

    def test_dates_in_item_json_stored_as_iso(self, db: Database) -> None:
        run_id = with_items(db, 1)
        moment = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)

        with db.transaction() as session:
            TaskRunsWriteService(session).complete_item(
                run_id, "step", "0",
                metrics={"day": date(2026, 3, 1)},
                details={"at": moment, "naive": datetime(2026, 3, 1, 8, 30)},
            )

        item = items_by_key(db, run_id)["0"]
        assert item.metrics_json == {"day": "2026-03-01"}
        assert item.details_json == {
            "at": "2026-03-01T08:30:00+00:00",
            "naive": "2026-03-01T08:30:00+00:00",
        }

    def test_unknown_item_raises(self, db: Database) -> None:
        run_id = with_items(db, 1)

        with pytest.raises(ItemNotFoundError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).complete_item(run_id, "step", "missing")

        assert raised.value.item_key == "missing"

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).fail_item(
                UNKNOWN_RUN_ID, "step", "0", error_message="x"
            )

    def test_item_of_ended_run_unchanged(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.PENDING: 1}, status=RunStatus.COMPLETED).run_id

        with db.transaction() as session:
            done = TaskRunsWriteService(session).complete_item(run_id, "step", "0")

        assert done is False
        assert items_by_key(db, run_id)["0"].status == ItemStatus.PENDING
        assert load_run(db, run_id).progress_completed == 0


class TestWriteSummary:
    def test_stores_valid_summary(self, db: Database) -> None:
        run_id = start(db)

        with db.transaction() as session:
            written = TaskRunsWriteService(session).write_summary(
                run_id, base_summary(accounts=12)
            )

        assert written is True
        assert load_run(db, run_id).summary_json["ext"]["data"] == {"accounts": 12}

    def test_rejects_raw_dict_and_keeps_summary(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(SummaryValidationError), db.transaction() as session:
            TaskRunsWriteService(session).write_summary(run_id, {"records": [1, 2, 3]})

        assert load_run(db, run_id).summary_json["ext"]["data"] == {}

    def test_rejects_ext_type_mismatch(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(SummaryValidationError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).write_summary(run_id, base_summary("other_task"))

        assert "envelope.ext_type_mismatch" in raised.value.rules

    def test_cancelled_run_keeps_summary(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.CANCELLED, summary_json=base_summary(n=1)).run_id

        with db.transaction() as session:
            written = TaskRunsWriteService(session).write_summary(run_id, base_summary(n=2))

        assert written is False
        assert load_run(db, run_id).summary_json["ext"]["data"] == {"n": 1}

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).write_summary(UNKNOWN_RUN_ID, base_summary())


class TestFinalizeRun:
    def test_failed_item_makes_run_failed(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.COMPLETED: 1, ItemStatus.FAILED: 1}).run_id

        with db.transaction() as session:
            status = TaskRunsWriteService(session).finalize_run(run_id)

        run = load_run(db, run_id)
        assert status is RunStatus.FAILED
        assert run.status == RunStatus.FAILED
        assert (run.progress_total, run.progress_completed, run.progress_failed) == (2, 1, 1)
        assert run.completed_at is not None
        assert run.duration_ms is not None
        assert run.duration_ms >= 0

    def test_all_completed_makes_run_completed(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.COMPLETED: 3}).run_id

        with db.transaction() as session:
            status = TaskRunsWriteService(session).finalize_run(run_id)

        assert status is RunStatus.COMPLETED
        assert load_run(db, run_id).progress_completed == 3

    def test_duration_matches_timestamps(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.COMPLETED).run_id

        run = load_run(db, run_id)
        assert run.completed_at is not None
        assert run.started_at is not None
        elapsed_ms = (run.completed_at - run.started_at).total_seconds() * 1000
        assert run.duration_ms is not None
        assert abs(run.duration_ms - elapsed_ms) <= 1

    def test_ended_run_returns_none(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.CANCELLED).run_id

        with db.transaction() as session:
            status = TaskRunsWriteService(session).finalize_run(run_id)

        assert status is None
        assert load_run(db, run_id).status == RunStatus.CANCELLED

    def test_with_summary_and_status_override(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.COMPLETED: 1, ItemStatus.FAILED: 1}).run_id

        with db.transaction() as session:
            status = TaskRunsWriteService(session).finalize_run_with_summary(
                run_id,
                base_summary(synced=1),
                status=RunStatus.COMPLETED_WITH_ERRORS,
                error_message="1 of 2 steps failed",
            )

        run = load_run(db, run_id)
        assert status is RunStatus.COMPLETED_WITH_ERRORS
        assert run.status == RunStatus.COMPLETED_WITH_ERRORS
        assert run.error_message == "1 of 2 steps failed"
        assert run.summary_json["ext"]["data"] == {"synced": 1}
        assert (run.progress_completed, run.progress_failed) == (1, 1)

    def test_with_summary_on_cancelled_run_changes_nothing(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.CANCELLED).run_id

        with db.transaction() as session:
            status = TaskRunsWriteService(session).finalize_run_with_summary(
                run_id, base_summary(n=5), status=RunStatus.COMPLETED
            )

        run = load_run(db, run_id)
        assert status is None
        assert run.status == RunStatus.CANCELLED
        assert run.summary_json["ext"]["data"] == {}

    def test_rejects_non_terminal_override(self, db: Database) -> None:
        run_id = start(db)

        with pytest.raises(InvalidValueError), db.transaction() as session:
            TaskRunsWriteService(session).finalize_run_with_summary(
                run_id, None, status=RunStatus.RUNNING
            )

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).finalize_run(UNKNOWN_RUN_ID)


class TestMarkRunFailed:
    def test_fails_only_unfinished_items(self, db: Database) -> None:
        items = {
            ItemStatus.COMPLETED: 1,
            ItemStatus.CANCELLED: 1,
            ItemStatus.PENDING: 1,
            ItemStatus.RUNNING: 1,
        }
        run_id = make_run(db, items=items).run_id

        with db.transaction() as session:
            marked = TaskRunsWriteService(session).mark_run_failed(run_id, "worker lost")

        stored = items_by_key(db, run_id)
        run = load_run(db, run_id)
        assert marked is True
        assert run.status == RunStatus.FAILED
        assert run.error_message == "worker lost"
        assert stored["0"].status == ItemStatus.COMPLETED
        assert stored["1"].status == ItemStatus.CANCELLED
        assert stored["2"].status == ItemStatus.FAILED
        assert stored["3"].status == ItemStatus.FAILED
        assert stored["3"].error_message == "worker lost"
        assert stored["0"].error_message is None
        assert (run.progress_completed, run.progress_failed) == (1, 2)

    def test_ended_run_returns_false(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.COMPLETED).run_id

        with db.transaction() as session:
            marked = TaskRunsWriteService(session).mark_run_failed(run_id, "late")

        run = load_run(db, run_id)
        assert marked is False
        assert run.status == RunStatus.COMPLETED
        assert run.error_message is None


class TestCancelRun:
    def test_cancels_unfinished_items_keeps_completed(self, db: Database) -> None:
        items = {ItemStatus.COMPLETED: 1, ItemStatus.RUNNING: 1, ItemStatus.PENDING: 1}
        run_id = make_run(db, items=items).run_id

        with db.transaction() as session:
            cancelled = TaskRunsWriteService(session).cancel_run(run_id)

        stored = items_by_key(db, run_id)
        run = load_run(db, run_id)
        assert cancelled is True
        assert run.status == RunStatus.CANCELLED
        assert run.completed_at is not None
        assert stored["0"].status == ItemStatus.COMPLETED
        assert stored["1"].status == ItemStatus.CANCELLED
        assert stored["2"].status == ItemStatus.CANCELLED

    def test_late_complete_after_cancel_changes_nothing(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.RUNNING: 1}, status=RunStatus.CANCELLED).run_id

        with db.transaction() as session:
            done = TaskRunsWriteService(session).complete_item(
                run_id, "step", "0", metrics={"rows": 1}
            )

        item = items_by_key(db, run_id)["0"]
        assert done is False
        assert item.status == ItemStatus.CANCELLED
        assert item.metrics_json is None
        assert load_run(db, run_id).progress_completed == 0

    def test_pending_run_can_be_cancelled(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.PENDING).run_id

        with db.transaction() as session:
            cancelled = TaskRunsWriteService(session).cancel_run(run_id)

        assert cancelled is True
        assert load_run(db, run_id).status == RunStatus.CANCELLED

    def test_ended_run_returns_false(self, db: Database) -> None:
        run_id = make_run(db, items={ItemStatus.PENDING: 1}, status=RunStatus.FAILED).run_id

        with db.transaction() as session:
            cancelled = TaskRunsWriteService(session).cancel_run(run_id)

        assert cancelled is False
        assert load_run(db, run_id).status == RunStatus.FAILED
        assert items_by_key(db, run_id)["0"].status == ItemStatus.PENDING

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).cancel_run(UNKNOWN_RUN_ID)


class TestHeartbeat:
    def test_records_sign_of_life(self, db: Database) -> None:
        run_id = start(db)

        with db.transaction() as session:
            alive = TaskRunsWriteService(session).heartbeat(run_id)

        assert alive is True
        assert load_run(db, run_id).heartbeat_at is not None

    def test_ended_run_returns_false(self, db: Database) -> None:
        run_id = make_run(db, status=RunStatus.CANCELLED).run_id

        with db.transaction() as session:
            alive = TaskRunsWriteService(session).heartbeat(run_id)

        assert alive is False
        assert load_run(db, run_id).heartbeat_at is None

    def test_unknown_run_raises(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).heartbeat(UNKNOWN_RUN_ID)


@pytest.mark.postgres
def test_duration_independent_of_session_time_zone(postgres_url: str) -> None:
    far_east = Database(f"{postgres_url}?options=-c%20timezone%3DPacific/Kiritimati")
    far_west = Database(f"{postgres_url}?options=-c%20timezone%3DAmerica/Los_Angeles")
    with far_east.transaction() as session:
        run_id = TaskRunsWriteService(session).start_run(task_key=DEFAULT_TASK_KEY).run_id

    with far_west.transaction() as session:
        TaskRunsWriteService(session).finalize_run(run_id)

    east_view = load_run(far_east, run_id)
    west_view = load_run(far_west, run_id)
    assert east_view.started_at == west_view.started_at
    assert east_view.completed_at is not None
    assert east_view.started_at is not None
    assert east_view.started_at.utcoffset() == west_view.started_at.utcoffset()
    assert east_view.duration_ms is not None
    assert 0 <= east_view.duration_ms < 60_000
    far_east.dispose()
    far_west.dispose()


def test_finalize_with_summary_keeps_finished_run(database_url: str) -> None:
    db = Database(database_url)
    run_id = make_run(db, status=RunStatus.COMPLETED, summary_json=base_summary(n=1)).run_id

    with db.transaction() as session:
        status = TaskRunsWriteService(session).finalize_run_with_summary(
            run_id, base_summary(n=2), status=RunStatus.FAILED
        )

    run = load_run(db, run_id)
    assert status is None
    assert run.status == RunStatus.COMPLETED
    assert run.summary_json["ext"]["data"] == {"n": 1}
    db.dispose()


def test_large_summary_logs_warning_with_size(database_url: str) -> None:
    db = Database(database_url)
    run_id = start(db)
    large = base_summary(**{f"field_{index}": "x" * 900 for index in range(10)})

    with structlog.testing.capture_logs() as logs, db.transaction() as session:
        written = TaskRunsWriteService(session).write_summary(run_id, large)

    warnings = [entry for entry in logs if entry["event"] == "summary_warnings"]
    assert written is True
    assert len(warnings) == 1
    assert warnings[0]["run_id"] == run_id
    assert warnings[0]["task_key"] == DEFAULT_TASK_KEY
    assert warnings[0]["size_bytes"] > 8 * 1024
    db.dispose()
