"""The caller's unit of work inside a service: an ORM session or a Core connection.

Services work inside the caller's transaction and never commit it. Work that needs ORM objects
(a run with its items) goes through a ``Session``. The hottest paths (an item operation, a page
of the run list) need none. On SQLite a session's begin, connection lookup and close cost about
as much as the statement itself, so callers may pass a Core connection from
``Database.write_connection()`` or ``Database.read_connection()`` instead. A service given a
connection opens a session on it only when a method first needs one.
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.orm import Session, SessionTransaction


class CallerWork:
    """A session or a connection, with the other one derived from it on first use."""

    __slots__ = ("_bound", "_core", "_session")

    def __init__(self, work: Session | Connection) -> None:
        self._session = work if isinstance(work, Session) else None
        self._core = work if isinstance(work, Connection) else None
        # The session's connection, remembered with the transaction it belongs to.
        self._bound: tuple[SessionTransaction, Connection] | None = None

    @property
    def session(self) -> Session:
        """The caller's session, or one that joins the transaction of the caller's connection.

        A joined session never commits that transaction, so the caller still owns the unit of
        work.
        """
        if self._session is None:
            self._session = Session(bind=self._core, expire_on_commit=False)
        return self._session

    def connection(self) -> Connection:
        """Return the caller's connection, or the connection of the session's transaction."""
        if self._core is not None:
            return self._core
        # Looking the connection up through the session costs about as much as a short
        # statement, and it stays the same until the session's transaction ends.
        transaction = self.session.get_transaction()
        if self._bound is not None and transaction is self._bound[0]:
            return self._bound[1]
        connection = self.session.connection()
        current = self.session.get_transaction()
        if current is not None:
            self._bound = (current, connection)
        return connection
