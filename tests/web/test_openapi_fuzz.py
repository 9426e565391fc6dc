"""An OpenAPI-driven fuzz run (schemathesis) against every API operation: no 5xx, ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from taskrun_center.storage.engine import Database
from taskrun_center.storage.migrate import upgrade
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import Role, create_token, create_user
from tests.factories import make_run
from tests.web.conftest import SECRET_KEY
from tests.web.summaries import rich_summary

# Bounded so the whole run takes well under a minute on two cores.
EXAMPLES_PER_OPERATION = 30
ADMIN_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    """The app's own OpenAPI schema, served in-process over ASGI with a few stored runs."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'taskrun.db'}"
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        create_user(session, "admin", "admin-password-1", Role.ADMIN)
        ADMIN_TOKEN["Authorization"] = "Bearer " + create_token(session, "admin", "fuzz").secret
    make_run(database, status="completed", summary_json=rich_summary(),
             items={"completed": 2, "failed": 1})
    make_run(database, status="running")
    app = create_app(database, secret_key=SECRET_KEY)
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    database.dispose()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_5xx(case: schemathesis.Case) -> None:
    response = case.call(headers=ADMIN_TOKEN)

    assert response.status_code < 500, response.text
    content_type = " ".join(response.headers.get("content-type", []))
    if response.status_code >= 400 and "application/json" in content_type:
        body = response.json()
        assert body["success"] is False
        assert body["message_code"]
