"""``taskrun summary validate|schema|limits|rules``: check summaries from the command line.

``validate`` exits 0 for a valid summary, 1 for an invalid one, and 2 for a usage error. Text
that is not acceptable JSON is a usage error and is never checked as a summary. That covers an
unreadable file, over 1 MiB, not UTF-8, not JSON, NaN or Infinity, a key repeated in one object
and nesting deeper than 64 levels. With ``--format json`` it prints
``{"valid", "task_key", "size_bytes", "violations": [{"path", "rule", "message"}], "warnings"}``.
Violations name the JSON path and rule, never the offending value.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    FormatOption,
    OutputFormat,
    TaskModuleOption,
    cli_language,
    error_text,
    fail,
    help_text,
    print_json,
    tr,
)
from taskrun_center.errors import ConfigurationError
from taskrun_center.i18n import Text

TaskKeyOption = Annotated[
    str | None,
    typer.Option(
        "--task-key",
        help=help_text(
            "运行的任务键；给出时 ext.type 必须与之相同，已注册的任务类型还会校验其 ext.data。",
            "The run's task key; when given, ext.type must equal it, and a registered type's "
            "ext.data is checked against its model.",
        ),
        show_default=False,
    ),
]
FileArgument = Annotated[
    str,
    typer.Argument(
        metavar="FILE|-",
        help=help_text("摘要 JSON 文件；- 或省略表示标准输入。",
                   "Summary JSON file; - or nothing reads standard input."),
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``taskrun summary`` group to ``app``."""
    group = typer.Typer(help=tr(_GROUP_HELP), no_args_is_help=True)
    group.command("validate", help=tr(_VALIDATE_HELP))(validate)
    group.command("schema", help=tr(_SCHEMA_HELP))(schema)
    group.command("limits", help=tr(_LIMITS_HELP))(limits)
    group.command("rules", help=tr(_RULES_HELP))(rules)
    app.add_typer(group, name="summary")


