"""The resolved search compares its matches in lists whose sizes are powers of two.

Statements are cached per list size, so each size that a search can produce costs memory for
as long as the process runs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService
from taskrun_center.lifecycle.run_filter import bind_filter
from taskrun_center.lifecycle.search_plan import resolve_search
from tests.maintenance.rows import add_run


def _resolved(session: Session, text: str) -> tuple[int | None, int | None]:
    bound = resolve_search(session.connection(), bind_filter(RunFilter(search=text)), text)
    return bound.shape.search_names, bound.shape.search_run_ids


def _found(service: TaskRunsReadService, text: str) -> list[str]:
    page = service.list_runs(RunFilter(search=text), limit=100)
    return [run.run_id for run in page.items]


def test_name_list_rounded_up(session: Session, service: TaskRunsReadService) -> None:
    runs = [add_run(session, task_name=f"Import {letter}.csv") for letter in "abcde"]
    add_run(session, task_name="Backup")
    session.commit()

    assert _resolved(session, "import") == (8, 0)
    found = _found(service, "import")
    assert sorted(found) == sorted(run.run_id for run in runs)
    assert service.count_runs(RunFilter(search="import")) == 5


def test_run_id_list_rounded_up(session: Session, service: TaskRunsReadService) -> None:
    run_ids = [f"0000000{number}-feed-4000-8000-000000000000" for number in range(3)]
    for run_id in run_ids:
        add_run(session, task_name="Backup", run_id=run_id)
    add_run(session, task_name="Backup")
    session.commit()

    assert _resolved(session, "FEED-4") == (0, 4)
    found = _found(service, "FEED-4")
    assert sorted(found) == run_ids
    assert service.count_runs(RunFilter(search="FEED-4")) == 3


def test_single_match_not_padded(session: Session) -> None:
    add_run(session, task_name="Import a.csv")
    session.commit()

    assert _resolved(session, "import") == (1, 0)
    assert _resolved(session, "nothing") == (0, 0)
