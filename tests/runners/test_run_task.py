"""Running declared tasks: items, skips, failures, summaries, resume, arguments."""

from __future__ import annotations

import pytest

from taskrun_center.contract import check_summary
from taskrun_center.errors import UnknownTaskTypeError
from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners import TaskArgumentsError, get_task, run_task
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.rows import load_items, load_run, runs_of


def test_sync_task_records_items_and_summary(database: Database) -> None:
    outcome = run_task("sample_count", database=database, arguments={"count": 4})

    assert outcome.status == RunStatus.COMPLETED
    run = load_run(database, outcome.run_id)
    assert run.status == "completed"
    assert run.task_name == "计数示例"
    assert run.task_category == "sample"
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (4, 4, 0)
    assert run.summary_json["ext"] == {
        "type": "sample_count",
        "version": 1,
        "data": {"processed": 4},
    }
    metric = run.summary_json["common"]["metrics"][0]
    assert (metric["key"], metric["value"], metric["unit"]) == ("processed", 4, "items")
    items = load_items(database, outcome.run_id)
    assert [items[key].status for key in "0123"] == ["completed"] * 4
    assert items["3"].metrics_json == {"square": 9}
    assert items["3"].item_name == "Number 3"


def test_failing_item_does_not_stop_the_run(database: Database) -> None:
    outcome = run_task("sample_count", database=database, arguments={"count": 3, "fail_at": 1})

    assert outcome.status == RunStatus.COMPLETED_WITH_ERRORS
    items = load_items(database, outcome.run_id)
    assert items["0"].status == "completed"
    assert items["1"].status == "failed"
    assert items["2"].status == "completed"
    assert "RuntimeError" in (items["1"].error_message or "")
    assert "hunter2secret" not in (items["1"].error_message or "")
    run = load_run(database, outcome.run_id)
    assert (run.progress_completed, run.progress_failed) == (2, 1)
    assert run.error_message is not None


def test_async_task_records_items(database: Database) -> None:
    outcome = run_task("sample_async", database=database, arguments={"count": 3})

    assert outcome.status == RunStatus.COMPLETED
    items = load_items(database, outcome.run_id)
    assert sorted(items) == ["s0", "s1", "s2"]
    assert items["s2"].details_json == {"index": 2}
    run = load_run(database, outcome.run_id)
    metrics = {metric["key"]: metric["value"] for metric in run.summary_json["common"]["metrics"]}
    assert metrics == {"items_completed": 3, "items_failed": 0}


def test_skipped_task_stores_reason(database: Database) -> None:
    outcome = run_task("sample_skip", database=database)

    run = load_run(database, outcome.run_id)
    assert run.status == "completed"
    assert run.is_skipped is True
    assert run.summary_json["common"]["flags"] == {
        "skipped": True,
        "skip_reason": "nothing to sync today",
    }


def test_uncaught_exception_fails_run_masked(database: Database) -> None:
    outcome = run_task("sample_crash", database=database)

    assert outcome.status == RunStatus.FAILED
    run = load_run(database, outcome.run_id)
    assert run.status == "failed"
    assert run.error_message is not None
    assert run.error_message.startswith("ValueError: upstream rejected token")
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in run.error_message
    assert load_items(database, outcome.run_id)["first"].status == "completed"
    assert check_summary(run.summary_json, task_key="sample_crash").summary == run.summary_json


def test_rejected_summary_keeps_valid_envelope(database: Database) -> None:
    outcome = run_task("sample_bad_summary", database=database)

    assert outcome.status == RunStatus.COMPLETED_WITH_ERRORS
    run = load_run(database, outcome.run_id)
    assert run.status == "completed_with_errors"
    assert run.error_message is not None
    assert "secret.key_name" in run.error_message
    assert check_summary(run.summary_json, task_key="sample_bad_summary").summary
    assert run.summary_json["common"]["metrics"] == []


def test_pending_run_is_resumed_by_run_id(database: Database) -> None:
    with database.transaction() as session:
        pending = TaskRunsWriteService(session).start_run(
            task_key="sample_count",
            trigger_source=TriggerSource.API,
            status=RunStatus.PENDING,
        )
        run_id = pending.run_id

    outcome = run_task("sample_count", database=database, run_id=run_id, arguments={"count": 1})

    assert outcome.run_id == run_id
    assert outcome.status == RunStatus.COMPLETED
    assert len(runs_of(database, "sample_count")) == 1
    assert load_run(database, run_id).trigger_source == "api"


def test_cancelled_pending_run_is_not_executed(database: Database) -> None:
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        run_id = service.start_run(task_key="sample_count", status=RunStatus.PENDING).run_id
        service.cancel_run(run_id)

    outcome = run_task("sample_count", database=database, run_id=run_id)

    assert outcome.status == RunStatus.CANCELLED
    assert load_items(database, run_id) == {}


def test_unknown_arguments_start_no_run(database: Database) -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        run_task("sample_count", database=database, arguments={"colour": "red"})

    assert raised.value.task_key == "sample_count"
    assert "colour" in str(raised.value)
    assert runs_of(database, "sample_count") == []


def test_unknown_task_key_raises(database: Database) -> None:
    with pytest.raises(UnknownTaskTypeError):
        run_task("no_such_task", database=database)


def test_trigger_source_and_creator_are_stored(database: Database) -> None:
    outcome = run_task(
        "sample_skip", database=database, trigger_source=TriggerSource.CLI, created_by="ops"
    )

    run = load_run(database, outcome.run_id)
    assert run.trigger_source == "cli"
    assert run.created_by == "ops"


def test_decorated_task_stays_callable() -> None:
    definition = get_task("sample_skip")

    assert definition.name_en == "Skip sample"
    assert definition.is_async is False
    assert get_task("sample_async").is_async is True


def test_rejected_item_marks_run_with_errors(database: Database) -> None:
    outcome = run_task("sample_long_key", database=database)

    run = load_run(database, outcome.run_id)
    assert outcome.status == RunStatus.COMPLETED_WITH_ERRORS
    assert run.status == "completed_with_errors"
    assert "个子项变更未能记录" in (run.error_message or "")
    assert sorted(load_items(database, outcome.run_id)) == ["ok"]


def test_outcome_message_is_masked(database: Database) -> None:
    outcome = run_task("sample_secret_result", database=database)

    run = load_run(database, outcome.run_id)
    assert "S3cretPw" not in (outcome.error_message or "")
    assert (outcome.error_message or "").startswith("result err postgresql://admin:")
    assert "S3cretPw" not in (run.error_message or "")


def test_rejected_failing_item_is_not_completed(database: Database) -> None:
    outcome = run_task("sample_secret_key_fails", database=database)

    run = load_run(database, outcome.run_id)
    assert run.status == "completed_with_errors"
    assert "个子项变更未能记录" in (run.error_message or "")
    assert "pw1111111" not in (run.error_message or "")
    assert load_items(database, outcome.run_id) == {}
