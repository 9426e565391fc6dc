"""Status and trigger-source vocabulary shared by every layer.

Values are lowercase strings because they are stored in the database, sent by the API and typed
on the command line. Transitions between them are enforced by ``lifecycle.transitions``.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Status of a run (one ``task_runs`` row)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in RUN_TERMINAL

    @property
    def label_zh(self) -> str:
        return _RUN_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _RUN_LABELS[self][1]


class ItemStatus(StrEnum):
    """Status of an item (one ``task_run_items`` row)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in ITEM_TERMINAL

    @property
    def label_zh(self) -> str:
        return _ITEM_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _ITEM_LABELS[self][1]


class TriggerSource(StrEnum):
    """Who or what started a run."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"
    API = "api"
    CLI = "cli"
    CELERY = "celery"

    @property
    def label_zh(self) -> str:
        return _TRIGGER_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _TRIGGER_LABELS[self][1]


# A terminal status is final: no operation moves a run or item out of it.
RUN_TERMINAL = frozenset(
    {RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_ERRORS, RunStatus.FAILED, RunStatus.CANCELLED}
)
# Runs that a worker may still be working on; the reaper and the "running" gauge look at these.
RUN_IN_PROGRESS = frozenset({RunStatus.PENDING, RunStatus.RUNNING})
# Only a run that has not finished can be cancelled; a finished run keeps its outcome.
RUN_CANCELABLE = RUN_IN_PROGRESS

ITEM_TERMINAL = frozenset(
    {ItemStatus.COMPLETED, ItemStatus.FAILED, ItemStatus.CANCELLED}
)
ITEM_IN_PROGRESS = frozenset({ItemStatus.PENDING, ItemStatus.RUNNING})

_RUN_LABELS = {
    RunStatus.PENDING: ("等待中", "Pending"),
    RunStatus.RUNNING: ("运行中", "Running"),
    RunStatus.COMPLETED: ("已完成", "Completed"),
    RunStatus.COMPLETED_WITH_ERRORS: ("部分失败", "Completed with errors"),
    RunStatus.FAILED: ("失败", "Failed"),
    RunStatus.CANCELLED: ("已取消", "Cancelled"),
}
_ITEM_LABELS = {
    ItemStatus.PENDING: ("等待中", "Pending"),
    ItemStatus.RUNNING: ("运行中", "Running"),
    ItemStatus.COMPLETED: ("已完成", "Completed"),
    ItemStatus.FAILED: ("失败", "Failed"),
    ItemStatus.CANCELLED: ("已取消", "Cancelled"),
}
_TRIGGER_LABELS = {
    TriggerSource.SCHEDULED: ("定时", "Scheduled"),
    TriggerSource.MANUAL: ("手动", "Manual"),
    TriggerSource.API: ("API", "API"),
    TriggerSource.CLI: ("命令行", "CLI"),
    TriggerSource.CELERY: ("Celery", "Celery"),
}
