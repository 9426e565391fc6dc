"""``taskrun scheduler`` (run a scheduler replica) and ``taskrun scheduler status``."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import structlog
import typer
from rich.table import Table

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    FormatOption,
    OutputFormat,
    TaskModuleOption,
    cli_language,
    error_text,
    escape_hidden,
    fail,
    interrupt_exit_code,
    print_json,
    resolve_database_url,
    stdout,
    tr,
)
from taskrun_center.cli.tasks import load_tasks
from taskrun_center.errors import ConfigurationError, TaskRunError
from taskrun_center.i18n import Text
from taskrun_center.storage.types import utcnow

if TYPE_CHECKING:
    from taskrun_center.runners.scheduler import SchedulerService

_HELP = Text(
    "运行调度器副本：同一数据库只有一个副本担任主节点并触发任务，其余副本等待接管。"
    "任务来自 --config 指定的 TOML 文件（或 TASKRUN_SCHEDULER_CONFIG）加上内置任务的默认计划。",
    "Run a scheduler replica: one replica per database leads and fires jobs, the others wait "
    "to take over. Jobs come from the TOML file given by --config (or "
    "TASKRUN_SCHEDULER_CONFIG) plus the default jobs of the built-in tasks.",
)
_STATUS_HELP = Text(
    "显示哪个进程是调度主节点（主机、PID、起始时间、任期号）以及每个任务的下次触发时间。"
    "没有存活的主节点时退出码为 1。",
    "Show which process leads the scheduler (host, pid, since, epoch) and each job's next fire "
    "time. Exits 1 when no live leader is recorded.",
)
_CONFIG_HELP = Text(
    "调度任务配置文件（TOML），也可用环境变量 TASKRUN_SCHEDULER_CONFIG 设置。",
    "Scheduler job file (TOML); also set by the environment variable TASKRUN_SCHEDULER_CONFIG.",
)
_STARTED = Text(
    "调度器已启动（{jobs} 个任务），按 Ctrl-C 停止。",
    "Scheduler started ({jobs} jobs); press Ctrl-C to stop.",
)
_STOPPING = Text(
    "正在停止调度器：不再触发新任务，已释放主节点。已取消 {count} 个进行中的运行，"
    "最多等待 {seconds} 秒让它们在下一次取消检查时停止；"
    "再按一次 Ctrl-C（或再发一次 SIGTERM）立即退出。",
    "Stopping the scheduler: no new jobs fire and leadership is released. {count} runs in "
    "progress were cancelled; waiting up to {seconds} s for them to stop at their next "
    "cancellation check. Press Ctrl-C (or send SIGTERM) again to exit at once.",
)
_RUNS_LEFT = Text(
    "{count} 个已取消的运行在 {seconds} 秒内没有停止，调度器不再等待，直接退出。",
    "{count} cancelled runs did not stop within {seconds} s; the scheduler exits without "
    "waiting for them.",
)
_EXIT_AT_ONCE = Text(
    "再次收到停止信号，调度器立即退出。",
    "Second stop signal received; the scheduler exits at once.",
)
_NO_LEADER = Text("还没有任何调度器担任过主节点。", "No scheduler has led yet.")
_LEADER = Text(
    "主节点：{host} pid {pid}，自 {since} 起，任期 {epoch}，最近续约 {renewed}（{state}）",
    "Leader: {host} pid {pid}, since {since}, epoch {epoch}, renewed {renewed} ({state})",
)
_ALIVE = Text("存活", "alive")
_STALE = Text("已失联，等待其他副本接管", "stale; waiting for another replica to take over")
_RELEASED = Text("已正常停止，目前没有主节点", "stopped cleanly; no replica leads now")
_COLUMNS = (
    Text("任务 ID", "Job"),
    Text("任务键", "Task key"),
    Text("触发器", "Trigger"),
    Text("下次触发（UTC）", "Next fire time (UTC)"),
)

# A leader renews its record every 5 s; three missed renewals mean it is probably gone.
STALE_AFTER = timedelta(seconds=15)

logger = structlog.get_logger(__name__)

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        envvar="TASKRUN_SCHEDULER_CONFIG",
        help=_CONFIG_HELP.render(cli_language()),
        show_envvar=False,
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``scheduler`` command group to ``app``."""
    language = cli_language()
    group = typer.Typer(help=_HELP.render(language), invoke_without_command=True)
    group.callback()(scheduler)
    group.command("status", help=_STATUS_HELP.render(language))(status)
    app.add_typer(group, name="scheduler")


