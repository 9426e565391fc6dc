"""Console pages rendered on the server: list, detail, tasks, login, language, escaping."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from structlog.testing import capture_logs

from taskrun_center.lifecycle.read_service import TOTAL_COUNT_CAP
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from taskrun_center.web.auth.throttle import MAX_FAILURES_PER_USER
from taskrun_center.web.console.renderers import RendererRegistry, RunRenderer, default_renderers
from taskrun_center.web.console.summary_view import SummaryView
from tests.factories import base_summary, make_run, run_row
from tests.web.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, csrf_token, log_in
from tests.web.summaries import XSS_HIGHLIGHT, rich_summary, skipped_summary, xss_summary


def test_login_page_renders_in_chinese(client: TestClient) -> None:
    response = client.get("/login")

    assert response.status_code == 200
    assert "登录任务运行中心" in response.text
    assert 'name="csrf_token"' in response.text


def test_login_form_signs_in_and_redirects(client: TestClient) -> None:
    token = csrf_token(client)

    response = client.post(
        "/login",
        data={"username": "viewer", "password": VIEWER_PASSWORD, "csrf_token": token,
              "next": "/tasks"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks"
    assert client.get("/runs").status_code == 200


def test_login_form_rejects_offsite_next(client: TestClient) -> None:
    token = csrf_token(client)

    response = client.post(
        "/login",
        data={"username": "viewer", "password": VIEWER_PASSWORD, "csrf_token": token,
              "next": "//evil.example/"},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/runs"


def test_login_form_shows_error_on_wrong_password(client: TestClient) -> None:
    token = csrf_token(client)

    response = client.post(
        "/login", data={"username": "viewer", "password": "nope-nope", "csrf_token": token}
    )

    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_login_form_throttled_sends_retry_after(client: TestClient) -> None:
    token = csrf_token(client)
    form = {"username": "viewer", "password": "nope-nope", "csrf_token": token}
    for _ in range(MAX_FAILURES_PER_USER):
        client.post("/login", data=form)

    response = client.post("/login", data=form)

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


def test_login_form_without_csrf_is_rejected(client: TestClient) -> None:
    response = client.post("/login", data={"username": "viewer", "password": VIEWER_PASSWORD})

    assert response.status_code == 403
    assert "请刷新页面后重试" in response.text
    assert client.get("/api/v1/auth/me").status_code == 401


def test_list_shows_chips_and_skip_reason(client: TestClient, web_db: Database) -> None:
    make_run(web_db, status="completed", summary_json=rich_summary())
    make_run(web_db, status="completed", summary_json=skipped_summary("今日无新账号"))
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs").text

    assert 'class="chip tone-success" data-metric="rows"' in page
    assert "1,200 行" in page
    assert 'class="chip tone-danger" data-metric="errors"' in page
    assert "已跳过" in page
    assert "今日无新账号" in page
    assert "同步完成" in page


def test_list_escapes_markup_from_summaries(client: TestClient, web_db: Database) -> None:
    make_run(web_db, status="completed", summary_json=xss_summary())
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs").text

    assert XSS_HIGHLIGHT not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>alert(2)</script>" not in page


def test_detail_escapes_markup_in_items(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="completed", summary_json=xss_summary())
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get(f"/runs/{run.run_id}").text

    assert XSS_HIGHLIGHT not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_list_filters_by_status(client: TestClient, web_db: Database) -> None:
    failed = make_run(web_db, status="failed")
    done = make_run(web_db, status="completed")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs?status=failed&task_key=&skipped=&started_from=").text

    assert failed.run_id in page
    assert done.run_id not in page


def test_list_repeated_filter_matches_any(client: TestClient, web_db: Database) -> None:
    failed = make_run(web_db, status="failed")
    cancelled = make_run(web_db, status="cancelled")
    done = make_run(web_db, status="completed")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs?status=failed&status=cancelled").text

    assert failed.run_id in page
    assert cancelled.run_id in page
    assert done.run_id not in page


def test_list_too_many_filter_values_is_400(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)
    query = "&".join(f"task_key=task_{number}" for number in range(101))

    response = client.get(f"/runs?{query}")

    assert response.status_code == 400
    assert "task_key" in response.text


def test_list_empty_state_without_runs(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs").text

    assert 'data-testid="empty-state"' in page
    assert "还没有任何运行记录" in page


def test_list_empty_state_with_filters(client: TestClient, web_db: Database) -> None:
    make_run(web_db, status="completed")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs?status=failed").text

    assert "没有符合条件的运行" in page


def test_list_invalid_filter_shows_error_page(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs?sort=drop_table")

    assert response.status_code == 400
    assert "请求参数有误" in response.text
    assert "sort" in response.text


def test_list_error_page_reason_follows_language(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    chinese = html.unescape(client.get("/runs?skipped=maybe").text)
    english = html.unescape(
        client.get("/runs?skipped=maybe", headers={"Accept-Language": "en"}).text
    )

    assert "'maybe' 不是 true 或 false" in chinese
    assert "is not true or false" not in chinese
    assert "'maybe' is not true or false" in english


def test_list_marks_running_rows_live(client: TestClient, web_db: Database) -> None:
    running = make_run(web_db, status="running")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs").text

    assert re.search(rf'data-run-id="{running.run_id}" data-live="1"', page)


def test_live_endpoint_returns_rows(client: TestClient, web_db: Database) -> None:
    running = make_run(web_db, status="running", items={"completed": 1, "pending": 1})
    log_in(client, "viewer", VIEWER_PASSWORD)

    body = client.get(f"/console/live/runs?ids={running.run_id},unknown").json()

    state = body["runs"][running.run_id]
    assert state["status"] == "running"
    assert state["progress"] == [1, 0, 2]
    assert state["terminal"] is False
    assert state["html"].startswith(f'<tr data-run-id="{running.run_id}"')
    assert "1/2" in state["progress_html"]
    assert "unknown" not in body["runs"]


def test_detail_shows_cancel_button_to_admin_only(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")

    log_in(client, "viewer", VIEWER_PASSWORD)
    viewer_page = client.get(f"/runs/{run.run_id}").text
    log_in(client, "admin", ADMIN_PASSWORD)
    admin_page = client.get(f"/runs/{run.run_id}").text

    assert 'data-testid="cancel-run"' not in viewer_page
    assert 'data-testid="cancel-run"' in admin_page


def test_cancel_form_cancels_run(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    token = log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(f"/runs/{run.run_id}/cancel", data={"csrf_token": token},
                           follow_redirects=False)

    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "运行已取消" in page
    assert "status-cancelled" in page


def test_cancel_form_without_csrf_is_403(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(f"/runs/{run.run_id}/cancel", data={})

    assert response.status_code == 403
    assert "CSRF_MISSING" in response.text
    assert "请刷新页面后重试" in response.text
    assert "X-CSRFToken" not in response.text


def test_cancel_form_wrong_csrf_says_reload(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "admin", ADMIN_PASSWORD)
    client.cookies.set("lang", "en")

    response = client.post(f"/runs/{run.run_id}/cancel", data={"csrf_token": "stale"})

    assert response.status_code == 403
    assert "CSRF_INVALID" in response.text
    assert "reload the page and try again" in response.text
    assert "fetch a new token" not in response.text


def test_api_without_csrf_names_header(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="running")
    log_in(client, "admin", ADMIN_PASSWORD)

    response = client.post(f"/api/v1/task-runs/{run.run_id}/actions/cancel")

    assert response.status_code == 403
    assert response.json()["message_code"] == "CSRF_MISSING"
    assert "X-CSRFToken" in response.json()["message"]


def test_detail_shows_items_errors_and_truncation(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="completed_with_errors", items={"completed": 2, "failed": 1},
                   result_url="https://reports.example/run/1")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get(f"/runs/{run.run_id}").text
    failed_only = client.get(f"/runs/{run.run_id}?item_status=failed").text

    assert 'data-testid="items-table"' in page
    assert "item 2 failed" in page
    assert 'href="https://reports.example/run/1"' in page
    assert failed_only.count("badge status-failed") == 1


def test_unknown_run_page_is_404_in_language(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)
    client.cookies.set("lang", "en")

    response = client.get("/runs/does-not-exist")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Run &#34;does-not-exist&#34; does not exist." in response.text


def test_language_switch_sets_cookie(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/lang/en?next=/tasks", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/tasks"
    assert client.cookies.get("lang") == "en"
    assert "Task runs" in client.get("/runs").text


def test_accept_language_english_console(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs", headers={"Accept-Language": "en"}).text

    assert "Every run of every background task" in page


def test_tasks_page_shows_chart_and_rates(client: TestClient, web_db: Database) -> None:
    make_run(web_db, task_key="nightly", status="completed")
    make_run(web_db, task_key="nightly", status="failed")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/tasks").text

    assert 'data-task-key="nightly"' in page
    assert "<svg" in page
    assert "50.0%" in page


def test_static_files_are_served(client: TestClient) -> None:
    assert client.get("/static/console.css").status_code == 200
    assert "pollRows" in client.get("/static/console.js").text


def _use_renderer(monkeypatch: pytest.MonkeyPatch, template_dir: Path,
                  renderer: RunRenderer) -> None:
    """Serve the sync_accounts type with ``renderer`` and templates from ``template_dir``."""
    registry = RendererRegistry()
    registry.add_template_dir(template_dir)
    registry.register("sync_accounts", renderer)
    monkeypatch.setattr(default_renderers, "_by_type", registry._by_type)
    monkeypatch.setattr(default_renderers, "_template_dirs", registry.template_dirs)


def test_custom_renderer_is_used_for_its_type(
    client: TestClient, web_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sync_overview.html").write_text(
        '<p class="sync">{{ view.data.accounts }} accounts, {{ note }}</p>', encoding="utf-8"
    )

    class SyncRenderer(RunRenderer):
        overview_template = "sync_overview.html"

        def overview_context(self, view: SummaryView, run: object, language: str) -> dict:
            return {"note": "<b>synced</b>"}

    _use_renderer(monkeypatch, tmp_path, SyncRenderer())
    make_run(web_db, task_key="sync_accounts", status="completed",
             summary_json=base_summary("sync_accounts", accounts=42))
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs").text

    assert '<p class="sync">42 accounts, &lt;b&gt;synced&lt;/b&gt;</p>' in page


def test_failing_renderer_falls_back_to_generic_view(
    client: TestClient, web_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renderer that fails on one run's summary leaves the list and the detail page usable."""
    (tmp_path / "sync_overview.html").write_text(
        '<p class="sync">{{ view.data.accounts | number }} accounts</p>', encoding="utf-8"
    )

    class SyncRenderer(RunRenderer):
        overview_template = "sync_overview.html"

        def detail_context(self, view: SummaryView, run: object, language: str) -> dict:
            raise KeyError("accounts")

    _use_renderer(monkeypatch, tmp_path, SyncRenderer())
    make_run(web_db, task_key="sync_accounts", status="completed",
             summary_json=base_summary("sync_accounts", accounts=42))
    # A running run's ext.data is still {}, which the template above does not expect.
    running = make_run(web_db, task_key="sync_accounts", status="running",
                       summary_json=base_summary("sync_accounts"))
    log_in(client, "viewer", VIEWER_PASSWORD)

    with capture_logs() as logs:
        listed = client.get("/runs")
        detail = client.get(f"/runs/{running.run_id}", headers={"Accept-Language": "en"})

    assert listed.status_code == 200
    assert '<p class="sync">42 accounts</p>' in listed.text
    assert listed.text.count('data-testid="renderer-fallback"') == 1
    assert "此任务类型的专用展示出错" in listed.text
    assert detail.status_code == 200
    assert "the generic view is shown" in detail.text
    failures = [entry for entry in logs if entry["event"] == "renderer_failed"]
    assert {(entry["part"], entry["error_type"]) for entry in failures} == {
        ("overview", "UndefinedError"), ("detail", "KeyError")}
    assert all(entry["run_id"] == running.run_id for entry in failures)


