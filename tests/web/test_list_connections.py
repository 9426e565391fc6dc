"""The run lists read on the request's one pooled connection.

With a second connection per request, parallel requests that each keep the connection of their
principal's lookup can wait on a full pool until it times out with a 503.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from taskrun_center.states import RunStatus
from taskrun_center.storage.engine import Database
from tests.factories import make_run
from tests.web.conftest import Accounts, bearer


@pytest.mark.parametrize("path", ["/api/v1/task-runs", "/runs"])
def test_run_list_checks_out_one_connection(
    client: TestClient, web_db: Database, accounts: Accounts, path: str
) -> None:
    make_run(web_db, status=RunStatus.COMPLETED)
    checkouts: list[int] = []

    def count_checkout(*_args: Any) -> None:
        checkouts.append(1)

    event.listen(web_db.engine, "checkout", count_checkout)
    try:
        response = client.get(path, headers=bearer(accounts.viewer_token))
    finally:
        event.remove(web_db.engine, "checkout", count_checkout)

    assert response.status_code == 200, response.text[:300]
    assert len(checkouts) == 1
