"""``taskrun purge``, ``taskrun audit`` and ``taskrun reap``: keep the run tables healthy.

Exit codes: 0 success, also for an audit that found warnings only; 1 a batch failed, the audit
found violations or the database failed; 2 a usage error (an invalid option, or
``purge --all`` without a terminal or ``--yes``); 130 Ctrl-C and 143 SIGTERM, after the report
of the work done until then.
On a terminal the long operations show a progress bar on stderr; ``--format json`` prints one
JSON document on stdout instead of the text report.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text as RichText

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    FormatOption,
    OutputFormat,
    cli_language,
    confirm_or_cancel,
    error_text,
    escape_hidden,
    fail,
    help_text,
    interrupt_exit_code,
    print_json,
    resolve_database_url,
    sigterm_as_interrupt,
    stderr,
    stdout,
    tr,
)
from taskrun_center.cli.runs import print_table, status_label
from taskrun_center.cli.usage_errors import join_list
from taskrun_center.config import get_settings
from taskrun_center.errors import ConfigurationError, StorageError
from taskrun_center.i18n import Text
from taskrun_center.maintenance.durations import (
    InvalidDurationError,
    format_duration,
    parse_duration,
)
from taskrun_center.maintenance.interrupts import MaintenanceInterrupted
from taskrun_center.maintenance.reaper import MIN_PENDING_TIMEOUT, MIN_REAP_TIMEOUT
from taskrun_center.states import RUN_TERMINAL
from taskrun_center.storage.engine import Database

_PURGE_HELP = Text(
    "按保留期分批删除已结束的运行及其子项；--all 删除全部运行。",
    "Delete finished runs past retention, with their items, in batches; --all deletes every run.",
)
_AUDIT_HELP = Text(
    "逐条检查已存储的运行和子项是否符合摘要契约；有违规时退出码为 1，只有警告时为 0。",
    "Check every stored run and item against the summary contract; exit 1 on any violation "
    "and 0 when there are only warnings.",
)
_REAP_HELP = Text(
    "把执行进程已失联的运行标记为失败。", "Mark runs whose worker went silent as failed."
)

_CONFIRM_PURGE = Text(
    "删除 {cutoff} 之前结束的运行（每个任务保留最新 {keep_last} 次）？",
    "Delete runs finished before {cutoff} (keeping the newest {keep_last} of each task)?",
)
_CONFIRM_WIPE = Text(
    "将永久删除全部 {runs} 次运行及其子项，包括正在运行的。确定继续吗？",
    "This permanently deletes every run and its items, running ones included: {runs} "
    "{runs_noun} in total. Continue?",
)
_WIPE_NEEDS_YES = Text(
    "purge --all 需要确认：请在终端中运行，或加上 --yes。",
    "purge --all needs a confirmation: run it on a terminal, or add --yes.",
)
_ALL_WITH_FILTERS = Text(
    "--all 删除全部运行，不能与 --older-than、--status、--task-key、--keep-last 同用。",
    "--all deletes every run and cannot be combined with --older-than, --status, --task-key "
    "or --keep-last.",
)
_ABORTED = Text("已取消，没有删除任何数据。", "Cancelled; nothing was deleted.")
_UNFINISHED_STATUS = Text(
    "--status {status} 无效：清理只删除已结束的运行，可用的状态有 {allowed}。",
    "Invalid --status {status}: purge deletes only finished runs, whose statuses are "
    "{allowed}.",
)
_STATUS_CHOICE = Text("{value}（{label}）", "{value} ({label})")
_PURGED = Text(
    "已删除 {runs} 次运行和 {items} 个子项，共 {batches} 批，用时 {seconds:.1f} 秒。",
    "Deleted {runs} {runs_noun} and {items} {items_noun} in {batches} {batches_noun}, "
    "{seconds:.1f} s.",
)
_PURGE_DRY = Text(
    "试运行：将删除 {runs} 次运行和 {items} 个子项（未做任何改动），用时 {seconds:.1f} 秒。",
    "Dry run: would delete {runs} {runs_noun} and {items} {items_noun} (nothing changed), "
    "{seconds:.1f} s.",
)
_PURGE_INTERRUPTED = Text(
    "已中断：已提交的 {batches} 批共删除 {runs} 次运行和 {items} 个子项，进行中的一批已回滚，"
    "用时 {seconds:.1f} 秒。再次运行清理即可继续。",
    "Interrupted: {batches} committed {batches_noun} deleted {runs} {runs_noun} and {items} "
    "{items_noun}, and the batch in progress was rolled back, {seconds:.1f} s. Run the purge "
    "again to continue.",
)
_PURGE_INTERRUPTED_BEFORE_BATCHES = Text(
    "已中断：还没有删除任何运行，用时 {seconds:.1f} 秒。",
    "Interrupted before any run was deleted, {seconds:.1f} s.",
)
_PURGE_DRY_INTERRUPTED = Text(
    "已中断：试运行在中断前统计到 {runs} 次运行和 {items} 个子项（未做任何改动），"
    "用时 {seconds:.1f} 秒。",
    "Interrupted: the dry run had counted {runs} {runs_noun} and {items} {items_noun} "
    "(nothing changed), {seconds:.1f} s.",
)
_KEPT = Text(
    "另有 {kept} 次足够旧的运行因 --keep-last 被保留。",
    "--keep-last kept {kept} {kept_noun} past the cutoff.",
)
_PURGE_FAILED = Text(
    "第 {batch} 批删除失败并已回滚（用时 {seconds:.1f} 秒）；此前已删除 {runs} 次运行和 "
    "{items} 个子项。原因：{error}",
    "Batch {batch} failed and was rolled back after {seconds:.1f} s; earlier batches deleted "
    "{runs} {runs_noun} and {items} {items_noun}. Cause: {error}",
)
_TABLE_COLUMN = Text("表", "Table")
_COUNT_COLUMN = Text("行数", "Rows")
_PROGRESS_PURGE = Text("删除中", "Deleting")
_PROGRESS_AUDIT = Text("检查中", "Checking")

_AUDIT_SUMMARY = Text(
    "检查了 {runs} 次运行和 {items} 个子项，用时 {seconds:.1f} 秒。",
    "Checked {runs} {runs_noun} and {items} {items_noun} in {seconds:.1f} s.",
)
_AUDIT_INTERRUPTED = Text(
    "已中断：以下结果只涵盖中断前检查过的运行和子项。",
    "Interrupted: the results below cover only the runs and items checked before it.",
)
_AUDIT_CLEAN = Text("全部符合契约。", "Everything follows the contract.")
_AUDIT_CLEAN_SO_FAR = Text("已检查的部分全部符合契约。",
                           "Everything checked so far follows the contract.")
_AUDIT_FOUND = Text("发现 {total} 处违规：", "Found {total} {total_noun}:")
_AUDIT_WARNING = Text(
    "警告 {rule}（{meaning}）：共 {count} 次运行。前几个运行 ID：{examples}",
    "Warning {rule} ({meaning}). Runs: {count}. First run IDs: {examples}",
)
_RULE_COLUMN = Text("规则", "Rule")
_MEANING_COLUMN = Text("含义", "Meaning")
_EXAMPLES_COLUMN = Text("示例运行 ID（路径）", "First run IDs (path)")
_UNREGISTERED = Text(
    "以下任务类型未在本进程注册，只按通用结构检查了 ext.data：{keys}",
    "These task types are not registered in this process, so ext.data was checked only "
    "against the envelope: {keys}",
)

_REAPED = Text(
    "已将 {running} 次失联的运行和 {pending} 次无人领取的排队运行标记为失败。",
    "Marked {running} silent running {running_noun} and {pending} unclaimed pending "
    "{pending_noun} as failed.",
)
_REAP_DRY = Text(
    "试运行：将把 {running} 次运行中和 {pending} 次排队中的运行标记为失败（未做任何改动）。",
    "Dry run: would mark {running} running {running_noun} and {pending} pending "
    "{pending_noun} as failed (nothing changed).",
)
_REAP_INTERRUPTED = Text(
    "已中断：进行中的那次运行已回滚，没有标记；再次运行 reap 即可继续。",
    "Interrupted: the run in progress was rolled back and not marked. Run reap again to "
    "continue.",
)
_REAP_DRY_INTERRUPTED = Text(
    "已中断：以上只是中断前统计到的运行（未做任何改动）。",
    "Interrupted: the counts above cover only the runs checked before it (nothing changed).",
)
_REAP_ERRORS = Text(
    "{errors} 次运行因数据库错误未能回收，下次会重试。",
    "{errors} {errors_noun} could not be reaped because of a database error; the next pass "
    "retries.",
)
_TIMEOUT_TOO_SHORT = Text(
    "至少为 {minimum}，与 {variable} 的下限相同；收到 {value}。",
    "must be at least {minimum}, the same minimum as {variable}; got {value}.",
)
_WHOLE_NUMBER_AT_LEAST = Text(
    "应为不小于 {minimum} 的整数，例如 {example}；收到 {value}。",
    "must be a whole number of at least {minimum}, for example {example}; got {value}.",
)
_WHOLE_NUMBER_BETWEEN = Text(
    "应为 {minimum} 到 {maximum} 之间的整数，例如 {example}；收到 {value}。",
    "must be a whole number from {minimum} to {maximum}, for example {example}; got {value}.",
)

# English noun forms of each count parameter of the messages above (singular, plural). Chinese
# has no plural forms, so the Chinese templates leave these parameters out.
_ENGLISH_NOUNS = {
    "runs": ("run", "runs"),
    "items": ("item", "items"),
    "batches": ("batch", "batches"),
    "kept": ("run", "runs"),
    "total": ("violation", "violations"),
    "running": ("run", "runs"),
    "pending": ("run", "runs"),
    "errors": ("run", "runs"),
}


def _tr_counts(text: Text, **params: Any) -> str:
    """Render ``text`` like ``tr`` and set ``{name_noun}`` to the English noun for each count.

    For example ``runs=1`` adds ``runs_noun="run"`` and ``runs=0`` adds ``runs_noun="runs"``.
    """
    nouns = {
        f"{name}_noun": forms[0] if params[name] == 1 else forms[1]
        for name, forms in _ENGLISH_NOUNS.items()
        if name in params
    }
    return tr(text, **params, **nouns)


def register(app: typer.Typer) -> None:
    """Add ``purge``, ``audit`` and ``reap`` to ``app``."""
    language = cli_language()
    app.command("purge", help=_PURGE_HELP.render(language))(purge)
    app.command("audit", help=_AUDIT_HELP.render(language))(audit)
    app.command("reap", help=_REAP_HELP.render(language))(reap)


def _duration_option(option: str, *, minimum: timedelta = timedelta(0),
                     variable: str = "") -> Callable[[str | None], timedelta | None]:
    """Return a parser of ``option`` that rejects a duration below ``minimum``.

    ``variable`` names the setting whose lower bound ``minimum`` is, for the message.
    """
    def parse(value: str | None) -> timedelta | None:
        if value is None:
            return None
        try:
            duration = parse_duration(value, option=option)
        except InvalidDurationError as error:
            # Click names the option in front of the message.
            raise typer.BadParameter(tr(error.reason_text)) from None
        if duration < minimum:
            raise typer.BadParameter(tr(_TIMEOUT_TOO_SHORT, minimum=format_duration(minimum),
                                        variable=variable, value=value))
        return duration

    return parse


# An optional sign and ASCII digits: int() alone would also take "1_000" and non-ASCII digits.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")


def _whole_number_option(*, minimum: int, maximum: int | None = None,
                         example: int) -> Callable[[str | int], int]:
    """Return a parser that accepts a whole number from ``minimum`` to ``maximum``.

    It replaces Click's ``min``/``max`` range check, whose message is English only. Click
    also passes a declared default through the parser, as an ``int``.
    """
    def parse(value: str | int) -> int:
        if isinstance(value, int):
            return value
        text = value.strip()
        number = int(text) if _WHOLE_NUMBER.fullmatch(text) else None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            if maximum is None:
                reason = tr(_WHOLE_NUMBER_AT_LEAST, minimum=minimum, example=example,
                            value=escape_hidden(value))
            else:
                reason = tr(_WHOLE_NUMBER_BETWEEN, minimum=minimum, maximum=f"{maximum:,}",
                            example=example, value=escape_hidden(value))
            raise typer.BadParameter(reason)
        return number

    return parse


DryRunOption = Annotated[bool, typer.Option(
    "--dry-run", help=help_text("只统计，不做任何改动。", "Count only; change nothing."))]


def purge(
    *,
    older_than: Annotated[timedelta | None, typer.Option(
        "--older-than", parser=_duration_option("--older-than"), metavar="DURATION",
        help=help_text(
            "删除结束时间早于此的运行，如 30d、12h、90m；默认 TASKRUN_RETENTION_DAYS 天。",
            "Delete runs finished longer ago than this, e.g. 30d, 12h, 90m; default "
            "TASKRUN_RETENTION_DAYS days.",
        ))] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", help=help_text("只删除这些已结束状态的运行，可重复。",
                               "Only runs in these finished statuses; repeatable."))] = None,
    task_key: Annotated[list[str] | None, typer.Option(
        "--task-key", help=help_text("只删除这些任务的运行，可重复。",
                                 "Only runs of these task keys; repeatable."))] = None,
    keep_last: Annotated[int | None, typer.Option(
        "--keep-last", metavar="INTEGER",
        parser=_whole_number_option(minimum=0, example=10),
        help=help_text("每个任务无论新旧都保留最新的 N 次运行，N ≥ 0；默认 10。",
                       "Keep the newest N runs of every task whatever their age, N ≥ 0; "
                       "default 10 (TASKRUN_KEEP_LAST)."))] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", metavar="INTEGER",
        parser=_whole_number_option(minimum=1, example=2000),
        help=help_text("每个事务最多删除的运行数，至少 1；默认 2000。",
                       "Maximum runs deleted per transaction, at least 1; default 2000 "
                       "(TASKRUN_PURGE_BATCH_SIZE)."))] = None,
    wipe: Annotated[bool, typer.Option(
        "--all", help=help_text("删除全部运行和子项（需要确认）。",
                            "Delete every run and item (asks for confirmation)."))] = False,
    dry_run: DryRunOption = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=help_text("不询问，直接执行。",
                                                                "Do not ask for confirmation."))
                   ] = False,
    output: FormatOption = OutputFormat.TEXT,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Purge by retention, or wipe everything with --all; exit 1 when a batch fails.

    On Ctrl-C or SIGTERM, report what the committed batches deleted and exit 130 or 143.
    """
    from taskrun_center.maintenance.purge import (
        PurgeError,
        PurgeProgress,
        purge_runs,
        wipe_all_runs,
    )

    if wipe and (older_than or status or task_key or keep_last is not None):
        fail(tr(_ALL_WITH_FILTERS), EXIT_USAGE)
    _check_finished_statuses(status or [])
    older = older_than or timedelta(days=get_settings().retention_days)
    with sigterm_as_interrupt() as stop_signal, _database(database_url) as database:
        # The question comes before the progress bar, which would redraw over it.
        if wipe:
            _confirm_wipe(database, yes=yes or dry_run, stop_signal=stop_signal)
        else:
            _confirm_purge(older, keep_last, yes=yes or dry_run, stop_signal=stop_signal)
        try:
            with _progress(output, _PROGRESS_PURGE) as draw:
                def on_progress(progress: PurgeProgress) -> None:
                    if draw is not None:
                        draw(progress.runs, progress.planned_runs)

                if wipe:
                    result = wipe_all_runs(database, batch_size=batch_size, dry_run=dry_run,
                                           on_progress=on_progress)
                else:
                    result = purge_runs(database, older_than=older, statuses=status or (),
                                        task_keys=task_key or (), keep_last=keep_last,
                                        batch_size=batch_size, dry_run=dry_run,
                                        on_progress=on_progress)
        except ConfigurationError as error:
            fail(error_text(error), EXIT_USAGE)
        except PurgeError as error:
            _report_purge_failure(error, output)
        except MaintenanceInterrupted as interrupt:
            _show_purge(interrupt.result, output)
            raise typer.Exit(interrupt_exit_code(stop_signal)) from None

    _show_purge(result, output)


