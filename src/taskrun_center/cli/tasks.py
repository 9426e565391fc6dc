"""``taskrun tasks list`` and ``taskrun run``: the declared tasks, and running one now."""

from __future__ import annotations

import json
import signal
from typing import Annotated, Any

import typer
from rich.table import Table

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    DatabaseUrlOption,
    FormatOption,
    OutputFormat,
    TaskModuleOption,
    cli_language,
    error_text,
    escape_hidden,
    escape_hidden_lines,
    fail,
    interrupt_exit_code,
    print_json,
    resolve_database_url,
    sigterm_as_interrupt,
    stdout,
    tr,
)
from taskrun_center.errors import ConfigurationError, TaskRunError, UnknownTaskTypeError
from taskrun_center.i18n import Text
from taskrun_center.states import RunStatus, TriggerSource

_TASKS_HELP = Text("查看已声明的任务类型。", "Show the declared task types.")
_LIST_HELP = Text(
    "列出已声明的任务：内置任务以及 TASKRUN_TASK_MODULES 中的任务。",
    "List the declared tasks: the built-in ones and those in TASKRUN_TASK_MODULES.",
)
_RUN_HELP = Text(
    "立即在当前进程中运行一个已声明的任务（触发来源：命令行），并等待它结束。",
    "Run a declared task now in this process (trigger source: cli) and wait for it to end.",
)
_TASK_KEY_HELP = Text("任务键，例如 task_runs_audit。", "Task key, e.g. task_runs_audit.")
_ARG_HELP = Text(
    "任务参数 key=value，可重复；value 按 JSON 解析（数字、true、列表……），否则按字符串。",
    "Task argument key=value, repeatable; value is parsed as JSON (numbers, true, lists…), "
    "else taken as a string.",
)
_ENQUEUE_HELP = Text(
    "不在当前进程运行：创建等待中的运行并发送给 Celery 工作进程（TASKRUN_CELERY_BROKER_URL），"
    "输出 run_id 后立即返回。",
    "Do not run it here: create the pending run, send it to the Celery workers "
    "(TASKRUN_CELERY_BROKER_URL), print its run_id and return at once.",
)
# The cancel is written after the interrupt. A locked or lost database, or a second Ctrl-C
# during its retries, leaves the run to the reaper, so the message names both outcomes.
_RUN_INTERRUPTED = Text(
    "已中断。已经开始的运行已标记为已取消。如果数据库未能记录（日志事件 run_interrupt_not_recorded "
    "或 run_end_abandoned），回收器会在回收超时后将其标记为失败。",
    "Interrupted. A run that had started is marked cancelled. If the database could not record "
    "that (log event run_interrupt_not_recorded or run_end_abandoned), the reaper fails the run "
    "after the reap timeout.",
)
_RUN_ENQUEUED = Text(
    "运行 {run_id} 已发送给 Celery 工作进程，状态：等待中",
    "Run {run_id} was sent to the Celery workers; status: pending",
)
_BAD_ARG = Text(
    "参数 {value!r} 无效：应为 key=value 形式。",
    "Invalid argument {value!r}: use the form key=value.",
)
_REPEATED_ARG = Text(
    "参数 {key} 重复给出；每个参数只能用一次 --arg。",
    "Argument {key} is given more than once; pass each argument with one --arg.",
)
_UNKNOWN_TASK = Text(
    "没有以 {key} 为任务键声明的任务。用 taskrun tasks list 查看已声明的任务。"
    "如果任务在其他模块中声明，请用 --task-module 模块名 或 TASKRUN_TASK_MODULES 导入该模块。",
    "No task is declared under the key {key}. See the declared tasks with taskrun tasks list. "
    "If the task is declared in another module, import that module with --task-module MODULE "
    "or TASKRUN_TASK_MODULES.",
)
_RUN_ENDED = Text("运行 {run_id} 已结束：{status}", "Run {run_id} ended: {status}")
_NO_TASKS = Text("没有已声明的任务。", "No task is declared.")
_COLUMNS = (
    Text("任务键", "Key"),
    Text("名称", "Name"),
    Text("分类", "Category"),
    Text("指标", "Metrics"),
)



def register(app: typer.Typer) -> None:
    """Add ``taskrun tasks list`` and ``taskrun run`` to ``app``."""
    language = cli_language()
    group = typer.Typer(help=_TASKS_HELP.render(language), no_args_is_help=True)
    group.command("list", help=_LIST_HELP.render(language))(list_tasks)
    app.add_typer(group, name="tasks")
    app.command("run", help=_RUN_HELP.render(language))(run)


def load_tasks(task_modules: list[str] | None) -> None:
    """Declare the built-in tasks and import the configured and given task modules."""
    from taskrun_center.runners.loading import load_configured_tasks

    try:
        load_configured_tasks(task_modules or ())
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)


def list_tasks(
    task_module: TaskModuleOption = None, output_format: FormatOption = OutputFormat.TEXT
) -> None:
    """Print every declared task with its names, category and metric keys."""
    load_tasks(task_module)
    from taskrun_center.runners import all_tasks

    definitions = all_tasks()
    if output_format == "json":
        print_json({"tasks": [_task_dict(definition) for definition in definitions]})
        return
    if not definitions:
        stdout.print(tr(_NO_TASKS))
        return
    english = cli_language() == "en"
    table = Table(*(tr(column) for column in _COLUMNS))
    for definition in definitions:
        table.add_row(
            definition.key,
            definition.name_en if english else definition.name_zh,
            definition.category,
            ", ".join(metric.key for metric in definition.task_type.metrics),
        )
    stdout.print(table)


