"""Which of a category and a trigger source SQLite reads first, decided by counting.

Either index can serve a filter on both a category and a trigger source, and neither index
contains the other column. SQLite has no statistics (this product never runs ``ANALYZE``), so
it takes the same index whatever the values, and reads every run of that value to find the few
of the other. In a one-off test at 300,000 runs (not a recorded benchmark), a rare category
with the scheduled runs took 0.58 s for the count of the first page, and 0.5 ms through the
category's index. A common category with a rare trigger source is the same case the other way
round. So the page counts each side's runs first
and keeps the side with more runs out of the index choice.

A status rides along with either side, because both have an index on (side, status, …). Only
the list fields and the start range count: a search or the skipped flag would make the count read
every run of a side, which is what this avoids. Each count stops at a cap, first a small one
and then, while both sides reach it, the next of ``LEAD_COUNT_CAPS``. A count of 25,000 index
entries took 1.2 to 4.5 ms in the same test, with other work running. When both sides reach
the last cap they cannot be told apart and SQLite chooses as before.

Only the count of a page and the pages of few matches follow the lead, and each such page
counts again, because the cursor does not carry the lead. With more matches than the count cap,
a page walks the sort's index with the filters hidden (``lifecycle.run_order``).
PostgreSQL has statistics and is left to choose.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Connection

from taskrun_center.lifecycle.run_filter import BoundFilter, FilterShape
from taskrun_center.lifecycle.run_order import count_runs

#: The caps of the side counts, tried in turn while both sides reach the cap.
LEAD_COUNT_CAPS = (5_000, 25_000)

_SIDES = ("task_category", "trigger_source")


def lead_by_counts(connection: Connection, bound: BoundFilter) -> BoundFilter:
    """Return ``bound`` with the side that matches more runs marked as outranked, on SQLite.

    Unchanged on other databases, with a task key (its own indexes serve it), without both
    sides, or when the counts are equal.
    """
    shape = bound.shape
    if connection.dialect.name != "sqlite" or "task_key" in shape.lists:
        return bound
    if not all(side in shape.lists for side in _SIDES):
        return bound

    for cap in LEAD_COUNT_CAPS:
        category, trigger = (_side_count(connection, bound, side, cap) for side in _SIDES)
        if min(category, trigger) < cap:
            break
    if category == trigger:
        return bound
    outranked = "task_category" if category > trigger else "trigger_source"
    return BoundFilter(replace(shape, outranked=(outranked,)), bound.params)


def _side_count(connection: Connection, bound: BoundFilter, side: str, cap: int) -> int:
    other = next(name for name in _SIDES if name != side)
    narrowed = bound.shape.without(other)
    for field in narrowed.lists:
        if field not in (side, "status"):
            narrowed = narrowed.without(field)
    counted = FilterShape(lists=narrowed.lists, many=narrowed.many, sizes=narrowed.sizes,
                          started_from=narrowed.started_from, started_to=narrowed.started_to)
    return count_runs(connection, BoundFilter(counted, bound.params), stop_after=cap)