def _check_finished_statuses(statuses: list[str]) -> None:
    # purge_runs checks this too, but its ConfigurationError is worded in English only.
    finished = sorted(RUN_TERMINAL)
    for status in statuses:
        if status in finished:
            continue
        choices = [tr(_STATUS_CHOICE, value=member.value, label=status_label(member.value))
                   for member in finished]
        allowed = join_list(choices)
        fail(tr(_UNFINISHED_STATUS, status=escape_hidden(status), allowed=allowed), EXIT_USAGE)


def stdin_is_terminal() -> bool:
    """Return True when a person can answer a confirmation prompt on stdin."""
    return sys.stdin.isatty()


def _confirm_wipe(database: Database, *, yes: bool, stop_signal: dict[str, int]) -> None:
    if yes:
        return
    if not stdin_is_terminal():
        fail(tr(_WIPE_NEEDS_YES), EXIT_USAGE)
    with database.session() as session:
        from sqlalchemy import func, select

        from taskrun_center.storage.models import TaskRun

        runs = session.scalar(select(func.count()).select_from(TaskRun))
    if not confirm_or_cancel(_tr_counts(_CONFIRM_WIPE, runs=runs), tr(_ABORTED), stop_signal):
        fail(tr(_ABORTED), EXIT_FAILED)


