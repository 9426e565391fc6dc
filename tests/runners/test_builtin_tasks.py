"""Built-in maintenance tasks: purge (with its skip), audit (offenders in items), types."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import insert

from taskrun_center.contract import default_registry
from taskrun_center.runners import get_task, run_task
from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from taskrun_center.storage.types import utcnow
from tests.factories import base_summary, make_run, run_row
from tests.runners.rows import load_items, load_run, runs_of


def test_builtin_types_are_registered() -> None:
    for key in ("task_runs_purge", "task_runs_audit", "task_runs_reap"):
        task_type = default_registry.get(key)
        assert task_type is not None, key
        assert task_type.name_zh and task_type.name_en
        assert task_type.data_model is not None
        assert task_type.metrics
        assert get_task(key).category == "maintenance"


def test_purge_skips_when_nothing_is_old(database: Database) -> None:
    make_run(database, status=RunStatus.COMPLETED)

    outcome = run_task("task_runs_purge", database=database)

    run = load_run(database, outcome.run_id)
    assert run.status == "completed"
    assert run.is_skipped is True
    reason = run.summary_json["common"]["flags"]["skip_reason"]
    assert "30" in reason
    assert run.summary_json["ext"]["data"]["runs_deleted"] == 0


def test_purge_deletes_old_runs_and_keeps_new(database: Database) -> None:
    old = utcnow() - timedelta(days=40)
    old_runs = [
        make_run(
            database,
            status=RunStatus.COMPLETED,
            started_at=old,
            completed_at=old,
            items={"completed": 2},
        )
        for _ in range(3)
    ]
    recent = make_run(database, status=RunStatus.COMPLETED)

    outcome = run_task("task_runs_purge", database=database, arguments={"keep_last": 0})

    run = load_run(database, outcome.run_id)
    assert run.is_skipped is False
    data = run.summary_json["ext"]["data"]
    assert (data["runs_deleted"], data["items_deleted"]) == (3, 6)
    remaining = {row.run_id for row in runs_of(database, "demo_task")}
    assert remaining == {recent.run_id}
    assert not {row.run_id for row in old_runs} & remaining


def test_audit_puts_offenders_in_items_not_summary(database: Database) -> None:
    bad_summary = base_summary("demo_task")
    bad_summary["records"] = [1, 2, 3]
    bad = run_row(summary_json=bad_summary)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [bad])
    make_run(database, status=RunStatus.COMPLETED)

    outcome = run_task("task_runs_audit", database=database)

    run = load_run(database, outcome.run_id)
    assert run.status == "completed"
    assert bad["run_id"] not in json.dumps(run.summary_json)
    metrics = {metric["key"]: metric["value"] for metric in run.summary_json["common"]["metrics"]}
    assert metrics["violations"] >= 1
    assert metrics["envelope.extra_field"] == 1
    items = load_items(database, outcome.run_id)
    rule_item = items["envelope.extra_field"]
    assert rule_item.item_type == "rule"
    assert rule_item.metrics_json == {"violations": 1}
    offenders = (rule_item.details_json or {})["first_offenders"]
    assert offenders[0]["run_id"] == bad["run_id"]


def test_audit_of_clean_database_has_one_scan_item(database: Database) -> None:
    make_run(database, status=RunStatus.COMPLETED)

    outcome = run_task("task_runs_audit", database=database)

    run = load_run(database, outcome.run_id)
    assert run.summary_json["ext"]["data"]["violations"] == 0
    assert list(load_items(database, outcome.run_id)) == ["all"]


def test_reap_skips_when_nothing_is_abandoned(database: Database) -> None:
    outcome = run_task("task_runs_reap", database=database)

    run = load_run(database, outcome.run_id)
    assert run.is_skipped is True
    assert run.summary_json["ext"]["data"]["running_reaped"] == 0


def test_audit_counts_oversize_summary_as_warning(database: Database) -> None:
    large = base_summary("demo_task")
    large["common"]["inputs"] = {f"field_{index}": "x" * 250 for index in range(40)}
    planted = run_row(summary_json=large)
    with database.transaction() as session:
        session.execute(insert(TaskRun), [planted])

    outcome = run_task("task_runs_audit", database=database)

    run = load_run(database, outcome.run_id)
    assert run.status == "completed"
    data = run.summary_json["ext"]["data"]
    assert data["violations"] == 0
    assert data["summaries_over_warning_size"] == 1
    metrics = {metric["key"]: metric for metric in run.summary_json["common"]["metrics"]}
    assert metrics["summaries_over_warning_size"]["value"] == 1
    assert metrics["summaries_over_warning_size"]["tone"] == "warning"
    assert planted["run_id"] not in json.dumps(run.summary_json)
    warning_item = load_items(database, outcome.run_id)["capacity.summary_bytes_warning"]
    assert warning_item.item_type == "warning"
    assert (warning_item.details_json or {})["first_runs"][0]["run_id"] == planted["run_id"]
