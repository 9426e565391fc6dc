"""Stored JSON text that does not decode is read as a marked value, never as an exception.

SQLite accepts any text in a JSON column, so the rows are corrupted with plain SQL, as an
operator editing the file by hand would. PostgreSQL's jsonb rejects such text on write.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
import structlog.testing
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from taskrun_center.lifecycle.read_service import TaskRunsReadService
from taskrun_center.lifecycle.serialize import item_to_dict, run_to_dict
from taskrun_center.maintenance.audit import audit_runs
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import (
    INVALID_JSON_KEY,
    INVALID_JSON_PREVIEW_CHARS,
    is_invalid_json,
)
from tests.factories import make_run
from tests.runners.processes import taskrun_argv
from tests.support.api_clients import viewer_client

BROKEN_SUMMARY = "not json at all, password=hunter2"
BROKEN_DETAILS = "{{{"


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _broken_run(db: Database) -> str:
    """Record a failed run with one failed item, then overwrite its JSON with invalid text."""
    run_id = make_run(db, status=RunStatus.FAILED, items={ItemStatus.FAILED: 1}).run_id
    with db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = :value WHERE run_id = :run_id"),
                        {"value": BROKEN_SUMMARY, "run_id": run_id})
        session.execute(
            text("UPDATE task_run_items SET details_json = :value WHERE run_id = :run_id"),
            {"value": BROKEN_DETAILS, "run_id": run_id},
        )
    return run_id


def test_broken_summary_reads_as_marker(sqlite_db: Database) -> None:
    run_id = _broken_run(sqlite_db)

    with sqlite_db.session() as session:
        run = session.scalars(select(TaskRun).where(TaskRun.run_id == run_id)).one()
        item = session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).one()

    assert is_invalid_json(run.summary_json)
    assert run.summary_json[INVALID_JSON_KEY] is True
    assert run.summary_json["preview"].startswith("not json at all")
    assert "hunter2" not in run.summary_json["preview"]
    assert item.details_json is not None
    assert is_invalid_json(item.details_json)
    assert item.details_json["preview"] == BROKEN_DETAILS


def test_marker_preview_keeps_200_chars(sqlite_db: Database) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = :value WHERE run_id = :run_id"),
                        {"value": "x" * 5000, "run_id": run_id})

    with sqlite_db.session() as session:
        summary = session.scalar(select(TaskRun.summary_json).where(TaskRun.run_id == run_id))

    assert summary is not None
    assert summary["preview"] == "x" * 200


def test_audit_counts_json_invalid(sqlite_db: Database) -> None:
    run_id = _broken_run(sqlite_db)
    make_run(sqlite_db, status=RunStatus.COMPLETED)

    result = audit_runs(sqlite_db)

    assert result.scanned == 2
    assert result.counts.get("row.json_invalid") == 2
    paths = {finding.path for finding in result.violations if finding.run_id == run_id}
    assert "summary_json" in paths
    assert any(path.endswith(".details_json") for path in paths)
    # The marker stands for the text; it is not audited again as a malformed envelope.
    assert not any(rule.startswith("envelope.") for rule in result.counts)


def test_audit_ignores_marker_key_in_valid_item_data(sqlite_db: Database) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED, items={ItemStatus.COMPLETED: 1}).run_id
    stored = json.dumps({INVALID_JSON_KEY: True, "preview": "written by a task"})
    with sqlite_db.transaction() as session:
        session.execute(
            text("UPDATE task_run_items SET details_json = :value WHERE run_id = :run_id"),
            {"value": stored, "run_id": run_id},
        )

    result = audit_runs(sqlite_db)

    assert "row.json_invalid" not in result.counts


def _taskrun(*arguments: str, database_url: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TASKRUN_DATABASE_URL": database_url, "TASKRUN_LANGUAGE": "en"}
    return subprocess.run(taskrun_argv(*arguments), capture_output=True, text=True,
                          env=environment, timeout=120, check=False)


def test_cli_lists_and_audits_broken_row(sqlite_db: Database, sqlite_url: str) -> None:
    run_id = _broken_run(sqlite_db)

    listed = _taskrun("runs", "list", "--format", "json", database_url=sqlite_url)
    shown = _taskrun("runs", "show", run_id, "--format", "json", database_url=sqlite_url)
    audited = _taskrun("audit", database_url=sqlite_url)

    assert listed.returncode == 0, listed.stderr
    assert run_id in listed.stdout
    assert '"_invalid_json": true' in listed.stdout
    assert shown.returncode == 0, shown.stderr
    assert '"_invalid_json": true' in shown.stdout
    assert audited.returncode == 1, audited.stderr
    assert "row.json_invalid" in audited.stdout
    assert "Traceback" not in audited.stderr


@pytest.fixture
def api_client(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with viewer_client(sqlite_db, monkeypatch) as client:
        yield client


def test_api_serves_broken_row(sqlite_db: Database, api_client: TestClient) -> None:
    run_id = _broken_run(sqlite_db)

    listed = api_client.get("/api/v1/task-runs")
    detail = api_client.get(f"/api/v1/task-runs/{run_id}")
    error_logs = api_client.get(f"/api/v1/task-runs/{run_id}/error-logs")
    statistics = api_client.get("/api/v1/statistics/tasks")
    page = api_client.get(f"/runs/{run_id}")

    assert listed.status_code == 200, listed.text
    assert listed.json()["data"]["items"][0]["summary_json"][INVALID_JSON_KEY] is True
    assert detail.status_code == 200, detail.text
    assert detail.json()["data"]["items"][0]["details_json"][INVALID_JSON_KEY] is True
    assert error_logs.status_code == 200, error_logs.text
    assert statistics.status_code == 200, statistics.text
    assert page.status_code == 200, page.text[:300]
    assert 'data-testid="summary-invalid"' in page.text
    assert 'data-testid="json-invalid"' in page.text
    assert "hunter2" not in page.text


def test_postgresql_rejects_invalid_json(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        run_id = make_run(database, status=RunStatus.COMPLETED).run_id
        with pytest.raises(DBAPIError), database.engine.begin() as connection:
            connection.execute(
                text("UPDATE task_runs SET summary_json = CAST(:value AS jsonb) "
                     "WHERE run_id = :run_id"),
                {"value": BROKEN_SUMMARY, "run_id": run_id},
            )

        with database.session() as session:
            summary = session.scalar(select(TaskRun.summary_json)
                                     .where(TaskRun.run_id == run_id))
        result = audit_runs(database)
    finally:
        database.dispose()

    assert summary is not None
    assert not is_invalid_json(summary)
    assert summary["version"] == 1
    assert "row.json_invalid" not in result.counts


def test_repeated_reads_warn_once_per_row(sqlite_db: Database) -> None:
    run_id = _broken_run(sqlite_db)

    with sqlite_db.session() as session, structlog.testing.capture_logs() as logs:
        for _ in range(3):
            run = session.scalars(select(TaskRun).where(TaskRun.run_id == run_id)).one()
            item = session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).one()
            run_to_dict(run)
            item_to_dict(item)
            session.expire_all()

    run_warnings = [line for line in logs if line["event"] == "run_json_invalid"]
    item_warnings = [line for line in logs if line["event"] == "item_json_invalid"]
    assert len(run_warnings) == 1
    assert run_warnings[0]["run_id"] == run_id
    assert len(item_warnings) == 1
    assert item_warnings[0]["column"] == "details_json"


def test_bad_timestamp_reads_as_none(sqlite_db: Database) -> None:
    broken = make_run(sqlite_db, status=RunStatus.COMPLETED, items={ItemStatus.COMPLETED: 1})
    healthy = make_run(sqlite_db, status=RunStatus.COMPLETED)
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET started_at = 'notadate' WHERE run_id = :id"),
                        {"id": broken.run_id})
        session.execute(
            text("UPDATE task_run_items SET completed_at = '2026-13-45' WHERE run_id = :id"),
            {"id": broken.run_id},
        )

    with sqlite_db.session() as session:
        page = TaskRunsReadService(session).list_runs()
        item = session.scalars(
            select(TaskRunItem).where(TaskRunItem.run_id == broken.run_id)
        ).one()
    result = audit_runs(sqlite_db)

    listed = {run.run_id: run for run in page.items}
    assert listed[broken.run_id].started_at is None
    assert listed[healthy.run_id].started_at is not None
    assert item.completed_at is None
    paths = sorted(finding.path for finding in result.violations
                   if finding.rule == "row.timestamp_invalid")
    assert paths == ["items[step/0].completed_at", "started_at"]
    assert {finding.run_id for finding in result.violations
            if finding.rule == "row.timestamp_invalid"} == {broken.run_id}


def test_text_in_integer_columns_is_served_and_audited(sqlite_db: Database,
                                                       api_client: TestClient) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET duration_ms = 'abc', progress_total = 'x', "
                             "progress_completed = 'y' WHERE run_id = :run_id"),
                        {"run_id": run_id})

    pages = [api_client.get(path) for path in
             ("/runs", f"/runs/{run_id}", "/tasks", "/api/v1/task-runs", "/metrics",
              f"/api/v1/task-runs/{run_id}", "/api/v1/statistics/tasks")]
    result = audit_runs(sqlite_db)

    for page in pages:
        assert page.status_code == 200, (page.url, page.text[:300])
        assert not page.history, page.url
    assert run_id in pages[1].text
    assert result.counts.get("row.duration_mismatch") == 1
    assert result.counts.get("row.progress_invalid") == 2


@pytest.mark.parametrize("stored", [
    '{"version":1,"common":{"highlights":' + "[" * 300 + "]" * 300 + "}}",
    '{"version":1,"common":{"highlights":["\\ud800"]}}',
])
def test_unservable_json_reads_as_marker(sqlite_db: Database, api_client: TestClient,
                                         stored: str) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = :value WHERE run_id = :run_id"),
                        {"value": stored, "run_id": run_id})

    listed = api_client.get("/api/v1/task-runs")
    detail = api_client.get(f"/api/v1/task-runs/{run_id}")
    page = api_client.get(f"/runs/{run_id}")

    assert listed.status_code == 200, listed.text[:300]
    assert listed.json()["data"]["items"][0]["summary_json"][INVALID_JSON_KEY] is True
    assert detail.status_code == 200, detail.text[:300]
    assert page.status_code == 200, page.text[:300]
    assert audit_runs(sqlite_db).counts.get("row.json_invalid") == 1


def test_moderate_nesting_still_reads() -> None:
    from taskrun_center.storage.types import MAX_STORED_JSON_DEPTH, load_json_text

    depth = MAX_STORED_JSON_DEPTH - 1
    nested = load_json_text("[" * depth + "]" * depth)

    assert isinstance(nested, list)
    with pytest.raises(ValueError):
        load_json_text("[" * (MAX_STORED_JSON_DEPTH + 1) + "]" * (MAX_STORED_JSON_DEPTH + 1))


def test_blob_in_text_columns_is_served(sqlite_db: Database, api_client: TestClient) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET task_name = x'41ff42', "
                             "error_message = x'00' WHERE run_id = :run_id"),
                        {"run_id": run_id})

    listed = api_client.get("/api/v1/task-runs")
    detail = api_client.get(f"/api/v1/task-runs/{run_id}")

    assert listed.status_code == 200, listed.text[:300]
    assert listed.json()["data"]["items"][0]["task_name"] == "A\ufffdB"
    assert detail.status_code == 200, detail.text[:300]


def test_non_utf8_json_reads_as_marker(sqlite_db: Database, api_client: TestClient) -> None:
    """Bytes that are no UTF-8 in a JSON column fail only their value, not the page."""
    run_id = make_run(sqlite_db, status=RunStatus.FAILED, items={ItemStatus.FAILED: 1}).run_id
    healthy = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        # 0xff never occurs in UTF-8; CAST keeps the bytes as TEXT, as a hand edit can.
        session.execute(text("UPDATE task_runs SET summary_json = CAST(x'7b22ff227d' AS TEXT) "
                             "WHERE run_id = :run_id"), {"run_id": run_id})
        session.execute(text("UPDATE task_run_items SET details_json = CAST(x'5bff5d' AS TEXT) "
                             "WHERE run_id = :run_id"), {"run_id": run_id})

    with sqlite_db.read_connection() as connection:
        page = TaskRunsReadService(connection).list_runs()
    listed = api_client.get("/api/v1/task-runs")
    detail = api_client.get(f"/api/v1/task-runs/{run_id}")

    summaries = {run.run_id: run.summary_json for run in page.items}
    assert is_invalid_json(summaries[run_id])
    assert summaries[run_id]["preview"] == '{"\ufffd"}'
    assert not is_invalid_json(summaries[healthy])
    assert listed.status_code == 200, listed.text
    assert detail.status_code == 200, detail.text
    assert detail.json()["data"]["items"][0]["details_json"][INVALID_JSON_KEY] is True


# Stored JSON is UTF-8 text: a UTF-8 byte order mark, UTF-16 or UTF-32 is not JSON, even where
# ``json.loads`` would guess the encoding from the bytes.
_SECRET_SUMMARY = '{"password": "hunter2hunter2"}'


@pytest.mark.parametrize("encoded", [
    b"\xef\xbb\xbf" + _SECRET_SUMMARY.encode(),
    _SECRET_SUMMARY.encode("utf-16-be"),
    _SECRET_SUMMARY.encode("utf-32-le"),
], ids=["utf8_bom", "utf16", "utf32"])
def test_json_not_in_utf8_reads_as_marker(sqlite_db: Database, api_client: TestClient,
                                          encoded: bytes) -> None:
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = CAST(:value AS TEXT) "
                             "WHERE run_id = :run_id"), {"value": encoded, "run_id": run_id})

    with sqlite_db.read_connection() as connection:
        listed = TaskRunsReadService(connection).list_runs().items[0].summary_json
    detail = api_client.get(f"/api/v1/task-runs/{run_id}")

    assert is_invalid_json(listed)
    assert "hunter2" not in listed["preview"]
    assert detail.status_code == 200, detail.text[:300]
    assert detail.json()["data"]["run"]["summary_json"][INVALID_JSON_KEY] is True
    assert "hunter2" not in detail.text


@pytest.mark.parametrize("secret", ["4111111111111111", "alice.smith@example.com",
                                    "13812345678", "110101199003078515"],
                         ids=["card", "email", "phone", "id_number"])
def test_preview_masks_secret_at_its_end(sqlite_db: Database, secret: str) -> None:
    """A secret that crosses the preview's last character is masked whole."""
    run_id = make_run(sqlite_db, status=RunStatus.COMPLETED).run_id
    stored = "x" * (INVALID_JSON_PREVIEW_CHARS - 5) + " " + secret + " broken"
    with sqlite_db.transaction() as session:
        session.execute(text("UPDATE task_runs SET summary_json = :value WHERE run_id = :run_id"),
                        {"value": stored, "run_id": run_id})

    with sqlite_db.read_connection() as connection:
        preview = TaskRunsReadService(connection).get_run(run_id).summary_json["preview"]

    assert len(preview) == INVALID_JSON_PREVIEW_CHARS
    assert secret[:4] not in preview[INVALID_JSON_PREVIEW_CHARS - 5:]
