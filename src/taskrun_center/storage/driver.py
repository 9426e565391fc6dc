"""Statements compiled once per dialect and run with the column types' own processing.

Executing a Core statement makes SQLAlchemy look it up in its compiled cache, build an execution
context and wrap a result around the cursor. For the hottest statements (one item's update, one
page of the run list) that took longer than SQLite took to run them (measured), so these
statements are compiled once and then sent as SQL text. Bound values still go through each
column type's bind processor, and rows read on SQLite through each column's result processor, so
values are converted exactly as SQLAlchemy would convert them.

On SQLite the text goes to the driver connection itself, inside the transaction that
``Database`` began on it. Other dialects keep SQLAlchemy's execution: ``exec_driver_sql`` for
writes, the statement itself for reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Select, Update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.selectable import CompoundSelect

from taskrun_center.storage.errors import mark_invalid_file

#: A processor of one value: a bind processor before execution, a result processor after.
Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for one dialect, with what its parameters and results need."""

    statement: Update | Insert | Select[Any] | CompoundSelect
    sql: str
    # Parameter names in the order of the placeholders; None for a named paramstyle.
    positions: tuple[str, ...] | None
    processors: tuple[tuple[str, Processor], ...]
    constants: dict[str, Any]
    # The result columns that need a conversion, by position.
    results: tuple[tuple[int, Processor], ...] = ()
    # True on SQLite, for statements without expanding IN lists: the driver runs the SQL.
    direct: bool = False

    def execute(self, connection: Connection, parameters: dict[str, Any]) -> int:
        """Execute with ``parameters`` (by bind name) on ``connection``; return the row count."""
        bound = self._bound(parameters)
        if self.direct:
            with _driver_errors(connection, self.sql):
                return int(_driver(connection).execute(self.sql, bound).rowcount)
        return int(connection.exec_driver_sql(self.sql, bound).rowcount)

    def execute_many(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Execute once per row of ``rows`` (by bind name) in one executemany call.

        Rows usually share some values (one timestamp for a whole batch), so a value object is
        processed once per call and its processed form reused.
        """
        processed: dict[tuple[str, int], Any] = {}
        connection.exec_driver_sql(self.sql, [self._bound(row, processed) for row in rows])

    def fetch_all(self, connection: Connection, parameters: dict[str, Any], *,
                  convert: int | None = None) -> list[Any]:
        """Run the query with ``parameters`` (by bind name); return its rows, values converted.

        With ``convert``, the rows after the first ``convert`` may come back unconverted, for a
        caller that only counts them. Off SQLite, or with an expanding IN list, the statement
        goes through SQLAlchemy, which converts every row.
        """
        if not self.direct:
            return list(connection.execute(self.statement, parameters).all())

        # SQLite reads the rows after the first while they are fetched, so a damaged page or an
        # undecodable text can fail there too.
        with _driver_errors(connection, self.sql):
            rows = _driver(connection).execute(self.sql, self._bound(parameters)).fetchall()
        if not self.results:
            return rows
        converted = []
        for row in rows[:convert]:
            values = list(row)
            for index, process in self.results:
                values[index] = process(values[index])
            converted.append(values)
        return converted + rows[len(converted):]

    def _bound(self, parameters: dict[str, Any],
               processed: dict[tuple[str, int], Any] | None = None) -> Any:
        """Return the driver's parameters: processed, in placeholder order where positional.

        ``processed``, when given, keeps the processed form of each value object across calls.
        """
        values = {**self.constants, **parameters}
        for name, process in self.processors:
            value = values[name]
            if processed is None:
                values[name] = process(value)
                continue
            key = (name, id(value))
            if key not in processed:
                processed[key] = process(value)
            values[name] = processed[key]
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)


def _driver(connection: Connection) -> Any:
    """Return the SQLite driver connection of ``connection``, set while it is checked out."""
    return connection.connection.driver_connection


@contextmanager
def _driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """Wrap the driver's errors as SQLAlchemy wraps them, so ``translate_errors`` reads them.

    The parameters stay out of the message: they carry item data and token hashes. A file that
    is no database or is damaged is marked as SQLAlchemy's ``handle_error`` event would mark it.
    """
    try:
        yield
    except sqlite3.Error as error:
        wrapped = DBAPIError.instance(sql, None, error, sqlite3.Error, hide_parameters=True)
        mark_invalid_file(wrapped, error, connection.engine.url)
        raise wrapped from error


@lru_cache(maxsize=1024)
def compiled_for(statement: Update | Insert | Select[Any] | CompoundSelect,
                 dialect: Dialect) -> DriverStatement:
    """Compile ``statement`` for ``dialect`` once; the result executes without the cache lookup.

    Callers pass statements that they build once and keep, so the statement object is the key.
    Only the parameters with plain names are supported: an expanding IN list is rendered anew
    for each list length, so a query with one goes through SQLAlchemy (``fetch_all``).
    """
    # Compiled as for executemany, an INSERT gets no implicit RETURNING of the new id.
    compiled = statement.compile(dialect=dialect, for_executemany=True)
    processors = []
    constants = {}
    expanding = False
    for name, bind in compiled.binds.items():
        expanding = expanding or bind.expanding
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
        if not bind.required:
            constants[name] = bind.effective_value
    results: list[tuple[int, Processor]] = []
    if isinstance(statement, Select | CompoundSelect):
        for index, column in enumerate(statement.selected_columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
    positions = tuple(compiled.positiontup) if compiled.positiontup is not None else None
    return DriverStatement(statement, str(compiled), positions, tuple(processors), constants,
                           tuple(results), direct=dialect.name == "sqlite" and not expanding)
