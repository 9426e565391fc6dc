"""Errors raised by the runners: task declaration, arguments, cancellation and scheduling."""

from __future__ import annotations

from taskrun_center.errors import ConfigurationError, TaskRunError
from taskrun_center.i18n import Text


class TaskAlreadyRegisteredError(ConfigurationError):
    """Raised when a second, different function is declared under a task key already in use."""

    code = "TASK_ALREADY_REGISTERED"

    def __init__(self, task_key: str, existing: str, new: str) -> None:
        super().__init__(
            f"task key {task_key!r} is already declared by {existing}; {new} cannot reuse it, "
            "so choose another key"
        )
        self.task_key = task_key
        self.existing = existing
        self.new = new


class TaskArgumentsError(ConfigurationError):
    """Raised when the arguments given for a run do not fit the task function's signature."""

    code = "TASK_ARGUMENTS_INVALID"

    def __init__(
        self,
        task_key: str,
        reason: str,
        *,
        argument: str | None = None,
        reason_text: Text | None = None,
    ) -> None:
        super().__init__(f"invalid arguments for task {task_key!r}: {reason}")
        self.task_key = task_key
        self.reason = reason
        #: The argument at fault, when one argument is.
        self.argument = argument
        #: The whole message in both languages, when the runners word it themselves.
        self.reason_text = reason_text


class RunCancelledError(TaskRunError):
    """Raised inside a task when its run was cancelled; the runner stops the task cleanly.

    Task code should let it propagate: the run already has the status ``cancelled``.
    """

    code = "RUN_CANCELLED"

    def __init__(self, run_id: str, task_key: str) -> None:
        super().__init__(f"run {run_id!r} of task {task_key!r} was cancelled")
        self.run_id = run_id
        self.task_key = task_key


class SchedulerConfigError(ConfigurationError):
    """Raised when a scheduler job file is unreadable or one of its entries is invalid."""

    code = "SCHEDULER_CONFIG_INVALID"

    def __init__(self, source: str, entry: str | None, reason: str) -> None:
        where = f"{source}, job {entry!r}" if entry else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.entry = entry
        self.reason = reason
