"""List inputs that once gave 500 or 503: the API and the console respond with 400 or 404.

The API cases run on SQLite and PostgreSQL, because PostgreSQL rejects NUL in a parameter and
its driver error became a 503 with Retry-After.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from taskrun_center.lifecycle.read_service import MAX_PAGE, TOTAL_COUNT_CAP
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import Role, create_token, create_user
from tests.factories import make_run, run_row
from tests.web.conftest import (
    SECRET_KEY,
    VIEWER_PASSWORD,
    Accounts,
    bearer,
    csrf_token,
    log_in,
)

RUNS = "/api/v1/task-runs"
DOCS = Path(__file__).resolve().parents[2] / "docs"
OUT_OF_RANGE_TIMES = ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00")


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[TestClient, Database, dict[str, str]]]:
    """A client on SQLite and on PostgreSQL, with a viewer token header."""
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "viewer", VIEWER_PASSWORD, Role.VIEWER)
        token = create_token(session, "viewer", "ci").secret
    app = create_app(database, secret_key=SECRET_KEY)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, database, bearer(token)
    database.dispose()


def _insert_runs(database: Database, count: int) -> None:
    with database.transaction() as session:
        session.execute(insert(TaskRun), [run_row() for _ in range(count)])


@pytest.mark.parametrize("parameter", ["started_from", "started_to"])
@pytest.mark.parametrize("value", OUT_OF_RANGE_TIMES)
def test_api_time_out_of_range_is_400(
    api: tuple[TestClient, Database, dict[str, str]], parameter: str, value: str
) -> None:
    client, _, headers = api

    response = client.get(RUNS, params={parameter: value}, headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter
    assert "换算成 UTC" in response.json()["message"]


@pytest.mark.parametrize("parameter", ["started_from", "started_to"])
def test_api_number_as_time_is_400(
    api: tuple[TestClient, Database, dict[str, str]], parameter: str
) -> None:
    client, _, headers = api

    response = client.get(RUNS, params={parameter: "20261206"},
                          headers={**headers, "Accept-Language": "en"})

    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter
    assert "2026-12-06T08:00:00Z" in response.json()["message"]


def test_api_iso_time_still_filters(api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, database, headers = api
    make_run(database, status="completed")

    before = client.get(RUNS, params={"started_to": "2000-01-01"}, headers=headers)
    after = client.get(RUNS, params={"started_from": "2000-01-01T00:00:00Z"}, headers=headers)

    assert before.status_code == 200
    assert before.json()["data"]["total"] == 0
    assert after.json()["data"]["total"] == 1


@pytest.mark.parametrize("parameter", ["search", "task_key", "task_category"])
def test_api_nul_in_filter_is_400(
    api: tuple[TestClient, Database, dict[str, str]], parameter: str
) -> None:
    client, database, headers = api
    make_run(database, status="completed")

    response = client.get(RUNS, params={parameter: "ab\x00c"}, headers=headers)

    assert response.status_code == 400, response.text
    assert "Retry-After" not in response.headers
    assert response.json()["parameter"] == parameter


@pytest.mark.parametrize("path", ["", "/error-logs"])
def test_api_run_id_with_nul_is_404(
    api: tuple[TestClient, Database, dict[str, str]], path: str
) -> None:
    client, _, headers = api

    response = client.get(f"{RUNS}/{quote('ab' + chr(0) + 'c')}{path}", headers=headers)

    assert response.status_code == 404, response.text
    assert response.json()["message_code"] == "RESOURCE_NOT_FOUND"


def test_console_time_out_of_range_is_400(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs", params={"started_from": OUT_OF_RANGE_TIMES[0]})

    assert response.status_code == 400
    assert "started_from" in response.text


def test_console_number_as_time_is_400(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs", params={"started_to": "20261206"},
                          headers={"Accept-Language": "en"})

    assert response.status_code == 400
    assert "2026-12-06T08:00:00Z" in html.unescape(response.text)


def test_console_form_time_still_filters(client: TestClient, web_db: Database) -> None:
    make_run(web_db, status="completed")
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs", params={"started_to": "2000-01-01T08:00"})

    assert response.status_code == 200
    assert "没有符合条件的运行" in response.text


@pytest.mark.parametrize("value", ["ON", "Yes", "t", "1"])
def test_console_skipped_accepts_api_spellings(client: TestClient, value: str) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs", params={"skipped": value})

    assert response.status_code == 200


def test_console_huge_page_is_400(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs?page=999999999999999999999999")

    assert response.status_code == 400
    assert "1,000,000" in response.text


@pytest.mark.parametrize("query", ["page=\uff13", "page=\u0663", "limit=1_0"])
def test_console_non_ascii_number_is_400(client: TestClient, query: str) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get(f"/runs?{query}")

    assert response.status_code == 400


def test_console_nul_search_is_400(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)

    response = client.get("/runs", params={"search": "a\x00b"})

    assert response.status_code == 400
    assert "search" in response.text


def test_console_live_rows_skip_impossible_ids(client: TestClient, web_db: Database) -> None:
    running = make_run(web_db, status="running")
    log_in(client, "viewer", VIEWER_PASSWORD)

    ids = f"{running.run_id},{quote('ab' + chr(0) + 'c')},{'x' * 40}"
    response = client.get(f"/console/live/runs?ids={ids}")

    assert response.status_code == 200
    assert list(response.json()["runs"]) == [running.run_id]


def test_console_page_past_end_links_back(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, 45)
    log_in(client, "viewer", VIEWER_PASSWORD)

    chinese = client.get("/runs?page=500").text
    english = client.get("/runs?page=500", headers={"Accept-Language": "en"}).text

    assert "还没有任何运行记录" not in chinese
    assert "第 500 页已超出列表末尾" in chinese
    assert "共 45 条，3 页。" in chinese
    assert "Page 500 is past the end of the list" in english
    assert "45 runs on 3 pages." in english
    assert re.search(r'href="/runs"[^>]*data-testid="first-page"', english)
    assert re.search(r'href="/runs\?page=3"[^>]*data-testid="last-page"', english)


def test_console_page_past_end_keeps_filters(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, 3)
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs?status=completed&page=7").text

    assert 'href="/runs?status=completed"' in page
    assert 'href="/runs?status=completed&amp;page=1"' not in page
    assert "共 3 条，1 页。" in page


def test_console_past_end_beyond_capped_total(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, TOTAL_COUNT_CAP + 5)
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get("/runs?page=900000&limit=100", headers={"Accept-Language": "en"}).text

    assert "Page 900,000 is past the end of the list" in page
    assert "1,000+ runs." in page
    assert 'data-testid="first-page"' in page
    assert 'data-testid="last-page"' not in page


def test_console_pager_groups_page_numbers(client: TestClient, web_db: Database) -> None:
    _insert_runs(web_db, TOTAL_COUNT_CAP)
    log_in(client, "viewer", VIEWER_PASSWORD)

    chinese = client.get("/runs?limit=1&page=1000").text
    english = client.get("/runs?limit=1&page=1000", headers={"Accept-Language": "en"}).text

    assert "共 1,000 条 · 第 1,000 / 1,000 页" in chinese
    assert "1,000 runs · page 1,000 of 1,000" in english


def test_console_item_page_past_end_links_back(client: TestClient, web_db: Database) -> None:
    run = make_run(web_db, status="completed", items={"completed": 3})
    log_in(client, "viewer", VIEWER_PASSWORD)

    page = client.get(f"/runs/{run.run_id}?items_page=40", headers={"Accept-Language": "en"})

    assert page.status_code == 200
    assert "Page 40 is past the end of the items." in page.text
    assert "items_page=1#items" in page.text


def _docs_row(language_suffix: str, parameter: str) -> str:
    text = (DOCS / f"api{language_suffix}.md").read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if line.startswith(f"| `{parameter}` |"))


@pytest.mark.parametrize("language_suffix", ["", ".zh-CN"])
def test_docs_list_every_skipped_spelling(client: TestClient, accounts: Accounts,
                                          language_suffix: str) -> None:
    rule = _docs_row(language_suffix, "skipped").split("|")[3]
    true_part, false_part = re.split(r"false:|表示假：", rule)
    documented_true = set(re.findall(r"`([^`]+)`", true_part)) - {"common.flags.skipped"}
    documented_false = set(re.findall(r"`([^`]+)`", false_part))
    headers = bearer(accounts.viewer_token)

    for word in sorted(documented_true | documented_false):
        for spelling in (word, word.upper()):
            response = client.get(RUNS, params={"skipped": spelling}, headers=headers)
            assert response.status_code == 200, spelling
    assert documented_true == {"true", "t", "yes", "y", "on", "1"}
    assert documented_false == {"false", "f", "no", "n", "off", "0"}


@pytest.mark.parametrize("language_suffix", ["", ".zh-CN"])
def test_docs_state_page_cap(language_suffix: str) -> None:
    rule = _docs_row(language_suffix, "page")

    assert f"{MAX_PAGE:,}" in rule


def test_api_nul_in_trend_task_key_is_400(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, headers = api

    response = client.get("/api/v1/statistics/trends?task_key=a%00b", headers=headers)

    assert response.status_code == 400, response.text
    assert response.json()["message_code"] == "INVALID_PARAMETER"


def test_login_with_nul_username_is_401(
    api: tuple[TestClient, Database, dict[str, str]],
) -> None:
    client, _, _ = api

    response = client.post("/api/v1/auth/login",
                           json={"username": "ad\u0000min", "password": "x" * 12},
                           headers={"X-CSRFToken": csrf_token(client)})

    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", "参数 limt 无效：不是这个接口的参数（是否想写 limit？）；可用的参数："),
    ("en", "Invalid parameter limt: is not a parameter of this endpoint (did you mean "
           "limit?); it takes: "),
])
def test_misspelt_parameter_is_refused(api: tuple[TestClient, Database, dict[str, str]],
                                       language: str, expected: str) -> None:
    """A misspelt parameter is named instead of ignored with its default used."""
    client, database, headers = api
    make_run(database, status="completed")

    response = client.get(f"{RUNS}?limt=5", headers={**headers, "Accept-Language": language})

    assert response.status_code == 400
    body = response.json()
    assert body["message_code"] == "INVALID_PARAMETER"
    assert body["parameter"] == "limt"
    assert expected in body["message"]
    assert "task_key" in body["message"]


def test_unknown_parameter_waits_for_authentication(
        api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, _ = api

    response = client.get(f"{RUNS}?limt=5")

    assert response.status_code == 401


def test_long_unknown_parameter_name_is_cut(
        api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, headers = api

    response = client.get(f"{RUNS}?{'x' * 60_000}=1", headers=headers)

    assert response.status_code == 400
    assert response.json()["parameter"] == "x" * 60 + "…"
    assert len(response.content) < 2_000


def test_unknown_parameter_name_is_escaped(
        api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, headers = api

    response = client.get(f"{RUNS}?{quote(chr(0x202e))}x=1", headers=headers)

    assert response.status_code == 400
    assert "\u202e" not in response.text
    assert "\\u202e" in response.json()["message"]


def test_declared_parameters_and_health_probe_pass(
        api: tuple[TestClient, Database, dict[str, str]]) -> None:
    client, _, headers = api

    listed = client.get(f"{RUNS}?limit=5&status=failed&sort=task_key", headers=headers)
    probed = client.get("/healthz?nocache=123")

    assert listed.status_code == 200
    assert probed.status_code == 200
