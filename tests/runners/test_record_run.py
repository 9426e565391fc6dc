"""The context-manager form, cancellation between items, run-now dispatch."""

from __future__ import annotations

import threading
import time

import pytest

from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners import RunCancelledError, TaskResult, record_run
from taskrun_center.runners.dispatch import InlineDispatcher, ThreadDispatcher, enqueue_run
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.rows import load_items, load_run, runs_of


def _cancel(database: Database, run_id: str) -> None:
    with database.transaction() as session:
        TaskRunsWriteService(session).cancel_run(run_id)


def test_record_run_block_becomes_run(database: Database) -> None:
    with record_run("adhoc_import", database=database, task_name="导入") as ctx:
        for key in ("a", "b"):
            with ctx.item("file", key) as item:
                item.metrics["rows"] = 10
        ctx.result = TaskResult(metrics=[{"key": "rows", "label": "Rows", "value": 20}])

    run = load_run(database, ctx.run_id)
    assert run.status == "completed"
    assert run.task_name == "导入"
    assert run.summary_json["ext"]["type"] == "adhoc_import"
    assert run.summary_json["common"]["metrics"][0]["value"] == 20
    assert run.progress_completed == 2


def test_record_run_exception_fails_run_and_propagates(database: Database) -> None:
    with pytest.raises(KeyError), record_run("adhoc_broken", database=database) as ctx:
        raise KeyError("missing column")

    run = load_run(database, ctx.run_id)
    assert run.status == "failed"
    assert "KeyError" in (run.error_message or "")


def test_cancellation_stops_between_items(database: Database) -> None:
    seen: list[str] = []
    with record_run("adhoc_cancel", database=database, cancel_check_interval_seconds=0) as ctx:
        ctx.init_items([("step", str(index)) for index in range(5)])
        for index in range(5):
            with ctx.item("step", str(index)):
                seen.append(str(index))
                if index == 1:
                    ctx.flush_items()
                    _cancel(database, ctx.run_id)

    assert seen == ["0", "1"]
    run = load_run(database, ctx.run_id)
    assert run.status == "cancelled"
    items = load_items(database, ctx.run_id)
    assert items["0"].status == "completed"
    assert [items[key].status for key in "234"] == ["cancelled"] * 3


def test_check_cancelled_raises_for_cancelled_run(database: Database) -> None:
    with record_run("adhoc_check", database=database, cancel_check_interval_seconds=0) as ctx:
        _cancel(database, ctx.run_id)
        with pytest.raises(RunCancelledError) as raised:
            ctx.check_cancelled()
        assert raised.value.run_id == ctx.run_id
        raise raised.value

    assert load_run(database, ctx.run_id).status == "cancelled"


def test_heartbeat_reports_cancellation(database: Database, fast_heartbeat: float) -> None:
    with record_run("adhoc_heartbeat", database=database) as ctx:
        first = load_run(database, ctx.run_id).heartbeat_at
        _cancel(database, ctx.run_id)
        deadline = time.monotonic() + 10
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ctx.cancelled is True
        ctx.check_cancelled()

    run = load_run(database, ctx.run_id)
    assert run.status == "cancelled"
    assert first is None or run.heartbeat_at is None or run.heartbeat_at >= first


def test_heartbeat_updates_running_run(database: Database, fast_heartbeat: float) -> None:
    with record_run("adhoc_beat", database=database) as ctx:
        deadline = time.monotonic() + 10
        while load_run(database, ctx.run_id).heartbeat_at is None:
            assert time.monotonic() < deadline, "no heartbeat recorded"
            time.sleep(0.05)

    assert load_run(database, ctx.run_id).status == "completed"


def test_many_items_are_all_recorded(database: Database) -> None:
    with record_run("adhoc_many", database=database) as ctx:
        for index in range(1200):
            with ctx.item("row", str(index)) as item:
                item.metrics["n"] = index

    run = load_run(database, ctx.run_id)
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (1200, 1200, 0)
    assert load_items(database, ctx.run_id)["1199"].metrics_json == {"n": 1199}


def test_item_with_unserialisable_metrics_fails(database: Database) -> None:
    with record_run("adhoc_bad_item", database=database) as ctx:
        with ctx.item("row", "x") as item:
            item.metrics["when"] = object()
        with ctx.item("row", "y"):
            pass

    items = load_items(database, ctx.run_id)
    assert items["x"].status == "failed"
    assert items["y"].status == "completed"


def test_enqueue_run_creates_pending_then_thread_runs(database: Database) -> None:
    dispatcher = ThreadDispatcher(database, max_workers=1)
    gate = threading.Event()
    blocker = threading.Thread(target=gate.wait)
    blocker.start()
    try:
        run_id = enqueue_run(
            "sample_count",
            database=database,
            dispatcher=dispatcher,
            arguments={"count": 2},
            created_by="admin",
        )
    finally:
        gate.set()
        blocker.join()
    dispatcher.shutdown(wait=True)

    run = load_run(database, run_id)
    assert run.status == "completed"
    assert run.created_by == "admin"
    assert run.progress_completed == 2


def test_enqueue_run_is_pending_before_dispatch(database: Database) -> None:
    statuses: list[str] = []

    class RecordingDispatcher:
        def submit(self, task_key, run_id, arguments, trigger_source, created_by):  # type: ignore[no-untyped-def]
            statuses.append(load_run(database, run_id).status)
            InlineDispatcher(database).submit(
                task_key, run_id, arguments, trigger_source, created_by
            )

    run_id = enqueue_run("sample_skip", database=database, dispatcher=RecordingDispatcher())

    assert statuses == ["pending"]
    assert load_run(database, run_id).status == "completed"


def test_failed_dispatch_marks_run_failed(database: Database) -> None:
    class BrokenDispatcher:
        def submit(self, *args: object) -> None:
            raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        enqueue_run("sample_skip", database=database, dispatcher=BrokenDispatcher())

    [run] = runs_of(database, "sample_skip")
    assert run.status == "failed"
    assert "broker down" in (run.error_message or "")
    assert run.status == RunStatus.FAILED


def test_rejected_final_summary_keeps_last_valid(database: Database) -> None:
    good = TaskResult(metrics=[{"key": "rows", "label": "Rows", "value": 5}])
    bad = TaskResult(metrics=[{"key": "api_token", "label": "t", "value": "x"}])

    with record_run("adhoc_summary", database=database) as ctx:
        assert ctx.write_summary(good) is True
        assert ctx.write_summary(bad) is False
        ctx.result = bad

    run = load_run(database, ctx.run_id)
    assert run.status == "completed_with_errors"
    assert run.summary_json["common"]["metrics"][0]["key"] == "rows"
    assert "secret.key_name" in (run.error_message or "")


@pytest.mark.parametrize("failure", [None, "database"])
def test_interrupt_propagates_even_if_not_recorded(
    database: Database, monkeypatch: pytest.MonkeyPatch, failure: str | None
) -> None:
    """Ctrl-C inside a run cancels it; when that write fails, the interrupt still propagates."""
    from taskrun_center.errors import StorageError

    if failure == "database":
        def reject_cancel(self: TaskRunsWriteService, run_id: str) -> bool:
            raise StorageError("cancel interrupted run failed: the disk is full")

        monkeypatch.setattr(TaskRunsWriteService, "cancel_run", reject_cancel)

    with pytest.raises(KeyboardInterrupt), record_run("adhoc_interrupted",
                                                      database=database) as ctx:
        raise KeyboardInterrupt

    run = load_run(database, ctx.run_id)
    assert run.status == ("cancelled" if failure is None else "running")