def run(
    task_key: Annotated[str, typer.Argument(help=_TASK_KEY_HELP.render(cli_language()))],
    *,
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", help=_ARG_HELP.render(cli_language()), show_default=False),
    ] = None,
    task_module: TaskModuleOption = None,
    database_url: DatabaseUrlOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    enqueue: Annotated[
        bool, typer.Option("--enqueue", help=_ENQUEUE_HELP.render(cli_language()))
    ] = False,
) -> None:
    """Run ``task_key`` now and exit 0 when its run completed, 1 otherwise."""
    arguments = parse_arguments(arg or [])
    load_tasks(task_module)
    if enqueue:
        _enqueue_on_celery(task_key, arguments, database_url, output_format)
        return
    from taskrun_center.runners import run_task
    from taskrun_center.runners.recording import database_for

    stop_signal: dict[str, int] = {}
    try:
        # SIGTERM (a service manager, ``timeout``) cancels the run as Ctrl-C does. Without the
        # handler the process ended at once and the run stayed running until the reaper came.
        with sigterm_as_interrupt() as stop_signal:
            outcome = run_task(
                task_key,
                database=database_for(resolve_database_url(database_url)),
                trigger_source=TriggerSource.CLI,
                arguments=arguments,
            )
    except KeyboardInterrupt:
        if output_format == "json":
            signal_name = "SIGTERM" if stop_signal.get("signum") == signal.SIGTERM else "SIGINT"
            print_json({"interrupted": True, "signal": signal_name})
        fail(tr(_RUN_INTERRUPTED), interrupt_exit_code(stop_signal))
    except (UnknownTaskTypeError, ConfigurationError) as error:
        fail(describe_error(error), EXIT_USAGE)
    except TaskRunError as error:
        fail(error_text(error), EXIT_FAILED)

    if output_format == "json":
        print_json(
            {
                "run_id": outcome.run_id,
                "task_key": outcome.task_key,
                "status": outcome.status.value,
                "error_message": outcome.error_message,
            }
        )
    else:
        label = outcome.status.label_en if cli_language() == "en" else outcome.status.label_zh
        stdout.print(tr(_RUN_ENDED, run_id=escape_hidden(outcome.run_id), status=label),
                     highlight=False, markup=False)
        if outcome.error_message:
            stdout.print(escape_hidden_lines(outcome.error_message), highlight=False,
                         markup=False)
    raise typer.Exit(EXIT_OK if outcome.status == RunStatus.COMPLETED else EXIT_FAILED)


def _enqueue_on_celery(
    task_key: str, arguments: dict[str, Any], database_url: str | None, output_format: str
) -> None:
    from taskrun_center.runners.celery import CeleryDispatcher
    from taskrun_center.runners.dispatch import enqueue_run
    from taskrun_center.runners.recording import database_for

    try:
        run_id = enqueue_run(
            task_key,
            database=database_for(resolve_database_url(database_url)),
            dispatcher=CeleryDispatcher(),
            trigger_source=TriggerSource.CLI,
            arguments=arguments,
        )
    except (UnknownTaskTypeError, ConfigurationError) as error:
        fail(describe_error(error), EXIT_USAGE)
    except Exception as error:
        # TaskRunError from the database, or the broker's error; the run is marked failed.
        fail(str(error), EXIT_FAILED)
    if output_format == "json":
        print_json({"run_id": run_id, "task_key": task_key, "status": RunStatus.PENDING.value})
    else:
        stdout.print(tr(_RUN_ENQUEUED, run_id=run_id), highlight=False)


def parse_arguments(pairs: list[str]) -> dict[str, Any]:
    """Turn ``key=value`` options into task arguments, parsing each value as JSON if it is."""
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            fail(tr(_BAD_ARG, value=escape_hidden(pair)), EXIT_USAGE)
        # A repeated key would otherwise silently keep only its last value.
        if key in arguments:
            fail(tr(_REPEATED_ARG, key=escape_hidden(key)), EXIT_USAGE)
        try:
            arguments[key] = json.loads(raw)
        except json.JSONDecodeError:
            arguments[key] = raw
    return arguments


def describe_error(error: TaskRunError) -> str:
    """Word ``error`` in the CLI's language when it carries a bilingual reason.

    The message quotes what was typed (a task key, an argument's name), so hidden characters
    in it are escaped before they reach the terminal.
    """
    if isinstance(error, UnknownTaskTypeError):
        return tr(_UNKNOWN_TASK, key=escape_hidden(error.task_key))
    return escape_hidden_lines(error_text(error))


def _task_dict(definition: Any) -> dict[str, Any]:
    task_type = definition.task_type
    return {
        "key": definition.key,
        "name_zh": definition.name_zh,
        "name_en": definition.name_en,
        "category": definition.category,
        "is_async": definition.is_async,
        "metrics": [
            {
                "key": metric.key,
                "label_zh": metric.label_zh,
                "label_en": metric.label_en,
                "unit": metric.unit,
                "tone": metric.tone.value if metric.tone else None,
            }
            for metric in task_type.metrics
        ],
    }
