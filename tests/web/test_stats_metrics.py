"""Trend statistics, task overviews, Prometheus metrics and the health check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from taskrun_center.storage.engine import Database
from taskrun_center.web.metrics import build_registry, render_metrics
from taskrun_center.web.stats import daily_trend, task_overviews
from tests.factories import make_run
from tests.web.conftest import Accounts, bearer

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _seed(database: Database) -> None:
    day = NOW - timedelta(days=1)
    make_run(database, task_key="sync", status="completed", started_at=day,
             completed_at=day + timedelta(seconds=2))
    make_run(database, task_key="sync", status="completed", started_at=day,
             completed_at=day + timedelta(seconds=4))
    make_run(database, task_key="sync", status="failed", started_at=day,
             completed_at=day + timedelta(seconds=6))
    make_run(database, task_key="sync", status="cancelled", started_at=NOW)
    make_run(database, task_key="other", status="running", started_at=NOW)


def test_daily_trend_counts_per_day(database_url: str) -> None:
    database = Database(database_url)
    _seed(database)

    with database.session() as session:
        points = daily_trend(session, "sync", 3, now=NOW)

    assert [point.day for point in points] == ["2026-11-08", "2026-11-09", "2026-11-10"]
    yesterday = points[1]
    assert (yesterday.runs, yesterday.succeeded, yesterday.failed) == (3, 2, 1)
    assert yesterday.success_rate == round(2 / 3, 4)
    assert yesterday.avg_duration_ms == 4000
    assert yesterday.max_duration_ms == 6000
    assert points[2].runs == 1
    assert points[2].success_rate is None
    assert points[0].runs == 0
    database.dispose()


def test_task_overviews_include_last_run(database_url: str) -> None:
    database = Database(database_url)
    _seed(database)

    with database.session() as session:
        overviews = {o.task_key: o for o in task_overviews(session, 7, now=NOW)}

    assert set(overviews) == {"other", "sync"}
    sync = overviews["sync"]
    assert sync.runs == 4
    assert sync.success_rate == round(2 / 3, 4)
    assert sync.last_run is not None
    assert sync.last_run.status == "cancelled"
    database.dispose()


def test_metrics_expose_counts_running_and_durations(web_db: Database) -> None:
    _seed(web_db)

    text = render_metrics(build_registry(web_db)).decode()

    assert 'taskrun_runs{status="completed",task_key="sync"} 2.0' in text
    assert 'taskrun_runs{status="failed",task_key="sync"} 1.0' in text
    assert 'taskrun_runs_running{task_key="other"} 1.0' in text
    assert 'taskrun_runs_running{task_key="sync"} 0.0' in text
    assert 'taskrun_run_duration_seconds_sum{task_key="sync"} 12.0' in text
    assert 'taskrun_run_duration_seconds_count{task_key="sync"} 3.0' in text


def test_metrics_sum_durations_beyond_int64(database_url: str) -> None:
    from sqlalchemy import update

    from taskrun_center.storage.models import TaskRun

    database = Database(database_url)
    _seed(database)
    huge = 2**62
    with database.transaction() as session:
        session.execute(update(TaskRun).where(TaskRun.task_key == "sync")
                        .values(duration_ms=huge))

    text = render_metrics(build_registry(database)).decode()
    database.dispose()

    line = next(line for line in text.splitlines()
                if line.startswith('taskrun_run_duration_seconds_sum{task_key="sync"}'))
    assert float(line.split()[-1]) == 3 * huge / 1000


def test_metrics_endpoint_serves_text_format(
    client: TestClient, accounts: Accounts, web_db: Database
) -> None:
    _seed(web_db)

    response = client.get("/metrics", headers=bearer(accounts.viewer_token))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE taskrun_runs gauge" in response.text


def test_trends_endpoint_validates_days(client: TestClient, accounts: Accounts) -> None:
    headers = bearer(accounts.viewer_token)

    good = client.get("/api/v1/statistics/trends?days=7", headers=headers)
    bad = client.get("/api/v1/statistics/trends?days=0", headers=headers)

    assert len(good.json()["data"]["points"]) == 7
    assert bad.status_code == 400
    assert bad.json()["parameter"] == "days"


def test_healthz_reports_database(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ok", "database": "ok"}
