"""SQL elements that steer the query planners of SQLite and PostgreSQL.

SQLite has no statistics unless ``ANALYZE`` ran, which this product never runs, so it picks an
index by the shape of the query alone. The run list has facts that the planner lacks: how many
runs match (its capped count) and which filter is the narrow one. These elements carry them
into the SQL. Each keeps the value and the result unchanged; only the choice of index differs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator


class NotIndexed(GenericFunction[Any]):
    """A column that the SQLite planner must not pick an index for; plain SQL elsewhere."""

    name = "not_indexed"
    inherit_cache = True


class Unindexable(GenericFunction[Any]):
    """A column's value in a form that no index can serve, on SQLite and PostgreSQL alike.

    As the first key of an ORDER BY it makes the planner find the matches first and sort them.
    Only the first key needs it, because PostgreSQL could otherwise walk an index that yields
    the first key and sort the rest per group. In a keyset bound it keeps the bound out of the
    choice of index.
    """

    name = "unindexable"
    inherit_cache = True


def _operand(element: GenericFunction[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


def _unary_plus(element: GenericFunction[Any], compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's unary plus returns its operand unchanged and disqualifies it from index use.
    return "+" + _operand(element, compiler, **kw)


def _unindexable_expression(element: GenericFunction[Any], compiler: SQLCompiler, **kw: Any) -> str:
    # An expression of the same value and order that matches no PostgreSQL index.
    operand = _operand(element, compiler, **kw)
    column_type = element.type.impl if isinstance(element.type, TypeDecorator) else element.type
    if isinstance(column_type, DateTime):
        return f"({operand} + interval '0 seconds')"
    if isinstance(column_type, Integer):
        return f"({operand} + 0)"
    return f"({operand} || '')"


# Elsewhere both are the plain operand.
compiles(NotIndexed)(_operand)
compiles(Unindexable)(_operand)
compiles(NotIndexed, "sqlite")(_unary_plus)
compiles(Unindexable, "sqlite")(_unary_plus)
compiles(Unindexable, "postgresql")(_unindexable_expression)
