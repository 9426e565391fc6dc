"""Checking run arguments against the task function's annotations before a run exists."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
from pydantic import Field

from taskrun_center.runners import TaskArgumentsError, run_task
from taskrun_center.runners.arguments import check_task_arguments
from taskrun_center.runners.dispatch import enqueue_run
from taskrun_center.storage.engine import Database
from tests.runners import sample_tasks  # noqa: F401 - declares the sample tasks
from tests.runners.rows import runs_of


def _typed(ctx: object, *, seconds: float, day: dt.date | None = None, label: str = "x") -> None:
    """A task signature with typed keyword arguments."""


def _untyped(ctx, *, anything=None):  # type: ignore[no-untyped-def]
    """A task signature without annotations."""


@pytest.mark.parametrize("value", ["abc", {"a": 1}, [1, 2], None])
def test_wrong_type_names_argument(value: object) -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("typed", _typed, {"seconds": value})

    error = raised.value
    assert error.argument == "seconds"
    assert error.reason_text is not None
    assert "seconds" in error.reason_text.zh
    assert "应为数字" in error.reason_text.zh
    assert "expected a number" in error.reason_text.en
    assert "seconds" in str(error)


def test_values_are_converted_to_annotations() -> None:
    converted = check_task_arguments(
        "typed", _typed, {"seconds": "1.5", "day": "2026-01-02", "label": 2024}
    )

    assert converted == {"seconds": 1.5, "day": dt.date(2026, 1, 2), "label": "2024"}


def test_unannotated_arguments_take_any_value() -> None:
    assert check_task_arguments("untyped", _untyped, {"anything": {"a": 1}}) == {
        "anything": {"a": 1}
    }


def test_unknown_argument_is_rejected_bilingually() -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("typed", _typed, {"seconds": 1, "colour": "red"})

    assert raised.value.reason_text is not None
    assert "colour" in raised.value.reason_text.en
    assert "typed" in raised.value.reason_text.zh


def test_run_task_bad_type_starts_no_run(database: Database) -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        run_task("sample_slow", database=database, arguments={"seconds": "abc"})

    assert raised.value.argument == "seconds"
    assert runs_of(database, "sample_slow") == []


def test_enqueue_bad_type_creates_no_run(database: Database) -> None:
    with pytest.raises(TaskArgumentsError):
        enqueue_run("sample_slow", database=database, arguments={"seconds": {"a": 1}})

    assert runs_of(database, "sample_slow") == []


def test_task_receives_converted_values(database: Database) -> None:
    outcome = run_task("sample_count", database=database, arguments={"count": "2"})

    assert outcome.status == "completed"
    [run] = runs_of(database, "sample_count")
    assert run.progress_completed == 2


def _bounded(ctx: object, *, seconds: Annotated[int, Field(ge=10)] = 10) -> None:
    """A task signature with a constrained argument."""


def test_annotated_constraint_rejects_value() -> None:
    with pytest.raises(TaskArgumentsError) as raised:
        check_task_arguments("bounded", _bounded, {"seconds": 5})

    error = raised.value
    assert error.argument == "seconds"
    assert error.reason_text is not None
    assert "Invalid argument seconds" in error.reason_text.en
    assert "must be at least 10" in error.reason_text.en
    assert "不能小于 10" in error.reason_text.zh
    assert "Input should" not in error.reason_text.zh
    assert check_task_arguments("bounded", _bounded, {"seconds": "12"}) == {"seconds": 12}


def test_reap_task_rejects_short_timeout(database: Database) -> None:
    import taskrun_center.runners.builtin  # noqa: F401 - declares the built-in tasks

    with pytest.raises(TaskArgumentsError) as raised:
        run_task("task_runs_reap", database=database, arguments={"timeout_seconds": 5})

    assert raised.value.argument == "timeout_seconds"
    assert runs_of(database, "task_runs_reap") == []


def test_reap_task_rejects_huge_timeout(database: Database) -> None:
    import taskrun_center.runners.builtin  # noqa: F401 - declares the built-in tasks

    with pytest.raises(TaskArgumentsError) as raised:
        run_task("task_runs_reap", database=database,
                 arguments={"pending_timeout_seconds": 10**11})

    assert raised.value.argument == "pending_timeout_seconds"
    assert runs_of(database, "task_runs_reap") == []


def test_reaper_rejects_timeout_past_ten_years(database: Database) -> None:
    from datetime import timedelta

    from taskrun_center.errors import ConfigurationError
    from taskrun_center.maintenance import reap_runs

    with pytest.raises(ConfigurationError, match="3650 days"):
        reap_runs(database, timeout=timedelta(days=999_999))