def test_failing_matcher_falls_back_to_generic_view(
    client: TestClient, web_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def raising(view: SummaryView) -> bool:
        raise RuntimeError("matcher bug")

    registry = RendererRegistry()
    registry.register_matcher(raising, RunRenderer())
    monkeypatch.setattr(default_renderers, "_matchers", registry._matchers)
    run = make_run(web_db, task_key="sync_accounts", status="completed",
                   summary_json=base_summary("sync_accounts", accounts=42))
    log_in(client, "viewer", VIEWER_PASSWORD)

    listed = client.get("/runs")
    detail = client.get(f"/runs/{run.run_id}")

    assert listed.status_code == 200
    assert detail.status_code == 200
    assert 'data-testid="renderer-fallback"' in listed.text


def test_api_docs_page_uses_local_assets(client: TestClient) -> None:
    page = client.get("/api/docs").text

    assert "/api/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/openapi.json").json()["info"]["title"] == "TaskRun Center"


def test_pages_forbid_inline_scripts(client: TestClient) -> None:
    response = client.get("/login")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_result_url_links_only_web_schemes(client: TestClient, web_db: Database) -> None:
    script = make_run(web_db, status="completed", result_url="javascript:alert(document.cookie)")
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get(f"/runs/{script.run_id}").text

    assert 'href="javascript:' not in page
    assert '<span class="muted small mono" data-testid="result-url">javascript:' in page


