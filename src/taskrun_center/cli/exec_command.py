"""``taskrun exec``: run any command as a recorded run and exit with the command's status."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

import typer

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    cli_language,
    error_text,
    escape_hidden,
    fail,
    interrupt_exit_code,
    print_warning,
    resolve_database_url,
    sigterm_as_interrupt,
    tr,
)
from taskrun_center.contract.models import TASK_KEY_PATTERN
from taskrun_center.errors import TaskRunError
from taskrun_center.i18n import Text

if TYPE_CHECKING:
    from taskrun_center.runners.command import ExecInterrupted

_EXEC_HELP = Text(
    "把任意命令作为一次运行记录下来：退出码、耗时、终止信号、stdout/stderr 末尾几行（已脱敏）。"
    "命令的输出照常显示；taskrun exec 的退出码就是命令的退出码（找不到命令为 127，"
    "被信号 N 终止为 128+N）。Ctrl-C 和 SIGTERM 会转发给命令，运行记为已取消。"
    "命令可打印 '::taskrun metric key=K value=V' 行（可加 unit=、tone=、label=）来上报指标。",
    "Record any command as a run: exit status, duration, terminating signal, and the last lines "
    "of stdout and stderr (masked). The command's output is shown as usual; the exit status of "
    "taskrun exec is the command's (127 when it does not exist, 128+N when signal N ends it). "
    "Ctrl-C and SIGTERM are forwarded to the command and the run ends as cancelled. The command "
    "may print '::taskrun metric key=K value=V' lines (optionally with unit=, tone=, label=) to "
    "report metrics.",
)
_TASK_KEY_HELP = Text(
    "记录运行所用的任务键：字母或数字开头，只含字母、数字和 _ . : -，例如 nightly_backup。",
    "Task key to record the run under: a letter or digit first, then letters, digits and "
    "_ . : -, e.g. nightly_backup.",
)
_NAME_HELP = Text(
    "任务名称（默认为任务键）。", "Task name shown in the console (default: the key)."
)
_CATEGORY_HELP = Text("任务分类。", "Task category.")
_TAIL_HELP = Text(
    "保存 stdout 和 stderr 各自最后多少行（每行最多 400 个字符）。",
    "Lines kept from the end of stdout and of stderr (each cut to 400 characters).",
)
_COMMAND_HELP = Text(
    "要运行的命令及其参数，写在 -- 之后。", "The command and its arguments, after --."
)
_NO_COMMAND = Text(
    "缺少要运行的命令：taskrun exec --task-key KEY -- COMMAND [ARGS…]",
    "Missing command: taskrun exec --task-key KEY -- COMMAND [ARGS…]",
)
_INVALID_TASK_KEY = Text(
    "任务键 {key!r} 无效：须以字母或数字开头，其余只能是字母、数字和 _ . : -，"
    "长度 1 到 128 个字符（正则 {pattern}），例如 nightly_backup。",
    "Invalid task key {key!r}: start with a letter or digit, then use only letters, digits "
    "and _ . : -, 1 to 128 characters in all (pattern {pattern}), e.g. nightly_backup.",
)
_NOT_STARTED = Text(
    "无法记录运行，命令未启动：{error}",
    "Cannot record the run, so the command was not started: {error}",
)
_INTERRUPTED = Text(
    "已中断：运行 {run_id} 已结束，状态为“{status}”。",
    "Interrupted: run {run_id} ended as {status}.",
)
_RUN_LEFT_RUNNING = Text(
    "运行 {run_id} 的结束未能写入数据库（原因见日志事件 run_interrupt_not_recorded 或 "
    "exec_run_not_ended）。它会显示为运行中，直到回收器在 {reap_timeout} 秒没有心跳后将其"
    "标记为失败（TASKRUN_REAP_TIMEOUT_SECONDS）。",
    "The end of run {run_id} could not be written to the database (the log event "
    "run_interrupt_not_recorded or exec_run_not_ended says why). The run shows as running "
    "until the reaper marks it failed after {reap_timeout} s without a heartbeat "
    "(TASKRUN_REAP_TIMEOUT_SECONDS).",
)


def register(app: typer.Typer) -> None:
    """Add ``taskrun exec`` to ``app``."""
    app.command(
        "exec",
        help=_EXEC_HELP.render(cli_language()),
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    )(exec_command)


def exec_command(
    command: Annotated[
        list[str] | None,
        typer.Argument(help=_COMMAND_HELP.render(cli_language()), show_default=False),
    ] = None,
    *,
    task_key: Annotated[
        str, typer.Option("--task-key", help=_TASK_KEY_HELP.render(cli_language()))
    ],
    name: Annotated[
        str | None, typer.Option("--name", help=_NAME_HELP.render(cli_language()))
    ] = None,
    category: Annotated[
        str, typer.Option("--category", help=_CATEGORY_HELP.render(cli_language()))
    ] = "command",
    tail_lines: Annotated[
        int, typer.Option("--tail-lines", min=0, max=200, help=_TAIL_HELP.render(cli_language()))
    ] = 40,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Run ``command`` as a recorded run of ``task_key``; exit with the command's status."""
    # Checked first: the summary check would reject the key later, naming only ext.type.
    if re.fullmatch(TASK_KEY_PATTERN, task_key) is None:
        fail(tr(_INVALID_TASK_KEY, key=escape_hidden(task_key), pattern=TASK_KEY_PATTERN),
             EXIT_USAGE)
    if not command:
        fail(tr(_NO_COMMAND), EXIT_USAGE)
    from taskrun_center.runners.command import ExecInterrupted, exec_recorded
    from taskrun_center.runners.recording import database_for

    database = database_for(resolve_database_url(database_url))
    stop_signal: dict[str, int] = {}
    try:
        # While the command runs, the handlers of run_command forward SIGINT and SIGTERM to it.
        # Before and after, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so the run is
        # cancelled instead of left running.
        with sigterm_as_interrupt() as stop_signal:
            outcome = exec_recorded(command, task_key=task_key, database=database, name=name,
                                    category=category, tail_lines=tail_lines)
    except ExecInterrupted as interrupted:
        _report_interrupt(interrupted)
        raise typer.Exit(interrupt_exit_code(stop_signal)) from None
    except TaskRunError as error:
        fail(tr(_NOT_STARTED, error=error_text(error)), EXIT_FAILED)
    if outcome.status is None:
        print_warning(_left_running(outcome.run_id))
    raise typer.Exit(outcome.exit_code)


def _report_interrupt(interrupted: ExecInterrupted) -> None:
    if interrupted.status is None:
        print_warning(_left_running(interrupted.run_id))
        return
    status = interrupted.status
    label = status.label_en if cli_language() == "en" else status.label_zh
    print_warning(tr(_INTERRUPTED, run_id=interrupted.run_id, status=label))


def _left_running(run_id: str) -> str:
    from taskrun_center.config import get_settings

    return tr(_RUN_LEFT_RUNNING, run_id=run_id,
              reap_timeout=get_settings().reap_timeout_seconds)
