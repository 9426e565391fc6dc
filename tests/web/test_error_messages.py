"""Error messages quote request values safely; a 500 is logged once; run-now names its header."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from taskrun_center.quoting import quote_identifier
from tests.browser.live_server import free_port
from tests.web.conftest import VIEWER_PASSWORD, Accounts, bearer, log_in
from tests.web.serve_process import running_server, serve_environment

# Starts the real ``serve`` with one extra route that fails, so uvicorn's own logging is live.
FAILING_SERVER = """
import sys
from taskrun_center.logging_setup import configure_logging
from taskrun_center.web import server

build_app = server.create_app

def app_with_failing_route(database):
    app = build_app(database)

    @app.get("/api/v1/fail-on-purpose")
    def fail_on_purpose():
        raise RuntimeError("failure-marker")

    return app

configure_logging()
server.create_app = app_with_failing_route
server.serve(sys.argv[1], "127.0.0.1", int(sys.argv[2]), scheduler=False)
"""


@pytest.mark.parametrize(("value", "expected"), [
    ("plain-key", '"plain-key"'),
    ("\u202eabc", '"\\u202eabc"'),
    ("a\u0000b", '"a\\u0000b"'),
    ("back\\slash", '"back\\\\slash"'),
    ("\U000e0001x", '"\\U000e0001x"'),
    ("任务", '"任务"'),
])
def test_quote_identifier_escapes_hidden(value: str, expected: str) -> None:
    assert quote_identifier(value) == expected


def test_run_now_unknown_key_quoted(client: TestClient, accounts: Accounts) -> None:
    response = client.post("/api/v1/task-types/%E2%80%AEkey%00/actions/run",
                           headers={**bearer(accounts.admin_token), "Accept-Language": "en"},
                           json={})

    message = response.json()["message"]
    assert response.status_code == 404
    assert '"\\u202ekey\\u0000"' in message
    assert "\u202e" not in message
    assert "\u0000" not in message


def test_console_missing_run_quoted(client: TestClient) -> None:
    log_in(client, "viewer", VIEWER_PASSWORD)
    client.cookies.set("lang", "en")

    response = client.get("/runs/%E2%80%AEnur%00")

    assert response.status_code == 404
    assert "Run &#34;\\u202enur\\u0000&#34; does not exist." in response.text
    assert "\u202e" not in response.text
    assert "\u0000" not in response.text


def test_run_now_text_plain_names_content_type(client: TestClient, accounts: Accounts) -> None:
    response = client.post(
        "/api/v1/task-types/task_runs_audit/actions/run",
        headers={**bearer(accounts.admin_token), "Accept-Language": "en",
                 "Content-Type": "text/plain"},
        content=json.dumps({"arguments": {}}),
    )

    body = response.json()
    assert response.status_code == 400
    assert body["parameter"] == "Content-Type"
    assert "application/json" in body["message"]
    assert "text/plain" in body["message"]
    assert "JSON object" not in body["message"]


def test_run_now_json_array_still_body_error(client: TestClient, accounts: Accounts) -> None:
    response = client.post(
        "/api/v1/task-types/task_runs_audit/actions/run",
        headers={**bearer(accounts.admin_token), "Accept-Language": "en"},
        json=[1, 2],
    )

    assert response.status_code == 400
    assert response.json()["parameter"] == "body"


def test_server_error_logged_once(sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-c", FAILING_SERVER, sqlite_url, str(port)]

    with running_server(argv, port, tmp_path / "server.log",
                        serve_environment(sqlite_url)) as server:
        response = httpx.get(f"{server.url}/api/v1/fail-on-purpose", timeout=10)
        after = httpx.get(f"{server.url}/healthz", timeout=10)
    output = server.output()

    assert response.status_code == 500
    assert response.json()["message_code"] == "INTERNAL_ERROR"
    assert after.status_code == 200
    assert "Exception in ASGI application" not in output
    error_lines = [line for line in output.splitlines() if "api_error_unexpected" in line]
    assert len(error_lines) == 1
    record = json.loads(error_lines[0])
    assert record["error"] == "failure-marker"
    assert record["path"] == "/api/v1/fail-on-purpose"
    assert record["error_id"]
    assert response.json()["error_id"] == record["error_id"]
    assert record["error_id"] in response.json()["message"]
    # The last line of a traceback; uvicorn's own copy would add a second one.
    assert output.count("RuntimeError: failure-marker") == 1