def _insert_runs(database: Database, count: int) -> None:
    """Insert ``count`` finished runs as plain rows, one minute apart."""
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    rows = [run_row(started_at=start + timedelta(minutes=index)) for index in range(count)]
    with database.transaction() as session:
        session.execute(insert(TaskRun), rows)


def test_list_beyond_cap_shows_lower_bound(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, TOTAL_COUNT_CAP + 5)
    log_in(client, "viewer", VIEWER_PASSWORD)

    chinese = client.get("/runs").text
    english = client.get("/runs", headers={"Accept-Language": "en"}).text

    assert "共 1,000+ 条 · 第 1 页" in chinese
    assert "/ 50 页" not in chinese
    assert "1,000+ runs · page 1" in english
    assert "page 1 of" not in english


def test_list_next_link_passes_capped_pages(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, TOTAL_COUNT_CAP + 5)
    log_in(client, "viewer", VIEWER_PASSWORD)
    last_capped = TOTAL_COUNT_CAP // 20

    capped = client.get(f"/runs?page={last_capped}").text
    next_link = re.search(r'<a href="([^"]+)" rel="next">', capped)
    assert next_link is not None
    beyond = client.get(next_link.group(1).replace("&amp;", "&")).text

    assert "cursor=" in next_link.group(1)
    assert f'<span class="current" aria-current="page">{last_capped + 1}</span>' in beyond
    assert beyond.count("<tr data-run-id=") == 5
    assert 'rel="next"' not in beyond


def test_favicon_is_served(client: TestClient) -> None:
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in response.text


def test_pages_link_the_icon(client: TestClient) -> None:
    page = client.get("/login").text

    assert 'rel="icon"' in page
    assert client.get("/static/favicon.svg").status_code == 200
