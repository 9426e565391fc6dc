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
    """A request never holds two pooled connections, and gives the login check's one back.

    The route runs in another worker thread than the login check, so a connection kept across
    that hop would wait for a free thread with the request.
    """
    make_run(web_db, status=RunStatus.COMPLETED)
    held: list[int] = [0]
    most: list[int] = [0]
    checkouts: list[int] = []

    def checkout(*_args: Any) -> None:
        held[0] += 1
        most[0] = max(most[0], held[0])
        checkouts.append(1)

    def checkin(*_args: Any) -> None:
        held[0] -= 1

    event.listen(web_db.engine, "checkout", checkout)
    event.listen(web_db.engine, "checkin", checkin)
    try:
        response = client.get(path, headers=bearer(accounts.viewer_token))
    finally:
        event.remove(web_db.engine, "checkout", checkout)
        event.remove(web_db.engine, "checkin", checkin)

    assert response.status_code == 200, response.text[:300]
    assert most[0] == 1
    assert len(checkouts) == 2
    assert held[0] == 0
