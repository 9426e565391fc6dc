"""``taskrun runs list|show``: read recorded runs from the terminal or a script.

``--format json`` prints ``{"items": [...], "total": N, "total_exact", "page", "pages", "limit",
"next_cursor"}`` for a list and ``{"run": {...}, "items": [...], "items_total": N, ...}`` for one
run, with the column names of the tables. Timestamps are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text as RichText
from sqlalchemy import Connection

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DatabaseUrlOption,
    FormatOption,
    OutputFormat,
    cli_language,
    error_text,
    escape_hidden,
    escape_hidden_lines,
    fail,
    help_text,
    print_json,
    resolve_database_url,
    stdout,
    tr,
)
from taskrun_center.errors import InvalidQueryError, RunNotFoundError, StorageError
from taskrun_center.i18n import Text
from taskrun_center.states import ItemStatus, RunStatus, TriggerSource

_HELP = Text("查看已记录的运行。", "Read recorded runs.")
_LIST_HELP = Text("按条件列出运行，最新的在前。", "List runs matching filters, newest first.")
_SHOW_HELP = Text("显示一次运行及其子项。", "Show one run and its items.")

_PAGE_FOOTER = Text(
    "第 {page}/{pages} 页，共 {total} 次运行。",
    "Page {page} of {pages}, {total} runs in total.",
)
# The count stops at the cap, so the number of pages is unknown and the footer names none.
_PAGE_FOOTER_MORE = Text(
    "第 {page} 页，共 {total}+ 条运行（加 --exact-total 可得精确总数）。",
    "Page {page}, {total}+ runs (add --exact-total for the exact count).",
)
# A cursor belongs to its page size, so the hint repeats --limit.
_NEXT_PAGE = Text("下一页：--limit {limit} --cursor {cursor}",
                  "Next page: --limit {limit} --cursor {cursor}")
_NO_RUNS = Text("没有符合条件的运行。", "No runs match the filters.")
_PAST_END = Text(
    "第 {page} 页已超出列表末尾：共 {total} 次运行，{pages} 页。",
    "Page {page} is past the end of the list: {total} runs on {pages} pages.",
)
_PAST_END_MORE = Text(
    "第 {page} 页已超出列表末尾：共 {total}+ 次运行（加 --exact-total 可得精确总数和页数）。",
    "Page {page} is past the end of the list: {total}+ runs (add --exact-total for the exact "
    "count and number of pages).",
)
_ITEMS_FOOTER = Text(
    "子项第 {page}/{pages} 页，共 {total} 个。", "Items page {page} of {pages}, {total} in total."
)
RUN_NOT_FOUND = Text(
    "找不到运行 {run_id}；用 taskrun runs list 查看已有的运行。",
    "Run {run_id} not found; list existing runs with taskrun runs list.",
)
_INVALID_OPTION = Text("选项 {option} 无效：{reason}", "Invalid {option}: {reason}")
_PAGE_WITH_CURSOR = Text("--page 与 --cursor 只能传其一；--cursor 已指向下一页",
                         "pass either --page or --cursor, not both; --cursor already names the "
                         "next page")
# The read service names the parameter as the API does; the CLI user typed these options.
_LIST_OPTIONS = {
    "task_key": "--task-key", "task_category": "--category", "trigger_source": "--trigger",
    "status": "--status", "skipped": "--skipped", "started_from": "--from",
    "started_to": "--to", "search": "--search", "sort": "--sort", "order": "--order",
    "page": "--page", "limit": "--limit", "cursor": "--cursor",
}
_SHOW_OPTIONS = {"status": "--item-status", "page": "--item-page", "limit": "--item-limit"}
_COLUMNS = {
    "run_id": Text("运行 ID", "Run ID"),
    "task_key": Text("任务", "Task"),
    "status": Text("状态", "Status"),
    "trigger_source": Text("触发方式", "Trigger"),
    "started_at": Text("开始时间 (UTC)", "Started (UTC)"),
    "duration": Text("耗时", "Duration"),
    "progress": Text("进度 完成/失败/总数", "Progress done/failed/total"),
    "skipped": Text("跳过", "Skipped"),
}
_ITEM_COLUMNS = {
    "item": Text("子项", "Item"),
    "status": Text("状态", "Status"),
    "error_message": Text("错误信息", "Error message"),
}
_YES = Text("是", "yes")


def register(app: typer.Typer) -> None:
    """Add the ``runs`` command group to ``app``."""
    language = cli_language()
    group = typer.Typer(help=_HELP.render(language), no_args_is_help=True)
    group.command("list", help=_LIST_HELP.render(language))(list_runs)
    group.command("show", help=_SHOW_HELP.render(language))(show_run)
    app.add_typer(group, name="runs")


def list_runs(
    *,
    task_key: Annotated[list[str] | None, typer.Option(
        "--task-key", help=help_text("任务键，可重复或用逗号分隔。",
                                 "Task key; repeat or separate with commas."))] = None,
    category: Annotated[list[str] | None, typer.Option(
        "--category", help=help_text("任务分类，可重复。", "Task category; repeatable."))] = None,
    trigger: Annotated[list[str] | None, typer.Option(
        "--trigger", help=help_text("触发方式：scheduled、manual、api、cli、celery，可重复。",
                                "Trigger source: scheduled, manual, api, cli, celery; "
                                "repeatable."))] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", help=help_text("运行状态，可重复。", "Run status; repeatable."))] = None,
    skipped: Annotated[bool | None, typer.Option(
        "--skipped/--not-skipped", help=help_text("只看跳过的或未跳过的运行。",
                                              "Only skipped runs, or only runs not skipped."),
        show_default=False)] = None,
    started_from: Annotated[str | None, typer.Option(
        "--from", help=help_text("开始时间下限（含），ISO 8601，如 2026-12-06 或 "
                             "2026-12-06T08:00:00Z；不带时区按 UTC。",
                             "Earliest start (inclusive), ISO 8601 such as 2026-12-06 or "
                             "2026-12-06T08:00:00Z; UTC when no zone is given."))] = None,
    started_to: Annotated[str | None, typer.Option(
        "--to", help=help_text("开始时间上限（不含），ISO 8601；不带时区按 UTC。",
                           "Latest start (exclusive), ISO 8601; UTC when no zone is given."
                           ))] = None,
    search: Annotated[str | None, typer.Option(
        "--search", help=help_text("在运行 ID 和任务名称中查找的文字。",
                               "Text to find in the run ID or task name."))] = None,
    sort: Annotated[str, typer.Option(
        "--sort", help=help_text("排序字段：started_at、completed_at、duration、status、task_key。",
                             "Sort field: started_at, completed_at, duration, status, task_key."
                             ))] = "started_at",
    order: Annotated[str, typer.Option("--order", help=help_text("asc 或 desc。", "asc or desc."))
                     ] = "desc",
    page: Annotated[int, typer.Option("--page", help=help_text(
        "页码，1 到 1,000,000；更深的页用 --cursor。",
        "Page number, 1 to 1,000,000; use --cursor for deeper pages."))] = 1,
    limit: Annotated[int, typer.Option("--limit", help=help_text("每页条数，1 到 100。",
                                                             "Runs per page, 1 to 100."))] = 20,
    cursor: Annotated[str | None, typer.Option(
        "--cursor", help=help_text("上一页输出的游标，用于快速翻到很深的页。",
                               "Cursor printed with the previous page, for fast deep paging."
                               ))] = None,
    exact_total: Annotated[bool, typer.Option(
        "--exact-total", help=help_text("精确统计总数（超过 1,000 次运行时较慢）。",
                                    "Count the total exactly (slower beyond 1,000 runs)."
                                    ))] = False,
    output: FormatOption = OutputFormat.TEXT,
    database_url: DatabaseUrlOption = None,
) -> None:
    """List runs; exit 2 on an invalid filter or paging option."""
    from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService
    from taskrun_center.lifecycle.serialize import run_to_dict

    if cursor and page != 1:
        fail(tr(_PAGE_WITH_CURSOR), EXIT_USAGE)
    filters = {"task_key": task_key, "task_category": category, "trigger_source": trigger,
               "status": status, "skipped": skipped, "started_from": started_from,
               "started_to": started_to, "search": search}
    with _reading(database_url) as connection:
        try:
            run_filter = RunFilter.from_params(**filters)
            result = TaskRunsReadService(connection).list_runs(
                run_filter, sort=sort, order=order, page=page, limit=limit, cursor=cursor,
                exact_total=exact_total,
            )
        except InvalidQueryError as error:
            fail(_invalid_option(error, _LIST_OPTIONS), EXIT_USAGE)
        payload = {
            "items": [run_to_dict(run) for run in result.items],
            "total": result.total, "total_exact": result.total_exact, "page": result.page,
            "pages": result.pages, "limit": result.limit, "next_cursor": result.next_cursor,
        }

    if output is OutputFormat.JSON:
        print_json(payload)
        return
    _print_run_table(payload)


def show_run(
    run_id: Annotated[str, typer.Argument(help=help_text("运行 ID。", "Run ID."))],
    *,
    item_status: Annotated[list[str] | None, typer.Option(
        "--item-status", help=help_text("只显示这些状态的子项，可重复。",
                                    "Only items in these statuses; repeatable."))] = None,
    item_page: Annotated[int, typer.Option("--item-page", help=help_text(
        "子项页码，1 到 1,000,000。", "Items page, 1 to 1,000,000."))] = 1,
    item_limit: Annotated[int, typer.Option(
        "--item-limit",
        help=help_text("每页子项数，1 到 100。", "Items per page, 1 to 100."))] = 50,
    output: FormatOption = OutputFormat.TEXT,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Show one run with a page of its items; exit 1 when the run does not exist."""
    from taskrun_center.lifecycle.read_service import TaskRunsReadService
    from taskrun_center.lifecycle.serialize import item_to_dict, run_to_dict

    with _reading(database_url) as connection:
        service = TaskRunsReadService(connection)
        try:
            run = service.get_run(run_id)
            items = service.list_items(run_id, status=item_status, page=item_page,
                                       limit=item_limit)
        except RunNotFoundError:
            from taskrun_center.quoting import quote_identifier

            fail(tr(RUN_NOT_FOUND, run_id=quote_identifier(run_id)), EXIT_FAILED)
        except InvalidQueryError as error:
            fail(_invalid_option(error, _SHOW_OPTIONS), EXIT_USAGE)
        payload = {
            "run": run_to_dict(run),
            "items": [item_to_dict(item) for item in items.items],
            "items_total": items.total, "items_page": items.page, "items_pages": items.pages,
            "items_limit": items.limit,
        }

    if output is OutputFormat.JSON:
        print_json(payload)
        return
    _print_run_detail(payload)


