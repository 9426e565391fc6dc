"""Plain dicts of runs and items for the API and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

from taskrun_center.lifecycle.serialize import item_to_dict, run_to_dict
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.maintenance.rows import NOW, add_items, add_run


def test_run_dict_has_every_column(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        run = add_run(session, started_at=NOW, duration=timedelta(milliseconds=1500))

    payload = run_to_dict(run)

    assert set(payload) == {column.key for column in TaskRun.__table__.columns}
    assert payload["started_at"] == "2026-06-01T12:00:00Z"
    assert payload["completed_at"] == "2026-06-01T12:00:01.500000Z"
    assert payload["duration_ms"] == 1500
    assert payload["summary_json"]["ext"]["type"] == "sync_accounts"
    assert json.loads(json.dumps(payload)) == payload
    database.dispose()


def test_item_dict_has_every_column(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        run = add_run(session)
        [item] = add_items(session, run, ["failed"], error_message="disk full")

    payload = item_to_dict(item)

    assert set(payload) == {column.key for column in TaskRunItem.__table__.columns}
    assert payload["error_message"] == "disk full"
    assert payload["created_at"].endswith("Z")
    assert json.loads(json.dumps(payload)) == payload
    database.dispose()


def test_running_run_has_no_duration(database_url: str) -> None:
    database = Database(database_url)
    with database.transaction() as session:
        run = add_run(session, status="running")

    payload = run_to_dict(run)

    assert payload["duration_ms"] is None
    assert payload["completed_at"] is None
    database.dispose()