def _confirm_purge(older_than: timedelta, keep_last: int | None, *, yes: bool,
                   stop_signal: dict[str, int]) -> None:
    # Scheduled purges run without a terminal and proceed; a person at a terminal confirms.
    if yes or not stdin_is_terminal():
        return
    from taskrun_center.storage.types import utcnow

    cutoff = (utcnow() - older_than).isoformat(timespec="seconds")
    kept = get_settings().keep_last if keep_last is None else keep_last
    if not confirm_or_cancel(tr(_CONFIRM_PURGE, cutoff=cutoff, keep_last=kept), tr(_ABORTED),
                             stop_signal):
        fail(tr(_ABORTED), EXIT_FAILED)


def _report_purge_failure(error: Any, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json({**error.result.to_dict(), "error": str(error), "failed_batch": error.batch})
        raise typer.Exit(EXIT_FAILED)
    fail(_tr_counts(_PURGE_FAILED, batch=error.batch, runs=error.result.runs,
                   items=error.result.items, seconds=error.result.duration_seconds,
                   error=error_text(error.__cause__ or error)), EXIT_FAILED)


def _show_purge(result: Any, output: OutputFormat) -> None:
    """Print a purge result as JSON or as a table with a summary line."""
    if output is OutputFormat.JSON:
        print_json(result.to_dict())
        return

    table = Table(tr(_TABLE_COLUMN), tr(_COUNT_COLUMN), highlight=False)
    table.add_row("task_runs", str(result.runs))
    table.add_row("task_run_items", str(result.items))
    print_table(table)
    if result.interrupted:
        if result.dry_run:
            template = _PURGE_DRY_INTERRUPTED
        elif result.batches:
            template = _PURGE_INTERRUPTED
        else:
            template = _PURGE_INTERRUPTED_BEFORE_BATCHES
    else:
        template = _PURGE_DRY if result.dry_run else _PURGED
    stdout.print(_tr_counts(template, runs=result.runs, items=result.items,
                           batches=result.batches, seconds=result.duration_seconds),
                 highlight=False)
    if result.kept_runs:
        stdout.print(_tr_counts(_KEPT, kept=result.kept_runs), highlight=False)


def audit(
    *,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", metavar="INTEGER",
        parser=_whole_number_option(minimum=1, maximum=10_000, example=500),
        help=help_text("每次读取的运行数，1 到 10,000。",
                       "Runs read per batch, 1 to 10,000."))] = 500,
    examples: Annotated[int, typer.Option(
        "--examples", metavar="INTEGER",
        parser=_whole_number_option(minimum=0, maximum=1000, example=20),
        help=help_text("每条规则列出的违规运行数上限，0 到 1,000。",
                       "Offending runs listed per rule, 0 to 1,000."))] = 20,
    output: FormatOption = OutputFormat.TEXT,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Audit every stored run; exit 1 when anything violates the contract.

    On Ctrl-C or SIGTERM, report the rows checked so far and exit 130 or 143.
    """
    from taskrun_center.maintenance.audit import AuditProgress, audit_runs
    from taskrun_center.runners.loading import load_configured_tasks

    try:
        load_configured_tasks()
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)
    try:
        with sigterm_as_interrupt() as stop_signal, _database(database_url) as database, \
                _progress(output, _PROGRESS_AUDIT) as draw:
            def on_progress(progress: AuditProgress) -> None:
                if draw is not None:
                    draw(progress.checked, progress.planned)

            result = audit_runs(database, batch_size=batch_size, examples_per_rule=examples,
                                on_progress=on_progress)
    except MaintenanceInterrupted as interrupt:
        _show_audit(interrupt.result, output)
        raise typer.Exit(interrupt_exit_code(stop_signal)) from None

    _show_audit(result, output)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _show_audit(result: Any, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(result.to_dict())
        return

    if result.interrupted:
        stdout.print(tr(_AUDIT_INTERRUPTED), highlight=False)
    stdout.print(_tr_counts(_AUDIT_SUMMARY, runs=result.scanned, items=result.items_scanned,
                           seconds=result.duration_seconds), highlight=False)
    if result.unregistered:
        keys = ", ".join(escape_hidden(key) for key in sorted(result.unregistered))
        stdout.print(tr(_UNREGISTERED, keys=keys), highlight=False, markup=False)
    _print_audit_warnings(result)
    if result.ok:
        stdout.print(tr(_AUDIT_CLEAN_SO_FAR if result.interrupted else _AUDIT_CLEAN),
                     highlight=False)
        return

    stdout.print(_tr_counts(_AUDIT_FOUND, total=sum(result.counts.values())), highlight=False)
    table = Table(tr(_RULE_COLUMN), tr(_COUNT_COLUMN), tr(_MEANING_COLUMN), tr(_EXAMPLES_COLUMN),
                  highlight=False)
    for rule, count in sorted(result.counts.items()):
        # NOTE: a path quotes keys that are not plain names with json.dumps, which escapes
        # control characters but passes format characters such as U+202E through. Escaping the
        # path again here would double the backslashes of the control-character escapes.
        examples = [f"{escape_hidden(finding.run_id)} ({finding.path})"
                    for finding in result.violations if finding.rule == rule][:3]
        table.add_row(rule, str(count), _rule_meaning(rule), RichText("\n".join(examples)))
    print_table(table)


def _print_audit_warnings(result: Any) -> None:
    """Print one line per warning rule: its count, meaning and first three run IDs."""
    for rule, count in sorted(result.warnings.items()):
        run_ids = [escape_hidden(finding.run_id) for finding in result.warning_findings
                   if finding.rule == rule][:3]
        stdout.print(tr(_AUDIT_WARNING, rule=rule, count=count, meaning=_rule_meaning(rule),
                        examples=", ".join(run_ids)), highlight=False, markup=False)


def _rule_meaning(rule: str) -> str:
    from taskrun_center.contract import RULES

    english = cli_language() == "en"
    info = RULES.get(rule)
    if info is not None:
        return info.meaning_en if english else info.meaning_zh
    own = _ROW_RULES.get(rule)
    return "" if own is None else tr(own)


# Meanings of the audit's own rules; the contract's rules carry theirs in contract.RULES.
_ROW_RULES = {
    "row.is_skipped_mismatch": Text("is_skipped 与摘要中的 flags.skipped 不一致",
                                    "is_skipped differs from flags.skipped in the summary"),
    "row.duration_mismatch": Text("duration_ms 与开始、结束时间不一致",
                                  "duration_ms differs from completed_at - started_at"),
    "item.metrics_bytes": Text("子项 metrics_json 超过大小上限",
                               "an item's metrics_json exceeds its size limit"),
    "item.details_bytes": Text("子项 details_json 超过大小上限",
                               "an item's details_json exceeds its size limit"),
    "item.error_chars": Text("子项 error_message 超过长度上限",
                             "an item's error_message exceeds its length limit"),
    "row.json_invalid": Text("存储的 JSON 文本无法解析（可能被手工改过）",
                             "the stored JSON text does not decode (possibly edited by hand)"),
    "row.timestamp_invalid": Text("存储的时间文本不是有效的日期时间（可能被手工改过），"
                                  "读取时视为空",
                                  "the stored timestamp text is not a date and time (possibly "
                                  "edited by hand); it reads as empty"),
    "row.timestamp_not_stored_form": Text(
        "时间文本能读出，但不是存储格式，筛选和排序会出错；"
        "请改写为 YYYY-MM-DD HH:MM:SS.ffffff（UTC）",
        "the timestamp text reads, but not in the stored form, so filters and sorts misplace it; "
        "rewrite it as YYYY-MM-DD HH:MM:SS.ffffff (UTC)"),
    "row.status_invalid": Text("运行状态不是已知取值", "the run status is not a known value"),
    "row.trigger_source_invalid": Text("触发方式不是已知取值",
                                       "the trigger source is not a known value"),
    "row.progress_invalid": Text("进度计数为负数、不是整数，或完成数加失败数超过总数",
                                 "a progress counter is negative or not an integer, or "
                                 "completed + failed exceeds the total"),
    "item.status_invalid": Text("子项状态不是已知取值", "the item status is not a known value"),
}


def reap(
    *,
    timeout: Annotated[timedelta | None, typer.Option(
        "--timeout", metavar="DURATION",
        parser=_duration_option("--timeout", minimum=MIN_REAP_TIMEOUT,
                                variable="TASKRUN_REAP_TIMEOUT_SECONDS"),
        help=help_text(f"运行中的运行超过此时长没有心跳即回收，如 10m，"
                   f"至少 {format_duration(MIN_REAP_TIMEOUT)}；默认 TASKRUN_REAP_TIMEOUT_SECONDS。",
                   f"Reap a running run silent for longer than this, e.g. 10m, at least "
                   f"{format_duration(MIN_REAP_TIMEOUT)}; default TASKRUN_REAP_TIMEOUT_SECONDS "
                   "(600 s)."))] = None,
    pending_timeout: Annotated[timedelta | None, typer.Option(
        "--pending-timeout", metavar="DURATION",
        parser=_duration_option("--pending-timeout", minimum=MIN_PENDING_TIMEOUT,
                                variable="TASKRUN_PENDING_TIMEOUT_SECONDS"),
        help=help_text(f"排队中的运行超过此时长未被领取即回收，"
                   f"至少 {format_duration(MIN_PENDING_TIMEOUT)}；"
                   "默认 TASKRUN_PENDING_TIMEOUT_SECONDS。",
                   f"Reap a pending run not picked up within this, e.g. 1h, at least "
                   f"{format_duration(MIN_PENDING_TIMEOUT)}; default "
                   "TASKRUN_PENDING_TIMEOUT_SECONDS (3600 s)."))] = None,
    dry_run: DryRunOption = False,
    output: FormatOption = OutputFormat.TEXT,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Fail abandoned runs and print how many; exit 1 when some could not be reaped.

    On Ctrl-C or SIGTERM, report the runs marked failed until then and exit 130 or 143.
    """
    from taskrun_center.maintenance.reaper import reap_runs

    try:
        with sigterm_as_interrupt() as stop_signal, _database(database_url) as database:
            result = reap_runs(database, timeout=timeout, pending_timeout=pending_timeout,
                               dry_run=dry_run)
    except MaintenanceInterrupted as interrupt:
        _show_reap(interrupt.result, output)
        raise typer.Exit(interrupt_exit_code(stop_signal)) from None

    _show_reap(result, output)
    if result.errors:
        raise typer.Exit(EXIT_FAILED)


