"""``taskrun up``: start the product on one machine, ready to use.

Steps, in order:

1. Apply the migrations.
2. Declare the built-in tasks and the task modules. When none is configured and
   ``examples/dbstats`` is in the working directory, the example app is loaded.
3. Start the scheduler.
4. Run one round of every declared task that needs no arguments, plus the example on the
   product's own database.
5. Serve the console (``taskrun_center.web.server``) until Ctrl-C; ``--once`` stops before.
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import structlog
import typer
from rich.table import Column, Table
from rich.text import Text as RichText

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    DatabaseUrlOption,
    TaskModuleOption,
    cli_language,
    error_text,
    escape_hidden,
    escape_hidden_lines,
    fail,
    interrupt_exit_code,
    print_error,
    resolve_database_url,
    sigterm_as_interrupt,
    stdout,
    tr,
)
from taskrun_center.cli.scheduler import ConfigOption, exit_now
from taskrun_center.cli.serve import ForwardedAllowIpsOption, HostOption, PortOption
from taskrun_center.errors import ConfigurationError, StorageError, TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.states import RunStatus, TriggerSource

EXAMPLE_MODULE = "examples.dbstats"
EXAMPLE_TASK = "dbstats_collect"
# The audit runs last so that it checks the runs of this round too.
ROUND_ORDER = ("task_runs_reap", "task_runs_purge", EXAMPLE_TASK)
AUDIT_TASK = "task_runs_audit"
# The run ID shown for a task of the round that could not start a run.
NO_RUN = "-"

logger = structlog.get_logger(__name__)

_HELP = Text(
    "一键启动：迁移数据库，注册内置任务和示例任务并加入调度，立即运行一轮，然后提供控制台，"
    "直到按下 Ctrl-C。",
    "Start everything: migrate the database, declare and schedule the built-in and example "
    "tasks, run one round of them now, then serve the console until Ctrl-C.",
)
_ONCE_HELP = Text(
    "运行完一轮后退出，不启动控制台（用于测试和 CI）。",
    "Exit after the round instead of serving the console (for tests and CI).",
)
_MIGRATED = Text("数据库已就绪：{url}", "Database ready: {url}")
_LOADED = Text("已注册 {count} 个任务：{keys}", "Declared {count} tasks: {keys}")
_ROUND = Text("第一轮运行：", "First round:")
_SERVING = Text(
    "控制台：http://{host}:{port}/ （按 Ctrl-C 停止）",
    "Console: http://{host}:{port}/ (press Ctrl-C to stop)",
)
_NO_CONSOLE = Text(
    "控制台模块尚未安装；调度器在运行，按 Ctrl-C 停止。",
    "The console module is not available; the scheduler runs until you press Ctrl-C.",
)
_END_NOT_RECORDED_NOTE = Text(
    "结束状态未能写入，见下方错误。", "The run's end could not be recorded; see the error below."
)
_COLUMNS = (
    Text("任务键", "Task key"),
    Text("状态", "Status"),
    Text("运行 ID", "Run ID"),
    Text("说明", "Message"),
)


def register(app: typer.Typer) -> None:
    """Add ``taskrun up`` to ``app``."""
    app.command("up", help=_HELP.render(cli_language()))(up)


def up(
    *,
    once: Annotated[bool, typer.Option("--once", help=_ONCE_HELP.render(cli_language()))] = False,
    config: ConfigOption = None,
    task_module: TaskModuleOption = None,
    database_url: DatabaseUrlOption = None,
    host: HostOption = None,
    port: PortOption = None,
    forwarded_allow_ips: ForwardedAllowIpsOption = None,
) -> None:
    """Migrate, declare, schedule, run one round, then serve (or exit with ``--once``)."""
    from taskrun_center.config import get_settings

    settings = get_settings()
    if not once:
        from taskrun_center.web.listen_address import check_listen_address

        # Before the round: a taken port would otherwise show only after it, in English.
        check_listen_address(host or settings.host, port or settings.port)
    url = resolve_database_url(database_url, create_sqlite_file=True)
    _migrate(url)
    modules = _task_modules(task_module)
    keys = _load(modules)
    stdout.print(tr(_LOADED, count=len(keys), keys=", ".join(keys)), highlight=False)

    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with sigterm_as_interrupt() as stop_signal:
        scheduler = _start_scheduler(url, config)
        try:
            outcomes = run_round(url, keys)
            _print_round(outcomes)
            _print_runs_not_ended(outcomes)
            if once:
                failed = any(outcome.status in _ROUND_FAILURES for outcome in outcomes)
                raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
            _serve_or_wait(url, host or settings.host, port or settings.port, forwarded_allow_ips)
            if "signum" in stop_signal:
                raise typer.Exit(interrupt_exit_code(stop_signal))
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM: the round's run in progress was cancelled; stop the scheduler.
            raise typer.Exit(interrupt_exit_code(stop_signal)) from None
        finally:
            # Releases the leader lock and marks the leader record released, so that
            # ``taskrun scheduler status`` does not name this process after it is gone. A
            # long scheduled run is cancelled rather than waited for.
            from taskrun_center.runners.scheduler import stop_cancelling_runs

            if stop_cancelling_runs(scheduler):
                # Their worker threads would hold a normal exit until the tasks end.
                exit_now(interrupt_exit_code(stop_signal) if stop_signal else EXIT_FAILED)


def _migrate(url: str) -> None:
    from taskrun_center.storage.migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        upgrade(url)
    except TaskRunError as error:
        fail(error_text(error), EXIT_FAILED)
    stdout.print(tr(_MIGRATED, url=_display_url(url)), highlight=False)


# Query parameters that libpq reads as passwords; shown masked like the password of the URL.
_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    masked = {key: "***" for key in parsed.query if key.lower() in _SECRET_QUERY_KEYS}
    return parsed.update_query_dict(masked).render_as_string(hide_password=True)


def _task_modules(given: list[str] | None) -> list[str]:
    from taskrun_center.config import get_settings
    from taskrun_center.runners.loading import parse_module_list

    modules = [*parse_module_list(get_settings().task_modules), *(given or [])]
    if not modules and _example_present():
        modules.append(EXAMPLE_MODULE)
    return modules


def _example_present() -> bool:
    # The example app ships in the repository, not in the installed package. It is used when
    # taskrun up runs from a checkout (scripts/start does) and nothing else is configured.
    return (Path.cwd() / "examples" / "dbstats" / "__init__.py").is_file()


def _load(modules: list[str]) -> list[str]:
    from taskrun_center.runners import all_tasks
    from taskrun_center.runners.loading import load_builtin_tasks, load_task_modules

    try:
        load_builtin_tasks()
        load_task_modules(modules)
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)
    return [definition.key for definition in all_tasks()]


def _start_scheduler(url: str, config: str | None) -> Any:
    from taskrun_center.runners import all_tasks
    from taskrun_center.runners.scheduler import JobSpec, start_scheduler_in_background

    extra: list[JobSpec] = []
    if EXAMPLE_TASK in {definition.key for definition in all_tasks()}:
        extra.append(
            JobSpec(
                job_id="dbstats_hourly",
                task_key=EXAMPLE_TASK,
                cron="0 * * * *",
                arguments={"targets": [url]},
            )
        )
    try:
        return start_scheduler_in_background(url, config, extra_jobs=extra)
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)


# Outcomes that make ``taskrun up --once`` exit 1. A run whose end could not be recorded
# keeps the status running in the round's outcomes.
_ROUND_FAILURES = frozenset({RunStatus.FAILED, RunStatus.RUNNING})


def run_round(url: str, keys: list[str]) -> list[Any]:
    """Run every declared task that needs no argument once, the audit last; return outcomes.

    The example task runs on the product's own database. Tasks with required arguments are
    left to the scheduler's job file. A locked or lost database does not stop the round. A run
    whose end could not be recorded has the status running and the error's message; a task
    that could not start its run has the status failed, no run ID and the message. The next
    tasks still run.
    """
    from taskrun_center.runners import get_task
    from taskrun_center.runners.recording import database_for

    database = database_for(url)
    ordered = [key for key in ROUND_ORDER if key in keys]
    ordered += [key for key in keys if key not in ROUND_ORDER and key != AUDIT_TASK]
    ordered += [AUDIT_TASK] if AUDIT_TASK in keys else []
    outcomes = []
    for key in ordered:
        arguments = {"targets": [url]} if key == EXAMPLE_TASK else {}
        try:
            get_task(key).check_arguments(arguments)
        except ConfigurationError:
            continue
        outcomes.append(_run_in_round(key, database, arguments))
    return outcomes


def _run_in_round(key: str, database: Any, arguments: dict[str, Any]) -> Any:
    from taskrun_center.runners import RunOutcome, run_task
    from taskrun_center.runners.recording import RunEndNotRecordedError

    try:
        return run_task(key, database=database, trigger_source=TriggerSource.CLI,
                        arguments=arguments)
    except RunEndNotRecordedError as error:
        # run_task has logged run_end_not_recorded with the run's id.
        return RunOutcome(run_id=error.run_id, task_key=key, status=RunStatus.RUNNING,
                          error_message=error_text(error))
    except StorageError as error:
        # The run could not be started (a file locked past the busy timeout, a lost server):
        # no run exists, so the row has no run ID. The round goes on with the next task.
        logger.warning("round_task_not_started", task_key=key, error_type=type(error).__name__)
        return RunOutcome(run_id=NO_RUN, task_key=key, status=RunStatus.FAILED,
                          error_message=error_text(error))


def _print_runs_not_ended(outcomes: list[Any]) -> None:
    # After the table, so that the message is the last thing on stderr, as for taskrun run.
    for outcome in outcomes:
        if outcome.status == RunStatus.RUNNING:
            print_error(outcome.error_message or outcome.run_id)


def _print_round(outcomes: list[Any]) -> None:
    english = cli_language() == "en"
    task_key, status, run_id, message = (tr(column) for column in _COLUMNS)
    width = max((len(outcome.run_id) for outcome in outcomes), default=len(run_id))
    # A run ID is never cut, so that it can be copied into ``taskrun runs show``; on a narrow
    # terminal the message column wraps instead.
    table = Table(
        Column(task_key, overflow="fold"),
        Column(status, no_wrap=True),
        Column(run_id, no_wrap=True, min_width=width),
        Column(message, overflow="fold", ratio=1),
        title=tr(_ROUND),
    )
    for outcome in outcomes:
        status = outcome.status.label_en if english else outcome.status.label_zh
        message = outcome.error_message or outcome.skip_reason or ""
        if outcome.status == RunStatus.RUNNING:
            message = tr(_END_NOT_RECORDED_NOTE)
        table.add_row(RichText(escape_hidden(outcome.task_key)), status,
                      RichText(escape_hidden(outcome.run_id)),
                      RichText(escape_hidden_lines(message)))
    stdout.print(table)


def _serve_or_wait(url: str, host: str, port: int, forwarded_allow_ips: str | None) -> None:
    if importlib.util.find_spec("taskrun_center.web.server") is not None:
        from taskrun_center.web.listen_address import url_host
        from taskrun_center.web.server import serve

        stdout.print(tr(_SERVING, host=url_host(host), port=port), highlight=False)
        serve(url, host, port, scheduler=False, forwarded_allow_ips=forwarded_allow_ips,
              language=cli_language())
        return

    stdout.print(tr(_NO_CONSOLE))
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stop.wait(1.0):
        pass