@contextmanager
def _reading(database_url: str | None) -> Iterator[Connection]:
    """Yield a read connection to the database of ``--database-url``; exit 1 on a database error."""
    from taskrun_center.storage.engine import Database

    database = Database(resolve_database_url(database_url))
    try:
        with database.read_connection("reading runs") as connection:
            yield connection
    except StorageError as error:
        fail(error_text(error), EXIT_FAILED)
    finally:
        database.dispose()


def _invalid_option(error: InvalidQueryError, options: dict[str, str]) -> str:
    option = options.get(error.parameter, error.parameter)
    return tr(_INVALID_OPTION, option=option, reason=error.render_reason(cli_language()))


def status_label(status: str) -> str:
    """Return the run status in the CLI language, or the raw value when it is unknown."""
    return _label(RunStatus, status)


def item_status_label(status: str) -> str:
    """Return the item status in the CLI language, or the raw value when it is unknown."""
    return _label(ItemStatus, status)


def trigger_label(trigger: str) -> str:
    """Return the trigger source in the CLI language, or the raw value when it is unknown."""
    return _label(TriggerSource, trigger)


def _label(vocabulary: type[RunStatus | ItemStatus | TriggerSource], value: str) -> str:
    try:
        member = vocabulary(value)
    except ValueError:
        return value
    return member.label_en if cli_language() == "en" else member.label_zh


