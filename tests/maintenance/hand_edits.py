"""Edit a SQLite database file with Python's sqlite3 module, as an operator would by hand.

Such edits bypass SQLAlchemy and the write service, so they can store what the app never
writes: timestamps in other spellings, text that is no time, and, with
``PRAGMA ignore_check_constraints``, values that break the tables' CHECK constraints.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import make_url


def edit_sqlite(url: str, statement: str, parameters: dict[str, Any] | None = None, *,
                ignore_checks: bool = False) -> None:
    """Run one statement on the SQLite file of ``url`` and commit it."""
    connection = sqlite3.connect(str(make_url(url).database))
    try:
        if ignore_checks:
            connection.execute("PRAGMA ignore_check_constraints = 1")
        cursor = connection.execute(statement, parameters or {})
        assert cursor.rowcount > 0, f"the edit changed no row: {statement}"
        connection.commit()
    finally:
        connection.close()
