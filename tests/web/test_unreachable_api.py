"""The API and the console return 503 ``STORAGE_UNREACHABLE`` with the cause when the database
cannot be connected to. Their body names neither the password nor the database's address.

The PostgreSQL cases run against the session's real server: a loopback port where nothing
listens, a role whose password is wrong, and a database that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog.testing
from fastapi.testclient import TestClient

from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from tests.support.servers import PostgresServer
from tests.support.unreachable import (
    URL_PASSWORD,
    UnreachableCase,
    cases_by_name,
)
from tests.web.conftest import SECRET_KEY

pytestmark = pytest.mark.postgres
# Any token makes the request look it up in the database, which is where the connect fails.
TOKEN_HEADER = {"Authorization": "Bearer trc_unreachable0123456789"}

# The failure and the next step, as the API words them for each case.
API_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "refused": {
        "zh-CN": ("无法连接数据库：连接被拒绝", "请启动数据库服务"),
        "en": ("Cannot connect to the database: the connection was refused",
               "Start the database server"),
    },
    "wrong-password": {
        "zh-CN": ("身份验证失败", "用户名和密码"),
        "en": ("authentication failed", "Check the user name and password"),
    },
    "missing-database": {
        "zh-CN": ("服务器上没有这个数据库", "taskrun db upgrade"),
        "en": ("the server has no database of that name", "then run taskrun db upgrade"),
    },
}


@pytest.fixture(scope="module")
def cases(postgres_server: PostgresServer) -> dict[str, UnreachableCase]:
    """The unreachable URLs on this session's server, by name."""
    return cases_by_name(postgres_server)


@pytest.fixture(params=list(API_WORDS))
def case(request: pytest.FixtureRequest, cases: dict[str, UnreachableCase]) -> UnreachableCase:
    """One unreachable URL."""
    return cases[str(request.param)]


@pytest.fixture
def client(case: UnreachableCase) -> Iterator[TestClient]:
    """The application on the unreachable database."""
    database = Database(case.url)
    app = create_app(database, secret_key=SECRET_KEY)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    database.dispose()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_api_names_failure_and_next_step(
    client: TestClient, case: UnreachableCase, language: str
) -> None:
    response = client.get("/api/v1/task-runs",
                          headers={**TOKEN_HEADER, "Accept-Language": language})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["success"] is False
    assert body["message_code"] == "STORAGE_UNREACHABLE"
    for words in API_WORDS[case.name][language]:
        assert words in body["message"]


def test_api_names_neither_password_nor_address(
    client: TestClient, case: UnreachableCase
) -> None:
    with structlog.testing.capture_logs() as logs:
        response = client.get("/api/v1/task-runs", headers=TOKEN_HEADER)

    assert URL_PASSWORD not in response.text
    assert case.address not in response.text
    assert "127.0.0.1" not in response.text
    assert URL_PASSWORD not in repr(logs)


def test_log_names_address_for_administrator(client: TestClient, case: UnreachableCase) -> None:
    with structlog.testing.capture_logs() as logs:
        client.get("/api/v1/task-runs", headers=TOKEN_HEADER)

    errors = [line for line in logs if line["event"] == "api_storage_error"]
    assert len(errors) == 1
    assert errors[0]["error_code"] == "STORAGE_UNREACHABLE"
    assert case.address in errors[0]["traceback"]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_console_page_names_failure(
    client: TestClient, case: UnreachableCase, language: str
) -> None:
    response = client.get("/runs", headers={**TOKEN_HEADER, "Accept-Language": language})

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    for words in API_WORDS[case.name][language]:
        assert words in response.text
    assert URL_PASSWORD not in response.text
