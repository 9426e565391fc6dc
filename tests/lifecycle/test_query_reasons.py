"""Bilingual reasons of ``InvalidQueryError`` raised by the read service."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator

import pytest

from taskrun_center.errors import InvalidQueryError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.query_reasons import fill, validation_reason
from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService
from taskrun_center.storage.engine import Database


@pytest.fixture
def service(sqlite_url: str) -> Iterator[TaskRunsReadService]:
    """A read service on an empty, migrated SQLite database."""
    database = Database(sqlite_url)
    with database.session() as session:
        yield TaskRunsReadService(session, cursor_secret="test-secret")
    database.dispose()


def test_reason_is_english_for_logs() -> None:
    error = InvalidQueryError("page", Text("应为正整数", "expected a positive whole number"))

    assert error.reason == "expected a positive whole number"
    assert str(error) == "invalid parameter 'page': expected a positive whole number"
    assert error.render_reason("zh-CN") == "应为正整数"
    assert error.render_reason("en-US") == "expected a positive whole number"


def test_error_survives_pickling() -> None:
    error = InvalidQueryError("order", fill(Text("{value} 无效", "{value} is invalid"),
                                            value="'{x}'"))

    copy = pickle.loads(pickle.dumps(error))

    assert copy.parameter == "order"
    assert copy.reason_text == Text("'{x}' 无效", "'{x}' is invalid")
    assert copy.render_reason("zh-CN") == "'{x}' 无效"


def test_filled_reason_keeps_braces_of_values(service: TaskRunsReadService) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        service.list_runs(RunFilter(status=["{0}"]))

    assert caught.value.parameter == "status"
    assert "'{0}'" in caught.value.render_reason("zh-CN")
    assert "'{0}'" in caught.value.render_reason("en")


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda service: service.list_runs(page=0), "page"),
        (lambda service: service.list_runs(limit=500), "limit"),
        (lambda service: service.list_runs(sort="name"), "sort"),
        (lambda service: service.list_runs(RunFilter(status=["exploded"])), "status"),
        (lambda service: service.list_runs(cursor="abc.def"), "cursor"),
        (lambda service: RunFilter.from_params(skipped="maybe"), "skipped"),
    ],
)
def test_reasons_exist_in_both_languages(
    service: TaskRunsReadService,
    call: Callable[[TaskRunsReadService], object],
    parameter: str,
) -> None:
    with pytest.raises(InvalidQueryError) as caught:
        call(service)

    chinese, english = caught.value.reason_text.zh, caught.value.reason_text.en
    assert caught.value.parameter == parameter
    assert chinese != english
    assert any("\u4e00" <= char <= "\u9fff" for char in chinese)
    assert not any("\u4e00" <= char <= "\u9fff" for char in english)


def test_unknown_validation_type_is_generic() -> None:
    reason = validation_reason("some_new_type", {"x": 1})

    assert reason == Text("值无效", "invalid value")