def format_milliseconds(duration_ms: int | None) -> str:
    """Return a duration such as ``850 ms``, ``12.3 s`` or ``1 h 02 min``; empty for None."""
    if duration_ms is None:
        return ""
    if not isinstance(duration_ms, int | float) or isinstance(duration_ms, bool):
        # Text written by hand into SQLite's INTEGER column; shown as stored.
        return str(duration_ms)
    if duration_ms < 1000:
        return f"{duration_ms} ms"
    seconds = duration_ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {second:02d} s"
    hours, minute = divmod(minutes, 60)
    return f"{hours} h {minute:02d} min"


def print_table(table: Table) -> None:
    """Print ``table`` to stdout, 200 columns wide when stdout is not a terminal.

    Rich assumes 80 columns for a pipe or a file, which would cut run IDs.
    """
    console = stdout if stdout.is_terminal else Console(width=200, soft_wrap=True)
    console.print(table)


def _short_time(value: str | None) -> str:
    return value.replace("T", " ")[:19] if value else ""


def _cell(value: str) -> RichText:
    """Return stored text as a table cell: hidden characters escaped and no rich markup read."""
    return RichText(escape_hidden(value))


def _print_run_table(payload: dict[str, Any]) -> None:
    if not payload["items"]:
        _print_empty_page(payload)
        return
    table = Table(*(tr(text) for text in _COLUMNS.values()), highlight=False)
    for run in payload["items"]:
        table.add_row(
            _cell(run["run_id"]), _cell(run["task_key"]), _cell(status_label(run["status"])),
            _cell(trigger_label(run["trigger_source"])), _short_time(run["started_at"]),
            _cell(format_milliseconds(run["duration_ms"])),
            _cell(f"{run['progress_completed']}/{run['progress_failed']}/{run['progress_total']}"),
            tr(_YES) if run["is_skipped"] else "",
        )
    print_table(table)
    footer = _PAGE_FOOTER if payload["total_exact"] else _PAGE_FOOTER_MORE
    stdout.print(tr(footer, page=f"{payload['page']:,}", pages=f"{payload['pages']:,}",
                    total=f"{payload['total']:,}"), highlight=False)
    if payload["next_cursor"]:
        stdout.print(tr(_NEXT_PAGE, limit=payload["limit"], cursor=payload["next_cursor"]),
                     highlight=False)


