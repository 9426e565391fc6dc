"""Running tasks: the Python API for task authors, run-now dispatch, built-in tasks.

Declare a task with ``@task``; run it with ``run_task`` (now, in this thread), ``enqueue_run``
(pending first, then a dispatcher) or the scheduler. Inside, the task records its items through
the ``RunContext`` it receives. ``record_run`` records any block of code as a run without
declaring a task. Every status change goes through the write service.
"""

from taskrun_center.runners.context import ItemCounts, ItemRecorder, RunContext
from taskrun_center.runners.definition import TaskDefinition, all_tasks, get_task, task
from taskrun_center.runners.errors import (
    RunCancelledError,
    SchedulerConfigError,
    TaskAlreadyRegisteredError,
    TaskArgumentsError,
)
from taskrun_center.runners.execute import run_task
from taskrun_center.runners.recording import record_run
from taskrun_center.runners.result import RunOutcome, TaskResult

__all__ = [
    "ItemCounts",
    "ItemRecorder",
    "RunCancelledError",
    "RunContext",
    "RunOutcome",
    "SchedulerConfigError",
    "TaskAlreadyRegisteredError",
    "TaskArgumentsError",
    "TaskDefinition",
    "TaskResult",
    "all_tasks",
    "get_task",
    "record_run",
    "run_task",
    "task",
]