def _show_reap(result: Any, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        print_json(result.to_dict())
        return

    template = _REAP_DRY if result.dry_run else _REAPED
    stdout.print(_tr_counts(template, running=result.running, pending=result.pending),
                 highlight=False)
    for run_id in result.run_ids:
        stdout.print(f"  {escape_hidden(run_id)}", highlight=False, markup=False)
    if result.interrupted:
        stdout.print(tr(_REAP_DRY_INTERRUPTED if result.dry_run else _REAP_INTERRUPTED),
                     highlight=False)
    if result.errors:
        stderr.print(_tr_counts(_REAP_ERRORS, errors=result.errors), highlight=False)


@contextmanager
def _database(database_url: str | None) -> Iterator[Database]:
    """Yield the database of ``--database-url``; exit 1 on a database error."""
    from taskrun_center.storage.errors import translate_errors

    database = Database(resolve_database_url(database_url))
    try:
        with translate_errors("maintenance"):
            yield database
    except StorageError as error:
        fail(error_text(error), EXIT_FAILED)
    finally:
        database.dispose()


@contextmanager
def _progress(output: OutputFormat, label: Text) -> Iterator[Callable[[int, int], None] | None]:
    """Yield ``draw(done, planned)`` that updates a bar on stderr, or None without a terminal."""
    if output is OutputFormat.JSON or not stderr.is_terminal:
        yield None
        return

    columns = (TextColumn(tr(label)), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(tr(label), total=None)

        def draw(done: int, planned: int) -> None:
            bar.update(task, completed=done, total=max(planned, done))

        yield draw
