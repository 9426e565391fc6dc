"""The text search resolved to task names and run_ids, and its fallbacks, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from taskrun_center.lifecycle import search_plan
from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService
from taskrun_center.lifecycle.run_filter import bind_filter
from taskrun_center.lifecycle.search_plan import resolve_search
from taskrun_center.storage.models import TASK_NAME_INDEX
from tests.maintenance.rows import add_run


def _add(session: Session, names: list[str]) -> list[str]:
    runs = [add_run(session, task_name=name) for name in names]
    session.commit()
    return [run.run_id for run in runs]


def _found(service: TaskRunsReadService, text: str) -> set[str]:
    page = service.list_runs(RunFilter(search=text), limit=100)
    assert service.count_runs(RunFilter(search=text)) == len(page.items)
    return {run.run_id for run in page.items}


def _resolved(session: Session, text: str) -> tuple[int | None, int | None]:
    bound = resolve_search(session.connection(), bind_filter(RunFilter(search=text)), text)
    return bound.shape.search_names, bound.shape.search_run_ids


def test_whole_run_id_in_any_case(session: Session, service: TaskRunsReadService) -> None:
    run_ids = _add(session, ["Sync accounts", "Backup"])

    assert _found(service, run_ids[0].upper()) == {run_ids[0]}
    assert _resolved(session, run_ids[0].upper()) == (0, 1)


def test_text_no_run_id_contains(session: Session, service: TaskRunsReadService) -> None:
    run_ids = _add(session, ["Sync accounts", "同步账号", "Backup"])

    assert _found(service, "sync") == {run_ids[0]}
    assert _found(service, "账号") == {run_ids[1]}
    assert _found(service, "zz") == set()
    assert _resolved(session, "sync") == (1, 0)
    assert _resolved(session, "zz") == (0, 0)


def test_part_of_run_id(session: Session, service: TaskRunsReadService) -> None:
    run_ids = _add(session, ["Sync accounts", "Backup"])

    assert _found(service, run_ids[1][:8]) == {run_ids[1]}
    assert _found(service, run_ids[1][24:].upper()) == {run_ids[1]}


def test_names_and_run_ids_both_match(session: Session, service: TaskRunsReadService) -> None:
    """A text of hex digits can be in a task name and in a run_id at once."""
    run_ids = _add(session, ["Build cafe", "Backup"])
    text = run_ids[1][:4]
    named = _add(session, [f"Export {text}"])

    assert _found(service, text) >= {run_ids[1], named[0]}
    assert run_ids[0] in _found(service, "CAFE")


def test_wildcards_match_themselves(session: Session, service: TaskRunsReadService) -> None:
    run_ids = _add(session, ["Rate 100%", "rate_limit", "Rates"])

    assert _found(service, "100%") == {run_ids[0]}
    assert _found(service, "e_l") == {run_ids[1]}
    assert _found(service, "%") == {run_ids[0]}


def test_many_names_test_every_run(session: Session, service: TaskRunsReadService,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_plan, "MAX_SEARCH_NAMES", 2)
    run_ids = _add(session, ["Import a.csv", "Import b.csv", "Import c.csv", "Backup"])

    assert _resolved(session, "import") == (None, None)
    assert _found(service, "import") == set(run_ids[:3])
    assert _found(service, run_ids[3]) == {run_ids[3]}


def test_many_run_ids_test_each_run(session: Session, service: TaskRunsReadService,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that too many run_ids contain is tested on each run the page reads."""
    monkeypatch.setattr(search_plan, "MAX_SEARCH_RUN_IDS", 2)
    run_ids = _add(session, ["One", "Two", "Three", "Four"])

    # Every run_id is a version 4 UUID: "-4" starts its third group.
    assert _resolved(session, "-4") == (0, None)
    assert _found(service, "-4") == set(run_ids)


def test_without_name_index_every_run(session: Session, service: TaskRunsReadService,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the upgrade that adds the index, listing names would read the table per name."""
    run_ids = _add(session, ["Sync accounts", "Backup"])
    session.execute(text(f"DROP INDEX {TASK_NAME_INDEX}"))
    session.commit()

    assert _resolved(session, "sync") == (None, None)
    assert _found(service, "sync") == {run_ids[0]}
    assert _found(service, run_ids[1]) == {run_ids[1]}

    session.execute(text(f"CREATE INDEX {TASK_NAME_INDEX} ON task_runs (task_name)"))
    session.commit()
    assert _resolved(session, "sync") == (None, None)
    monkeypatch.setattr(search_plan, "_INDEX_RECHECK_SECONDS", 0.0)
    assert _resolved(session, "sync") == (1, 0)
