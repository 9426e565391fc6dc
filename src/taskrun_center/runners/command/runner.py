"""``taskrun exec``: run any command as one recorded run with one item.

The item ``command/<program>`` stores the exit status, duration, terminating signal, the
masked command line and the last lines of stdout and stderr (masked and capped). The summary
contains the exit status, the duration and the metrics the command printed as
``::taskrun metric`` lines; ``ext.data`` is ``{"runner": "exec", "command", "exit_code",
"signal"}``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from taskrun_center.config import get_settings
from taskrun_center.contract import mask_text
from taskrun_center.contract.text_scan import scan_text
from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.runners.command.metrics import MetricSelection, select_metrics
from taskrun_center.runners.command.output import DEFAULT_TAIL_LINES, storable_text
from taskrun_center.runners.command.process import CommandResult, run_command
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.interrupts import interrupts_held
from taskrun_center.runners.recording import RunRecorder, record_interrupt
from taskrun_center.runners.result import TaskResult
from taskrun_center.states import RunStatus, TriggerSource
from taskrun_center.storage.engine import Database

logger = structlog.get_logger(__name__)

DEFAULT_CATEGORY = "command"
MAX_COMMAND_CHARS = 1000
# Ignored metric lines listed in the item's details; the total is stored beside them.
MAX_IGNORED_LISTED = 20
# exit_code and duration_ms come before the printed metrics in the summary.
BUILTIN_METRIC_COUNT = 2
EXIT_CODE_LABEL = Text("退出码", "Exit status")
DURATION_LABEL = Text("耗时", "Duration")
EXITED_WITH = Text("命令以状态 {code} 退出", "The command exited with status {code}")
KILLED_BY = Text("命令被信号 {signal} 终止", "The command was ended by signal {signal}")


class ExecInterrupted(KeyboardInterrupt):
    """Raised when KeyboardInterrupt stops ``taskrun exec`` while no command runs.

    That is before the command's signal forwarding starts or after the command ended.
    ``status`` is how the run ended, usually ``cancelled``, or None when the cancellation could
    not be stored: the run then shows as running until the reaper fails it.
    """

    def __init__(self, run_id: str, status: RunStatus | None) -> None:
        super().__init__(run_id)
        self.run_id = run_id
        self.status = status


@dataclass(frozen=True)
class ExecOutcome:
    """The run of a wrapped command and the exit status ``taskrun exec`` returns.

    ``status`` is None when the command ran but its run could not be ended (database down);
    the reaper ends such a run later.
    """

    run_id: str
    status: RunStatus | None
    exit_code: int


def exec_recorded(
    argv: Sequence[str],
    *,
    task_key: str,
    database: Database | None = None,
    name: str | None = None,
    category: str | None = None,
    tail_lines: int = DEFAULT_TAIL_LINES,
    passthrough: bool = True,
    created_by: str | None = None,
) -> ExecOutcome:
    """Run ``argv`` as a recorded run of ``task_key`` and return its run and exit status.

    A signal forwarded to the command, or a cancellation of the run, ends the run as
    cancelled. A command that cannot start fails the run with exit status 127 or 126.

    Raises:
        StorageError: the database failed while opening the run; the command did not start.
        ExecInterrupted: KeyboardInterrupt arrived before the command's signals were forwarded
            or after the command ended; the run was cancelled unless ``status`` says otherwise.
    """
    program = storable_text(os.path.basename(argv[0]) or argv[0])
    recorder: RunRecorder | None = None
    try:
        # A signal while the run opens is raised once the recorder exists (interrupts_held).
        with interrupts_held():
            recorder = RunRecorder.open(
                task_key,
                database=database,
                trigger_source=TriggerSource.CLI,
                task_name=name or task_key,
                task_category=category or DEFAULT_CATEGORY,
                created_by=created_by,
            )
        return _run_and_end(recorder, argv, program, tail_lines, passthrough)
    except KeyboardInterrupt as interrupt:
        if recorder is None:
            # The run could not be opened; there is nothing to cancel.
            raise
        # Ctrl-C before the command's signal forwarding starts, or after the command ended,
        # raises KeyboardInterrupt here. The run is cancelled rather than left to the reaper.
        outcome = record_interrupt(recorder)
        status = outcome.status if outcome is not None else None
        raise ExecInterrupted(recorder.run_id, status) from interrupt


def _run_and_end(
    recorder: RunRecorder, argv: Sequence[str], program: str, tail_lines: int, passthrough: bool
) -> ExecOutcome:
    context = recorder.context
    result, selection = _run_item(context, argv, program, tail_lines, passthrough)

    if result.interrupted:
        # A second signal during this wait ends it, and record_interrupt logs that.
        cancelled = record_interrupt(recorder)
        status = cancelled.status if cancelled is not None else None
        return ExecOutcome(context.run_id, status, result.exit_code)
    try:
        outcome = recorder.finish(_task_result(program, result, selection))
    except TaskRunError as error:
        # The command has run, so its exit status still goes back to the caller.
        context.log.error("exec_run_not_ended", error=str(error), exit_code=result.exit_code)
        return ExecOutcome(context.run_id, None, result.exit_code)
    return ExecOutcome(outcome.run_id, outcome.status, result.exit_code)


def _run_item(
    context: RunContext, argv: Sequence[str], program: str, tail_lines: int, passthrough: bool
) -> tuple[CommandResult, MetricSelection]:
    command_line = _masked_command_line(argv)
    secrets = sorted(known_secrets(argv, os.environ), key=len, reverse=True)
    with context.item("command", program[:255], command_line[:255]) as item:
        result = run_command(
            argv,
            passthrough=passthrough,
            tail_lines=tail_lines,
            should_stop=lambda: context.cancelled,
            known_secrets=secrets,
        )
        selection = select_metrics(result.metrics, builtin_count=BUILTIN_METRIC_COUNT)
        item.metrics.update({"exit_code": result.exit_code, "duration_ms": result.duration_ms})
        item.details.update(_details(command_line, result, selection))
        failure = _failure_message(result)
        if failure is not None:
            item.fail(failure)
    context.log.info(
        "exec_finished",
        exit_code=result.exit_code,
        signal=result.signal_name,
        duration_ms=result.duration_ms,
        metric_lines=len(result.metrics) + len(result.ignored_metric_lines),
        ignored_metric_lines=len(result.ignored_metric_lines) + len(selection.ignored),
    )
    return result, selection


# The shell's working directories: "PWD" reads as a password name, but the value is a path that
# output often contains.
_DIRECTORY_VARIABLES = frozenset({"PWD", "OLDPWD"})
# Shorter values are too likely to stand for other text in the output ("1", "yes").
MIN_KNOWN_SECRET_CHARS = 6


def known_secrets(argv: Sequence[str], environment: Mapping[str, str]) -> set[str]:
    """Return the secret values in the command line and the environment the command gets.

    A value counts when the masker finds it in its argument or in ``NAME=value`` for an
    environment variable (``PGPASSWORD=…``, ``--password=…``, a URL's password).
    """
    texts = [*argv, *(f"{name}={value}" for name, value in environment.items()
                      if name not in _DIRECTORY_VARIABLES)]
    secrets = set()
    for text in texts:
        for finding in scan_text(text):
            value = text[finding.start:finding.end]
            if len(value) >= MIN_KNOWN_SECRET_CHARS:
                secrets.add(value)
    return secrets


def _masked_command_line(argv: Sequence[str]) -> str:
    text = mask_text(storable_text(shlex.join(argv))).value
    if len(text) > MAX_COMMAND_CHARS:
        text = text[: MAX_COMMAND_CHARS - 1] + "…"
    return text


def _details(
    command_line: str, result: CommandResult, selection: MetricSelection
) -> dict[str, Any]:
    ignored = result.ignored_metric_lines + selection.ignored
    return {
        "command": command_line,
        "exit_code": result.exit_code,
        "signal": result.signal_name,
        "forwarded_signal": result.forwarded_signal,
        "duration_ms": result.duration_ms,
        "start_error": _start_error(result),
        "stdout_tail": result.stdout.masked_lines(),
        "stderr_tail": result.stderr.masked_lines(),
        "stdout_lines": result.stdout.line_count,
        "stderr_lines": result.stderr.line_count,
        "ignored_metric_lines": [mask_text(line).value for line in ignored[:MAX_IGNORED_LISTED]],
        "ignored_metric_line_count": len(ignored),
    }


def _start_error(result: CommandResult) -> str | None:
    # Stored in the product's language, like the other failure reasons of a run.
    if result.start_error is None:
        return None
    return result.start_error.render(get_settings().language)


def _failure_message(result: CommandResult) -> str | None:
    language = get_settings().language
    if result.start_error is not None:
        return result.start_error.render(language)
    if result.signal_name is not None:
        return KILLED_BY.render(language, signal=result.signal_name)
    if result.exit_code != 0:
        return EXITED_WITH.render(language, code=result.exit_code)
    return None


def _task_result(program: str, result: CommandResult, selection: MetricSelection) -> TaskResult:
    language = get_settings().language
    metrics: dict[str, dict[str, Any]] = {
        "exit_code": {
            "key": "exit_code",
            "label": EXIT_CODE_LABEL.render(language),
            "value": result.exit_code,
            "tone": "success" if result.exit_code == 0 else "danger",
        },
        "duration_ms": {
            "key": "duration_ms",
            "label": DURATION_LABEL.render(language),
            "value": result.duration_ms,
            "unit": "ms",
        },
    }
    # Printed metrics come after. Their keys never repeat a built-in one (reserved keys are
    # rejected per line) and they already fit the capacity next to the two built-ins.
    for metric in selection.metrics:
        metrics[metric["key"]] = metric
    failure = _failure_message(result)
    return TaskResult(
        metrics=list(metrics.values()),
        ext_data={
            "runner": "exec",
            "command": program[:200],
            "exit_code": result.exit_code,
            "signal": result.signal_name,
        },
        status=RunStatus.FAILED if failure is not None else None,
        error_message=failure,
    )
