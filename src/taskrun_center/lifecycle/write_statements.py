"""Prebuilt statements of the write service's item operations, its hot path.

Building a SQLAlchemy statement and its cache key takes longer than SQLite takes to run it, and a
run may have tens of thousands of items, so each statement shape is built once and then executed
with bound parameters. Every statement here is a Core statement on the tables. The single-row
operations go one step further through ``storage.driver.compiled_for``, which compiles a
statement once per dialect.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Table,
    Update,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    true,
    update,
)

from taskrun_center.lifecycle.transitions import item_sources
from taskrun_center.states import RUN_IN_PROGRESS, ItemStatus, RunStatus
from taskrun_center.storage.models import TaskRun, TaskRunItem
from taskrun_center.storage.types import UTCDateTime

runs: Table = TaskRun.__table__  # type: ignore[assignment]
items: Table = TaskRunItem.__table__  # type: ignore[assignment]

RUN_IN_PROGRESS_VALUES = tuple(sorted(status.value for status in RUN_IN_PROGRESS))


@lru_cache(maxsize=32)
def change_item(target: ItemStatus, data_columns: tuple[str, ...]) -> Update:
    """Build the UPDATE that moves one item to ``target`` and sets ``data_columns``.

    Parameters: ``match_run_id``, ``match_item_type``, ``match_item_key``, ``now`` and
    ``new_<column>`` per data column (SQLAlchemy reserves the column names themselves). It
    matches no row when the item is not in a source status of ``target`` or its run has ended.
    """
    now = bindparam("now", type_=UTCDateTime())
    values: dict[str, object] = {"status": target.value, "updated_at": now}
    if target is not ItemStatus.CANCELLED:
        # An item reported only when it ends has started by then; the first start is kept.
        values["started_at"] = func.coalesce(items.c.started_at, now)
    if target is not ItemStatus.RUNNING:
        values["completed_at"] = now
    for column in data_columns:
        values[column] = bindparam(f"new_{column}", type_=items.c[column].type)

    run_id = bindparam("match_run_id", type_=items.c.run_id.type)
    run_in_progress = exists().where(
        runs.c.run_id == run_id, _one_of(runs.c.status, RUN_IN_PROGRESS_VALUES)
    )
    return (
        update(items)
        .where(
            items.c.run_id == run_id,
            items.c.item_type == bindparam("match_item_type"),
            items.c.item_key == bindparam("match_item_key"),
            _one_of(items.c.status, item_sources(target)),
            run_in_progress,
        )
        .values(values)
    )


def _one_of(column: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    # The status values are constants of this package, written into the SQL text: a bound
    # IN list would be expanded again on every execution.
    return column.in_([literal_column(f"'{value}'") for value in values])


@lru_cache(maxsize=8)
def add_to_counter(column: str) -> Update:
    """Build ``UPDATE task_runs SET <column> = <column> + :amount`` for one run.

    Parameters: ``match_run_id``, ``amount``, ``now``. The addition happens in the database, so
    concurrent writers never lose each other's counts.
    """
    counter = runs.c[column]
    return (
        update(runs)
        .where(runs.c.run_id == bindparam("match_run_id"))
        .values({counter: counter + bindparam("amount"), "updated_at": bindparam("now")})
    )


@lru_cache(maxsize=8)
def add_to_counters(columns: tuple[str, ...]) -> Update:
    """Build one UPDATE that adds to several counters of one run, as ``add_to_counter`` does.

    Parameters: ``match_run_id``, ``now`` and ``add_<column>`` per counter.
    """
    values: dict[Any, Any] = {"updated_at": bindparam("now")}
    for column in columns:
        counter = runs.c[column]
        values[counter] = counter + bindparam(f"add_{column}")
    return update(runs).where(runs.c.run_id == bindparam("match_run_id")).values(values)


@lru_cache(maxsize=1)
def insert_items() -> Insert:
    """Build the INSERT of one pending item; parameters by column name, as ``item_rows`` gives.

    Every bind carries the column's name, so the rows of ``item_rows`` bind as they are.
    """
    columns = ("run_id", "item_type", "item_key", "item_name", "status", "created_at",
               "updated_at")
    return insert(items).values(
        {name: bindparam(name, type_=items.c[name].type) for name in columns}
    )


@lru_cache(maxsize=8)
def insert_completed_items(data_columns: tuple[str, ...]) -> Insert:
    """Build the INSERT of one item that is already completed, with ``data_columns`` set.

    Parameters by column name, as for ``insert_items``, plus ``started_at``, ``completed_at``
    and each of ``data_columns``.
    """
    columns = ("run_id", "item_type", "item_key", "item_name", "status", "started_at",
               "completed_at", "created_at", "updated_at", *data_columns)
    return insert(items).values(
        {name: bindparam(name, type_=items.c[name].type) for name in columns}
    )


@lru_cache(maxsize=16)
def finish_run(
    fixed_status: bool, value_columns: tuple[str, ...], sources: tuple[str, ...]
) -> Update:
    """Build the UPDATE that ends one run and recounts its items in the same statement.

    Parameters: ``match_run_id``, ``match_task_key``, ``new_<column>`` per value column, and
    ``new_status`` when ``fixed_status``. Without a fixed status the run ends failed when any
    item failed, else completed. The UPDATE matches no row when the run is not in one of
    ``sources`` or belongs to another task key. It returns the status and the three counters.
    """
    run_id = bindparam("match_run_id", type_=runs.c.run_id.type)

    def count_of(status: ItemStatus | None) -> Any:
        query = select(func.count()).select_from(items).where(items.c.run_id == run_id)
        if status is not None:
            query = query.where(items.c.status == literal_column(f"'{status.value}'"))
        return query.scalar_subquery()

    failed = count_of(ItemStatus.FAILED)
    status: Any = bindparam("new_status", type_=runs.c.status.type)
    if not fixed_status:
        status = case(
            (failed > 0, literal_column(f"'{RunStatus.FAILED.value}'")),
            else_=literal_column(f"'{RunStatus.COMPLETED.value}'"),
        )
    values: dict[str, Any] = {
        "status": status,
        "progress_total": count_of(None),
        "progress_completed": count_of(ItemStatus.COMPLETED),
        "progress_failed": failed,
    }
    for column in value_columns:
        values[column] = bindparam(f"new_{column}", type_=runs.c[column].type)
    return (
        update(runs)
        .where(
            runs.c.run_id == run_id,
            runs.c.task_key == bindparam("match_task_key"),
            _one_of(runs.c.status, sources),
        )
        .values(values)
        .returning(
            runs.c.status, runs.c.progress_total, runs.c.progress_completed,
            runs.c.progress_failed,
        )
    )


@lru_cache(maxsize=1)
def run_state() -> Select[Any]:
    """Build the SELECT of the run fields that status changes check; parameter ``match_run_id``."""
    return select(
        runs.c.task_key, runs.c.status, runs.c.started_at, runs.c.progress_total
    ).where(runs.c.run_id == bindparam("match_run_id"))


@lru_cache(maxsize=1)
def count_items() -> Select[Any]:
    """Build the SELECT of a run's item count, completed and failed; parameter ``match_run_id``.

    Each sum is 0, not NULL, for a run without items.
    """
    def count_of(status: ItemStatus) -> ColumnElement[Any]:
        matched = case((items.c.status == literal_column(f"'{status.value}'"), 1), else_=0)
        return func.coalesce(func.sum(matched), 0)

    return select(
        func.count(), count_of(ItemStatus.COMPLETED), count_of(ItemStatus.FAILED)
    ).where(items.c.run_id == bindparam("match_run_id"))


@lru_cache(maxsize=1)
def run_state_with_counts() -> Select[Any]:
    """Build ``run_state()`` with the columns of ``count_items()`` after it, in one round trip."""
    counts = count_items().subquery()
    # The aggregate subquery always has exactly one row, so joining it on TRUE keeps one row.
    return (
        select(*run_state().selected_columns, *counts.c)
        .select_from(runs.join(counts, true()))
        .where(runs.c.run_id == bindparam("match_run_id"))
    )
