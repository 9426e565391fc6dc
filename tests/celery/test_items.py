"""One run whose items are processed by several worker processes in a chord."""

from __future__ import annotations

import os
from collections import Counter

from celery import Celery

from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from taskrun_center.runners.celery import enqueue_item_run
from taskrun_center.states import RUN_TERMINAL, RunStatus
from taskrun_center.storage.engine import Database
from tests.celery.conftest import PREFORK_PROCESSES
from tests.celery.rows import find_run, load_items, load_run
from tests.celery.workers import WorkerProcess, wait_for

ITEM_COUNT = 200
FAIL_EVERY = 10


def test_item_chord_keeps_exact_counters(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """200 items over 3 processes: 180 completed and 20 failed, counted once each."""
    run_id = enqueue_item_run(
        "celery_fanout",
        [("number", str(number)) for number in range(1, ITEM_COUNT + 1)],
        app=celery_app,
        database=celery_database,
        arguments={"fail_every": FAIL_EVERY},
        created_by="bob",
    )

    run = wait_for(
        lambda: find_run(celery_database, run_id),
        lambda run: run is not None and run.status in RUN_TERMINAL,
        timeout=120,
        what=f"item run {run_id} to end",
    )
    assert run is not None
    failed = ITEM_COUNT // FAIL_EVERY
    assert run.status == RunStatus.COMPLETED_WITH_ERRORS.value
    assert run.progress_total == ITEM_COUNT
    assert run.progress_completed == ITEM_COUNT - failed
    assert run.progress_failed == failed

    items = load_items(celery_database, run_id)
    assert Counter(item.status for item in items) == {
        "completed": ITEM_COUNT - failed,
        "failed": failed,
    }
    pids = {item.metrics_json["pid"] for item in items if item.metrics_json}
    assert os.getpid() not in pids
    assert 1 < len(pids) <= PREFORK_PROCESSES

    metrics = {metric["key"]: metric["value"] for metric in run.summary_json["common"]["metrics"]}
    assert metrics == {"items_completed": ITEM_COUNT - failed, "items_failed": failed}
    assert run.error_message is not None


def test_cancelled_item_run_skips_remaining_items(
    celery_app: Celery, prefork_worker: WorkerProcess, celery_database: Database
) -> None:
    """Items not started before the cancel are skipped; the finalize step keeps the status."""
    run_id = enqueue_item_run(
        "celery_fanout",
        [("number", str(number)) for number in range(1, 101)],
        app=celery_app,
        database=celery_database,
        arguments={"delay": 0.05},
    )
    wait_for(lambda: load_run(celery_database, run_id).progress_completed,
             lambda done: done >= 3, what="three items to complete")

    with celery_database.transaction("cancel in test") as session:
        assert TaskRunsWriteService(session).cancel_run(run_id)

    wait_for(prefork_worker.log_text,
             lambda text: any("item_run_already_ended" in line and run_id in line
                              for line in text.splitlines()),
             timeout=120, what="the finalize step to run")
    run = load_run(celery_database, run_id)
    assert run.status == RunStatus.CANCELLED.value
    statuses = Counter(item.status for item in load_items(celery_database, run_id))
    assert set(statuses) <= {"completed", "cancelled"}
    assert 3 <= statuses["completed"] < 100
    assert statuses["cancelled"] == 100 - statuses["completed"]


def test_item_run_without_items_is_rejected(celery_app: Celery, celery_database: Database) -> None:
    """An item run needs items; nothing is stored or sent without them."""
    from taskrun_center.errors import InvalidValueError

    try:
        enqueue_item_run("celery_fanout", [], app=celery_app, database=celery_database)
    except InvalidValueError as error:
        assert error.field == "items"
    else:
        raise AssertionError("an empty item list was accepted")
