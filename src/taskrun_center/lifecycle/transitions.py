"""The status transition tables of runs and items; a terminal status has no way out.

The write service turns each table into the ``WHERE status IN (...)`` of a single UPDATE, so
the database, not Python, decides whether a change still applies when processes race. The
UPDATE that finds the row in a source status wins, and every later one matches no row.
"""

from __future__ import annotations

from taskrun_center.errors import InvalidTransitionError
from taskrun_center.states import ItemStatus, RunStatus

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # A queued run starts, or ends before a worker picks it up (cancel, reaper, early failure).
    RunStatus.PENDING: frozenset(
        {
            RunStatus.RUNNING,
            RunStatus.COMPLETED,
            RunStatus.COMPLETED_WITH_ERRORS,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
        }
    ),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.COMPLETED,
            RunStatus.COMPLETED_WITH_ERRORS,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
        }
    ),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.COMPLETED_WITH_ERRORS: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

ITEM_TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    # An item may end without being started: a task often reports only the outcome.
    ItemStatus.PENDING: frozenset(
        {ItemStatus.RUNNING, ItemStatus.COMPLETED, ItemStatus.FAILED, ItemStatus.CANCELLED}
    ),
    # Starting a running item again is allowed and keeps its first start time.
    ItemStatus.RUNNING: frozenset(
        {ItemStatus.RUNNING, ItemStatus.COMPLETED, ItemStatus.FAILED, ItemStatus.CANCELLED}
    ),
    ItemStatus.COMPLETED: frozenset(),
    ItemStatus.FAILED: frozenset(),
    ItemStatus.CANCELLED: frozenset(),
}


def run_sources(target: RunStatus) -> tuple[str, ...]:
    """Return the run statuses from which ``target`` can be reached, for a ``WHERE status IN``."""
    return tuple(
        sorted(source.value for source, targets in RUN_TRANSITIONS.items() if target in targets)
    )


def item_sources(target: ItemStatus) -> tuple[str, ...]:
    """Return the item statuses from which ``target`` can be reached, for a ``WHERE status IN``."""
    return tuple(
        sorted(source.value for source, targets in ITEM_TRANSITIONS.items() if target in targets)
    )


def can_change_run(current: RunStatus | str, requested: RunStatus | str) -> bool:
    """Return True when a run may move from ``current`` to ``requested``."""
    return RunStatus(requested) in RUN_TRANSITIONS[RunStatus(current)]


def check_run_transition(run_id: str, current: RunStatus | str, requested: RunStatus | str) -> None:
    """Raise unless a run may move from ``current`` to ``requested``.

    Raises:
        InvalidTransitionError: names the run, its current and the requested status.
    """
    if not can_change_run(current, requested):
        raise InvalidTransitionError(f"run {run_id}", str(current), str(requested))
