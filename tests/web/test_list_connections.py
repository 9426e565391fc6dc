"""The run lists hold one pooled connection at a time.

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
def test_run_list_holds_one_connection(
    client: TestClient, web_db: Database, accounts: Accounts, path: str
) -> None:
    """A request keeps one pooled connection at a time and returns the login check's one.

    The route runs in another worker thread than the login check, so a connection kept across
    that hop would wait for a free thread with the request.
    """
    make_run(web_db, status=RunStatus.COMPLETED)
    checked_out: list[int] = [0]
    peak: list[int] = [0]
    checkouts: list[int] = []

    def checkout(*_args: Any) -> None:
        checked_out[0] += 1
        peak[0] = max(peak[0], checked_out[0])
        checkouts.append(1)

    def checkin(*_args: Any) -> None:
        checked_out[0] -= 1

    event.listen(web_db.engine, "checkout", checkout)
    event.listen(web_db.engine, "checkin", checkin)
    try:
        response = client.get(path, headers=bearer(accounts.viewer_token))
    finally:
        event.remove(web_db.engine, "checkout", checkout)
        event.remove(web_db.engine, "checkin", checkin)

    assert response.status_code == 200, response.text[:300]
    assert peak[0] == 1
    assert len(checkouts) == 2
    assert checked_out[0] == 0
