"""Tasks that misbehave in ways a runner must survive: the run always ends, with a reason."""

from __future__ import annotations

from taskrun_center.runners import RunContext, TaskResult, run_task, task
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.runners.rows import load_run


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


def test_result_with_a_status_that_cannot_end_a_run_fails_it(database: Database) -> None:
    outcome = run_task("sample_running_result", database=database)

    assert outcome.status == RunStatus.FAILED
    run = load_run(database, outcome.run_id)
    assert run.status == "failed"
    assert "TaskResult.status 为 'running'，它不是结束状态" in (run.error_message or "")