def scheduler(
    context: typer.Context,
    config: ConfigOption = None,
    task_module: TaskModuleOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Run a scheduler replica until SIGINT or SIGTERM.

    The first signal stops firing, cancels the runs in progress, releases leadership and
    exits 130 (SIGINT) or 143 (SIGTERM); a second signal exits at once.
    """
    if context.invoked_subcommand is not None:
        return
    load_tasks(task_module)
    from taskrun_center.runners.dispatch import scheduler_dispatcher_for
    from taskrun_center.runners.recording import database_for
    from taskrun_center.runners.scheduler import SchedulerService, load_jobs

    try:
        jobs = load_jobs(config)
        service = SchedulerService(
            database_for(resolve_database_url(database_url)),
            jobs,
            dispatcher_factory=scheduler_dispatcher_for,
        )
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)

    stop = threading.Event()
    received: dict[str, int] = {}

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            logger.warning("scheduler_exit_forced", signal=signal.Signals(signum).name)
            stdout.print(tr(_EXIT_AT_ONCE), highlight=False)
            exit_now(interrupt_exit_code({"signum": signum}))
        received["signum"] = signum
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    service.start()
    stdout.print(tr(_STARTED, jobs=len(jobs)), highlight=False)
    while not stop.wait(1.0):
        pass
    _stop_service(service, interrupt_exit_code(received))


def _stop_service(service: SchedulerService, exit_code: int) -> NoReturn:
    """Cancel the runs in progress, give up leadership, wait a while for the runs, then exit."""
    from taskrun_center.runners.scheduler import STOP_WAIT_SECONDS, stop_cancelling_runs

    still_running = service.runs_in_progress()
    if still_running:
        stdout.print(tr(_STOPPING, count=len(still_running), seconds=STOP_WAIT_SECONDS),
                     highlight=False)
    left = stop_cancelling_runs(service)
    if not left:
        raise typer.Exit(exit_code)
    stdout.print(tr(_RUNS_LEFT, count=len(left), seconds=STOP_WAIT_SECONDS), highlight=False)
    exit_now(exit_code)


def exit_now(exit_code: int) -> NoReturn:
    # The worker threads of runs still executing would keep a normal exit waiting until they
    # end, so the process ends without joining them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)


def status(
    database_url: DatabaseUrlOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Print the recorded leader and its jobs' next fire times."""
    from taskrun_center.runners.recording import database_for
    from taskrun_center.runners.scheduler import read_leader

    try:
        leader = read_leader(database_for(resolve_database_url(database_url)))
    except TaskRunError as error:
        fail(error_text(error), EXIT_FAILED)

    alive = (
        leader is not None and not leader.released and utcnow() - leader.renewed_at <= STALE_AFTER
    )
    if output_format == "json":
        print_json({"leader": _leader_dict(leader, alive), "jobs": leader.jobs if leader else []})
    else:
        _print_status(leader, alive)
    raise typer.Exit(0 if alive else EXIT_FAILED)


def _leader_dict(leader: Any, alive: bool) -> dict[str, Any] | None:
    if leader is None:
        return None
    return {
        "host": leader.host,
        "pid": leader.pid,
        "holder_id": leader.holder_id,
        "since": leader.since.isoformat(),
        "epoch": leader.epoch,
        "renewed_at": leader.renewed_at.isoformat(),
        "alive": alive,
        "released": leader.released,
    }


def _print_status(leader: Any, alive: bool) -> None:
    if leader is None:
        stdout.print(tr(_NO_LEADER))
        return
    stdout.print(
        tr(
            _LEADER,
            host=leader.host,
            pid=leader.pid,
            since=leader.since.isoformat(timespec="seconds"),
            epoch=leader.epoch,
            renewed=leader.renewed_at.isoformat(timespec="seconds"),
            state=tr(_state(leader, alive)),
        ),
        highlight=False,
    )
    table = Table(*(tr(column) for column in _COLUMNS))
    for job in leader.jobs:
        table.add_row(
            job["job_id"], job["task_key"], _trigger_text(job["trigger"]),
            _short_time(job["next_fire_time"])
        )
    stdout.print(table)


def _state(leader: Any, alive: bool) -> Text:
    if alive:
        return _ALIVE
    return _RELEASED if leader.released else _STALE


def _short_time(value: str | None) -> str:
    # "2026-12-05T03:30:00+00:00" becomes "2026-12-05 03:30:00"; the column header says UTC.
    if not value:
        return "-"
    return value[:19].replace("T", " ")


_EVERY = re.compile(r"every (\d+) s")
_EVERY_TEXT = Text("每 {seconds} 秒", "every {seconds} s")


def _trigger_text(stored: str) -> str:
    """Return a stored trigger description in the CLI language (cron lines stay as written)."""
    interval = _EVERY.fullmatch(stored)
    if interval is None:
        return escape_hidden(stored)
    return tr(_EVERY_TEXT, seconds=interval.group(1))
