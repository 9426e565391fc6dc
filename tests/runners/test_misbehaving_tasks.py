"""Tasks that misbehave in ways a runner must survive: the run always ends, with a reason."""

from __future__ import annotations

import pytest

from taskrun_center.errors import StorageError
from taskrun_center.runners import RunContext, TaskResult, run_task, task
from taskrun_center.runners.item_writer import ItemWriter
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.errors import DatabaseLockedError
from tests.runners.rows import load_items, load_run, runs_of


class _Unprintable(Exception):
    """An exception whose text cannot be built."""

    def __str__(self) -> str:
        raise KeyError("no text")


@task(key="sample_unprintable_error", name_zh="无法描述的异常", name_en="Unprintable error",
      category="sample")
def sample_unprintable_error(ctx: RunContext) -> None:
    raise _Unprintable


@task(key="sample_running_result", name_zh="返回运行中", name_en="Running result",
      category="sample")
def sample_running_result(ctx: RunContext) -> TaskResult:
    return TaskResult(status="running")  # type: ignore[arg-type]


def test_exception_without_text_fails_the_run(database: Database) -> None:
    outcome = run_task("sample_unprintable_error", database=database)

    assert outcome.status == RunStatus.FAILED
    run = load_run(database, outcome.run_id)
    assert run.status == "failed"
    assert run.error_message == "_Unprintable: (no message: str() raised KeyError)"


def test_result_status_not_final(database: Database) -> None:
    outcome = run_task("sample_running_result", database=database)

    assert outcome.status == RunStatus.FAILED
    run = load_run(database, outcome.run_id)
    assert run.status == "failed"
    assert "TaskResult.status 为 'running'，它不是结束状态" in (run.error_message or "")


@task(key="sample_three_items", name_zh="三个子项", name_en="Three items", category="sample")
def sample_three_items(ctx: RunContext) -> None:
    ctx.init_items([("step", str(index), f"Step {index}") for index in range(3)])
    for index in range(3):
        with ctx.item("step", str(index)):
            pass


def test_items_with_lost_changes(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item changes the writer gave up on leave no pending or running item in a finished run.

    The run's end fails on its items with an error that retrying does not cure, so the items go
    through the writer's retries and the run ends alone. A lock would instead be waited out by
    the run's end together with its items.
    """

    def locked(self: ItemWriter, batch: object) -> None:
        raise DatabaseLockedError("record items", busy_timeout_ms=5)

    monkeypatch.setattr(ItemWriter, "_write_batch", locked)
    monkeypatch.setattr(ItemWriter, "store", lambda *args, **kwargs: (_ for _ in ()).throw(
        StorageError("record items failed: disk I/O error")))

    outcome = run_task("sample_three_items", database=database)

    assert outcome.status == RunStatus.COMPLETED_WITH_ERRORS
    items = load_items(database, outcome.run_id)
    assert {item.status for item in items.values()} == {"failed"}
    assert all("最终状态未能记录" in (item.error_message or "") for item in items.values())
    run = load_run(database, outcome.run_id)
    assert (run.progress_total, run.progress_completed, run.progress_failed) == (3, 0, 3)
    assert "item_batch_dropped" in (run.error_message or "")


@task(key="sample_calls_exit", name_zh="调用退出", name_en="Calls exit", category="sample")
def sample_calls_exit(ctx: RunContext) -> None:
    raise SystemExit(3)


class _HostStop(SystemExit):
    """A host's own stop signal, as Celery's WorkerShutdown is."""


@task(key="sample_host_stops", name_zh="宿主停止", name_en="Host stops", category="sample")
def sample_host_stops(ctx: RunContext) -> None:
    raise _HostStop


def test_sys_exit_in_task(database: Database) -> None:
    outcome = run_task("sample_calls_exit", database=database)

    assert outcome.status == RunStatus.FAILED
    assert load_run(database, outcome.run_id).error_message == "SystemExit: 3"


def test_host_stop_cancels_the_run_and_propagates(database: Database) -> None:
    with pytest.raises(_HostStop):
        run_task("sample_host_stops", database=database)

    run = runs_of(database, "sample_host_stops")[0]
    assert run.status == "cancelled"


class _Abort(BaseException):
    """A task's own BaseException subclass."""


@task(key="sample_base_exception", name_zh="基础异常", name_en="Base exception",
      category="sample")
def sample_base_exception(ctx: RunContext) -> None:
    raise _Abort("PGPASSWORD=hunter2xyz")


def test_base_exception_in_task(database: Database) -> None:
    outcome = run_task("sample_base_exception", database=database)

    assert outcome.status == RunStatus.FAILED
    message = load_run(database, outcome.run_id).error_message or ""
    assert message.startswith("_Abort: ")
    assert "hunter2xyz" not in message