def _print_empty_page(payload: dict[str, Any]) -> None:
    """Say that nothing matches, or that the page is past the end when runs do match."""
    if not payload["total"]:
        stdout.print(tr(_NO_RUNS), highlight=False)
        return
    template = _PAST_END if payload["total_exact"] else _PAST_END_MORE
    stdout.print(tr(template, page=f"{payload['page']:,}", pages=f"{payload['pages']:,}",
                    total=f"{payload['total']:,}"), highlight=False)


_DETAIL_FIELDS = (
    "run_id", "task_key", "task_name", "task_category", "trigger_source", "status",
    "started_at", "completed_at", "heartbeat_at", "duration_ms", "created_by",
    "progress_total", "progress_completed", "progress_failed", "is_skipped", "result_url",
    "error_message",
)


def _print_run_detail(payload: dict[str, Any]) -> None:
    run = payload["run"]
    detail = Table(show_header=False, box=None, highlight=False)
    for name in _DETAIL_FIELDS:
        value = run[name]
        if name == "status":
            value = f"{status_label(value)} ({value})"
        elif name == "duration_ms":
            value = format_milliseconds(value)
        stored = "" if value is None else str(value)
        escaped = escape_hidden_lines(stored) if name == "error_message" else escape_hidden(stored)
        detail.add_row(name, RichText(escaped))
    print_table(detail)

    if payload["items"]:
        items = Table(*(tr(text) for text in _ITEM_COLUMNS.values()), highlight=False)
        for item in payload["items"]:
            items.add_row(_cell(f"{item['item_type']}/{item['item_key']}"),
                          _cell(f"{item_status_label(item['status'])} ({item['status']})"),
                          RichText(escape_hidden_lines(item["error_message"] or "")))
        print_table(items)
    stdout.print(tr(_ITEMS_FOOTER, page=f"{payload['items_page']:,}",
                    pages=f"{payload['items_pages']:,}", total=f"{payload['items_total']:,}"),
                 highlight=False)
