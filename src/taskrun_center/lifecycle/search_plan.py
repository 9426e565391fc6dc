"""The run list's text search, resolved against the task names that exist.

The search matches the runs whose run_id or task name contains its text, in any case. Tested
on every run, that read the whole table: 0.6 s for a text that matches nothing and 1.6 s for a
pasted run_id at 1,000,000 runs on SQLite (measured once). Two facts make it cheap:

- A task has one name or a few. The distinct names are listed by stepping through the task
  name index, one seek per name, tested with the same condition as before, and the runs of the
  names that match are read through that index again.
- The write service stores run_ids as UUIDs in canonical form (36 characters, lowercase hex and
  dashes). A text with any other character cannot be in one, and a whole UUID is a lookup in
  the unique index. A part of a UUID is looked for in the run_id index, which is far smaller
  than the table (0.35 s against 1.5 s at 1,000,000 runs, measured once), up to
  ``MAX_SEARCH_RUN_IDS`` matches. Beyond that, the page tests the run_id of each run it reads,
  and finds a page of matches soon.

With more than ``MAX_SEARCH_NAMES`` distinct names (a task that names each run differently),
the search stays unresolved and tests every run as before. So it does on a database without the
task name index (before ``taskrun db upgrade`` to revision 0012): each step of the listing
would read the whole table.

NOTE: a run_id edited by hand into another form (uppercase, not a UUID) is found only by a part
of it made of hex digits and dashes, and not by the whole of it.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Select,
    bindparam,
    func,
    inspect,
    literal,
    select,
)

from taskrun_center.lifecycle.run_filter import (
    LIKE_ESCAPE,
    BoundFilter,
    search_name_param,
    search_pattern_param,
    search_run_id_param,
)
from taskrun_center.storage.models import TASK_NAME_INDEX, TaskRun

#: Distinct task names listed at most; beyond it the search tests every run. Listing 1,800
#: names added 5 to 40 ms to each page at 1,000,000 runs (measured once), 500 a quarter of that.
MAX_SEARCH_NAMES = 500
#: Run_ids that a part of a UUID may match and still be compared as values.
MAX_SEARCH_RUN_IDS = 1_000

# Whether each engine's database has the task name index, and when that was looked up.
_name_index_seen: WeakKeyDictionary[Engine, tuple[bool, float]] = WeakKeyDictionary()
_INDEX_RECHECK_SECONDS = 60.0

# Characters of a canonical UUID, and the whole of one.
_UUID_PART = re.compile(r"[0-9a-f-]{1,36}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def resolve_search(connection: Connection, bound: BoundFilter, text: str | None) -> BoundFilter:
    """Return ``bound`` with its search ``text`` resolved to the task names and run_ids it matches.

    Unchanged without a search, without the task name index, or when there are more distinct
    task names than ``MAX_SEARCH_NAMES``.
    """
    if not bound.shape.search or not text or not _has_name_index(connection):
        return bound
    pattern = bound.params[search_pattern_param()]
    names = _matching_names(connection, pattern)
    if names is None:
        return bound

    run_ids = _matching_run_ids(connection, text.lower(), pattern)
    names = _padded(names)
    run_ids = None if run_ids is None else _padded(run_ids)
    params = {**bound.params}
    params.update({search_name_param(index): name for index, name in enumerate(names)})
    if run_ids is not None:
        params.update({search_run_id_param(index): run_id
                       for index, run_id in enumerate(run_ids)})
    shape = replace(bound.shape, search_names=len(names),
                    search_run_ids=None if run_ids is None else len(run_ids))
    return BoundFilter(shape, params)


def _has_name_index(connection: Connection) -> bool:
    """Return whether the database has the task name index, looked up once per engine.

    A missing index is looked for again after ``_INDEX_RECHECK_SECONDS``, so that an upgrade
    takes effect without a restart.
    """
    engine = connection.engine
    seen = _name_index_seen.get(engine)
    now = time.monotonic()
    if seen is not None and (seen[0] or now - seen[1] < _INDEX_RECHECK_SECONDS):
        return seen[0]
    indexes = inspect(connection).get_indexes(TaskRun.__tablename__)
    found = any(index["name"] == TASK_NAME_INDEX for index in indexes)
    _name_index_seen[engine] = (found, now)
    return found


def _padded(values: list[str]) -> list[str]:
    """Repeat the last of ``values`` until their number is a power of two (empty stays empty).

    The page and count statements are built and cached per number of names and run_ids that
    they compare. One that compares a thousand values takes about a megabyte once compiled
    (measured once on SQLite with tracemalloc). Rounding up leaves 12 sizes of the name list and
    11 of the run_id list instead of thousands, and a value repeated in an IN list matches the
    same runs.
    """
    if not values:
        return values
    size = 1 << (len(values) - 1).bit_length()
    return values + [values[-1]] * (size - len(values))


def _matching_run_ids(connection: Connection, folded: str, pattern: str) -> list[str] | None:
    """Return the run_ids that contain the lowercase text ``folded``, or None for too many."""
    if _UUID.fullmatch(folded):
        return [folded]
    if not _UUID_PART.fullmatch(folded):
        return []
    found = list(connection.scalars(_run_ids_statement(), {"pattern": pattern,
                                                           "cap": MAX_SEARCH_RUN_IDS + 1}))
    return None if len(found) > MAX_SEARCH_RUN_IDS else found


def _matching_names(connection: Connection, pattern: str) -> list[str] | None:
    """Return the distinct task names that contain ``pattern``, or None when there are too many.

    ``pattern`` is the search with LIKE's wildcards escaped, as the filter binds it.
    """
    rows = connection.execute(_names_statement(), {"pattern": pattern,
                                                    "steps": MAX_SEARCH_NAMES}).all()
    if any(step > MAX_SEARCH_NAMES for _, step, _ in rows):
        return None
    return [name for name, _, matches in rows if matches]


@lru_cache(maxsize=1)
def _run_ids_statement() -> Select[Any]:
    """Build the search for run_ids containing a pattern, which only the run_id index serves."""
    runs = TaskRun.__table__
    return (select(runs.c.run_id)
            .where(runs.c.run_id.icontains(bindparam("pattern"), escape=LIKE_ESCAPE))
            .limit(bindparam("cap", type_=Integer())))


@lru_cache(maxsize=1)
def _names_statement() -> Select[Any]:
    """Build the listing of distinct task names: each step seeks the next name in the index.

    It yields each name with its step number and whether it contains the pattern, and stops
    after ``steps`` + 1 names.
    """
    runs = TaskRun.__table__
    first = select(func.min(runs.c.task_name).label("name"),
                   literal(1, type_=Integer()).label("step"))
    names = first.cte("names", recursive=True)
    following = (select(func.min(runs.c.task_name))
                 .where(runs.c.task_name > names.c.name).scalar_subquery())
    names = names.union_all(
        select(following, names.c.step + 1)
        .where(names.c.name.is_not(None), names.c.step <= bindparam("steps", type_=Integer()))
    )
    # The same test as the unresolved search applies to a run's name.
    contains = names.c.name.icontains(bindparam("pattern"), escape=LIKE_ESCAPE)
    return select(names.c.name, names.c.step, contains).where(names.c.name.is_not(None))
