"""Wrap any command as a recorded run (``taskrun exec``)."""

from taskrun_center.runners.command.output import parse_metric_line
from taskrun_center.runners.command.process import CommandResult, run_command
from taskrun_center.runners.command.runner import ExecInterrupted, ExecOutcome, exec_recorded

__all__ = [
    "CommandResult",
    "ExecInterrupted",
    "ExecOutcome",
    "exec_recorded",
    "parse_metric_line",
    "run_command",
]
