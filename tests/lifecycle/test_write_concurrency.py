"""Several processes writing one run at once: counters stay exact, terminal states stay final."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy import func, select

from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRunItem
from tests.factories import load_run, make_run

WORKERS = 8
ITEMS = 120

# Spawned children import the package afresh instead of inheriting the parent's pooled
# connections, which must never be shared across processes.
_context = multiprocessing.get_context("spawn")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _complete_every_item(
    url: str, run_id: str, worker: int, barrier: Barrier, results: Any
) -> None:
    """Try to end every item of the run, each in its own transaction; report the successes."""
    db = Database(url, busy_timeout_ms=30_000)
    won = 0
    barrier.wait()
    for offset in range(ITEMS):
        key = str((offset + worker * 7) % ITEMS)  # each worker starts at another item
        with db.transaction() as session:
            service = TaskRunsWriteService(session)
            if int(key) % 5 == 0:
                changed = service.fail_item(run_id, "step", key, error_message=f"w{worker}")
            else:
                changed = service.complete_item(run_id, "step", key, metrics={"worker": worker})
        won += int(changed)
    db.dispose()
    results.put(won)


def _cancel_run(url: str, run_id: str, barrier: Barrier, results: Any) -> None:
    db = Database(url, busy_timeout_ms=30_000)
    barrier.wait()
    with db.transaction() as session:
        cancelled = TaskRunsWriteService(session).cancel_run(run_id)
    db.dispose()
    results.put(("cancel", cancelled))


def _run_processes(targets: list[tuple[Any, tuple[Any, ...]]]) -> list[Any]:
    barrier = _context.Barrier(len(targets))
    results = _context.Queue()
    processes = [
        _context.Process(target=target, args=(*args, barrier, results)) for target, args in targets
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return collected


def item_counts(db: Database, run_id: str) -> dict[str, int]:
    with db.session() as session:
        rows = session.execute(
            select(TaskRunItem.status, func.count())
            .where(TaskRunItem.run_id == run_id)
            .group_by(TaskRunItem.status)
        ).all()
    return {status: count for status, count in rows}


def new_run(db: Database) -> str:
    run_id = make_run(db).run_id
    with db.transaction() as session:
        specs = [ItemSpec("step", str(index)) for index in range(ITEMS)]
        TaskRunsWriteService(session).init_items(run_id, specs)
    return run_id


@pytest.mark.slow
def test_parallel_item_updates_keep_counters_exact(db: Database) -> None:
    run_id = new_run(db)

    wins = _run_processes(
        [(_complete_every_item, (db.url, run_id, worker)) for worker in range(WORKERS)]
    )

    run = load_run(db, run_id)
    counts = item_counts(db, run_id)
    expected_failed = len([index for index in range(ITEMS) if index % 5 == 0])
    assert sum(wins) == ITEMS
    assert counts == {
        ItemStatus.COMPLETED.value: ITEMS - expected_failed,
        ItemStatus.FAILED.value: expected_failed,
    }
    assert run.progress_completed == ITEMS - expected_failed
    assert run.progress_failed == expected_failed
    assert run.progress_total == ITEMS


@pytest.mark.slow
@pytest.mark.postgres
def test_cancel_racing_complete_ends_once(postgres_url: str) -> None:
    db = Database(postgres_url)
    run_id = new_run(db)

    outcomes = _run_processes(
        [(_cancel_run, (db.url, run_id))]
        + [(_complete_every_item, (db.url, run_id, worker)) for worker in range(3)]
    )

    run = load_run(db, run_id)
    counts = item_counts(db, run_id)
    print("item statuses after the race:", counts)
    assert ("cancel", True) in outcomes
    assert run.status == RunStatus.CANCELLED
    assert set(counts) <= {"completed", "failed", "cancelled"}
    assert sum(counts.values()) == ITEMS
    assert run.progress_completed == counts.get("completed", 0)
    assert run.progress_failed == counts.get("failed", 0)

    with db.transaction() as session:
        service = TaskRunsWriteService(session)
        late = [service.complete_item(run_id, "step", str(index)) for index in range(ITEMS)]
        again = service.cancel_run(run_id)
        finalized = service.finalize_run(run_id)

    assert not any(late)
    assert again is False
    assert finalized is None
    assert item_counts(db, run_id) == counts
    assert load_run(db, run_id).status == RunStatus.CANCELLED
    db.dispose()