def validate(
    file: FileArgument = "-",
    task_key: TaskKeyOption = None,
    task_module: TaskModuleOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Check one summary; exit 0 when valid, 1 when invalid, 2 on a usage error."""
    from taskrun_center.cli.json_messages import json_error_text
    from taskrun_center.contract import (
        JsonTextError,
        SummaryValidationError,
        check_summary,
        parse_json_text,
    )

    _load_task_types(task_module)
    try:
        data = parse_json_text(_read_input(file))
    except JsonTextError as error:
        fail(json_error_text(error, file, cli_language()), EXIT_USAGE)

    try:
        checked = check_summary(data, task_key=task_key)
    except SummaryValidationError as error:
        _report_invalid(error, task_key, output_format)
        raise typer.Exit(EXIT_FAILED) from None
    _report_valid(checked.size_bytes, checked.warnings, task_key, output_format)


def schema(task_key: TaskKeyOption = None, task_module: TaskModuleOption = None) -> None:
    """Print the JSON Schema of the envelope, with a registered type's ext.data schema."""
    from taskrun_center.contract import envelope_json_schema

    _load_task_types(task_module)
    print_json(envelope_json_schema(task_key))


def limits(output_format: FormatOption = OutputFormat.TEXT) -> None:
    """Print the capacity limits in force (defaults, or TASKRUN_SUMMARY_LIMITS__* settings)."""
    from taskrun_center.config import SummaryLimits, get_settings

    values = get_settings().summary_limits.model_dump()
    if output_format == OutputFormat.JSON:
        print_json({"summary_limits": values})
        return
    english = cli_language() == "en"
    for name, value in values.items():
        description = SummaryLimits.model_fields[name].description or ""
        label = description if english else _LIMIT_LABELS_ZH.get(name, description)
        env = f"TASKRUN_SUMMARY_LIMITS__{name.upper()}"
        typer.echo(f"{name:<20} {value:>7}  {label}  ({env})")


def rules(output_format: FormatOption = OutputFormat.TEXT) -> None:
    """Print every rule code with its meaning."""
    from taskrun_center.contract import RULES

    english = cli_language() == "en"
    if output_format == OutputFormat.JSON:
        print_json({"rules": [
            {"rule": info.code, "meaning": info.meaning_en if english else info.meaning_zh}
            for info in RULES.values()
        ]})
        return
    for info in RULES.values():
        typer.echo(f"{info.code:<36} {info.meaning_en if english else info.meaning_zh}")


def _load_task_types(task_modules: list[str] | None) -> None:
    from taskrun_center.runners.loading import load_configured_tasks

    try:
        load_configured_tasks(task_modules or ())
    except ConfigurationError as error:
        fail(error_text(error), EXIT_USAGE)


def _read_input(file: str) -> bytes:
    """Return the bytes of ``file`` (or stdin), reading at most one byte past the limit."""
    from taskrun_center.contract.json_text import DEFAULT_MAX_BYTES

    if file == "-":
        return sys.stdin.buffer.read(DEFAULT_MAX_BYTES + 1)

    path = Path(file)
    try:
        size = os.stat(path).st_size
        if size > DEFAULT_MAX_BYTES:
            fail(tr(_FILE_TOO_LARGE, file=file, size=size, limit=DEFAULT_MAX_BYTES), EXIT_USAGE)
        with path.open("rb") as handle:
            return handle.read(DEFAULT_MAX_BYTES + 1)
    except OSError as error:
        fail(_unreadable_text(error, path), EXIT_USAGE)


def _unreadable_text(error: OSError, path: Path) -> str:
    """Return why ``path`` cannot be read, in the CLI language (the OS message is English)."""
    absolute_path = path.absolute()
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        return tr(_FILE_NOT_FOUND, file=absolute_path)
    if isinstance(error, PermissionError):
        return tr(_FILE_NOT_READABLE, file=absolute_path)
    if isinstance(error, IsADirectoryError):
        return tr(_FILE_IS_DIRECTORY, file=absolute_path)
    # The symbolic errno name, such as EIO, reads the same in both languages.
    code = errno.errorcode.get(error.errno or 0, type(error).__name__)
    return tr(_UNREADABLE, file=absolute_path, code=code)


def _report_invalid(error: Any, task_key: str | None, output_format: OutputFormat) -> None:
    language = cli_language()
    if output_format == OutputFormat.JSON:
        print_json({
            "valid": False,
            "task_key": task_key,
            "size_bytes": None,
            "violations": [violation.to_dict(language) for violation in error.violations],
            "omitted": error.omitted,
            "warnings": [],
        })
        return
    typer.echo(tr(_INVALID, count=len(error.violations) + error.omitted))
    for violation in error.violations:
        typer.echo(f"  {violation.path}  [{violation.rule}]  {violation.message(language)}")
    if error.omitted:
        typer.echo(tr(_OMITTED, count=error.omitted))


def _report_valid(
    size: int, warnings: list[Any], task_key: str | None, output_format: OutputFormat
) -> None:
    language = cli_language()
    if output_format == OutputFormat.JSON:
        print_json({
            "valid": True,
            "task_key": task_key,
            "size_bytes": size,
            "violations": [],
            "omitted": 0,
            "warnings": [warning.to_dict(language) for warning in warnings],
        })
        return
    typer.echo(tr(_VALID, size=size))
    for warning in warnings:
        typer.echo(f"  {warning.path}  [{warning.rule}]  {warning.message(language)}")


_GROUP_HELP = Text(
    "校验运行摘要，查看摘要的 JSON Schema、容量上限和规则代码。",
    "Check run summaries; show the envelope's JSON Schema, capacity limits and rule codes.",
)
_VALIDATE_HELP = Text(
    "校验一个摘要 JSON：有效退出码 0，无效 1（列出全部问题），"
    "用法错误 2（文件无法读取、超过 1 MiB、不是 UTF-8 或 JSON、含 NaN/Infinity、"
    "同一对象中键重复、嵌套超过 64 层）。",
    "Check one summary JSON: exit 0 when valid, 1 when invalid (every violation listed), "
    "2 on a usage error (unreadable file, over 1 MiB, not UTF-8 or JSON, NaN or Infinity, a key "
    "repeated in one object, nesting deeper than 64 levels).",
)
_SCHEMA_HELP = Text(
    "输出摘要结构的 JSON Schema；给出已注册的任务键时包含其 ext.data 的结构。",
    "Print the JSON Schema of the envelope; with a registered task key, including its ext.data.",
)
_LIMITS_HELP = Text("输出当前生效的摘要容量上限。", "Print the summary capacity limits in force.")
_RULES_HELP = Text("列出全部规则代码及含义。", "List every rule code and its meaning.")
_VALID = Text("摘要有效（{size} 字节）。", "The summary is valid ({size} bytes).")
_INVALID = Text("摘要无效，共 {count} 处问题：", "The summary is invalid, {count} violation(s):")
_OMITTED = Text("  另有 {count} 处问题未列出。", "  {count} more not listed.")
_FILE_NOT_FOUND = Text("文件 {file} 不存在。", "The file {file} was not found.")
_FILE_NOT_READABLE = Text("文件 {file} 不可读：没有读取权限。",
                          "The file {file} is not readable: permission denied.")
_FILE_IS_DIRECTORY = Text("{file} 是一个目录，不是文件。", "{file} is a directory, not a file.")
_UNREADABLE = Text("无法读取文件 {file}（操作系统错误 {code}）。",
                   "Cannot read the file {file} (operating system error {code}).")
_FILE_TOO_LARGE = Text(
    "文件 {file} 有 {size} 字节，超过可读取的上限 {limit} 字节；摘要本身不应超过十几 KiB。",
    "The file {file} is {size} bytes, over the readable limit of {limit} bytes; a summary "
    "itself should be a few KiB.",
)
_LIMIT_LABELS_ZH = {
    "max_bytes": "序列化后（紧凑 UTF-8 JSON）的字节上限，超过即拒绝",
    "warn_bytes": "告警阈值（字节），超过仍接受但记录日志并计入审计",
    "max_array_items": "任意数组的元素上限",
    "max_highlights": "common.highlights 的条数上限",
    "max_highlight_chars": "单条 highlight 的字符上限",
    "max_object_keys": "任意对象的键数上限",
    "max_depth": "inputs、scope.target、ext.data 内的嵌套层数上限",
    "max_string_chars": "任意字符串（含键名）的字符上限",
}
