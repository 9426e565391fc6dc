"""Helpers every command shares: language, database URL option, output and exit codes."""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from taskrun_center.cli.entry import command_line_language
from taskrun_center.i18n import Language, Text

# Exit codes: 0 success, 1 the checked thing is bad (invalid summary, audit findings, failed
# batch) or the database failed (a missing schema included), 2 usage error (bad option,
# unreadable file, text that is not JSON, an invalid TASKRUN_* setting).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def cli_language() -> Language:
    """Return the language of CLI messages: ``--lang`` on the command line, else TASKRUN_LANGUAGE.

    Help text is built when the commands are declared, before Typer parses options, so the
    command line is scanned directly (``entry.command_line_language``).
    """
    return command_line_language()


def tr(text: Text, **params: object) -> str:
    """Render a bilingual message in the CLI language."""
    return text.render(cli_language(), **params)


DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="TASKRUN_DATABASE_URL",
        help=Text(
            "数据库 URL（SQLAlchemy 格式），也可用环境变量 TASKRUN_DATABASE_URL 设置；"
            "默认使用当前目录下的 SQLite 文件 taskrun.db。",
            "Database URL (SQLAlchemy form), also set by the environment variable "
            "TASKRUN_DATABASE_URL; default: the SQLite file taskrun.db in the current folder.",
        ).render(cli_language()),
        # The help names the variable: Typer's own "[env var: …]" line is English and is
        # cut, not wrapped, in a narrow column.
        show_envvar=False,
        show_default=False,
    ),
]


def resolve_database_url(database_url: str | None, *, create_sqlite_file: bool = False) -> str:
    """Return the URL given on the command line, else the configured default.

    Opening a SQLite file that does not exist would create an empty one, so every command
    except ``db upgrade`` and ``up`` (which pass ``create_sqlite_file=True``) exits 1 instead,
    naming the path and ``taskrun db upgrade``.

    Raises:
        InvalidSettingsError: the URL names a database other than SQLite or PostgreSQL, or a
            driver that is not installed.
    """
    if database_url:
        from taskrun_center.config_errors import InvalidSettingsError, check_database_url

        problem = check_database_url(database_url, "--database-url / TASKRUN_DATABASE_URL")
        if problem is not None:
            raise InvalidSettingsError([problem])
        url = database_url
    else:
        from taskrun_center.config import get_settings

        url = get_settings().database_url
    if not create_sqlite_file:
        _require_sqlite_file(url)
    return url


SQLITE_FILE_MISSING = Text(
    "SQLite 数据库文件 {path} 不存在。请检查 --database-url / TASKRUN_DATABASE_URL，"
    "或运行 taskrun db upgrade 创建它。",
    "The SQLite database file {path} does not exist. Check --database-url / "
    "TASKRUN_DATABASE_URL, or run taskrun db upgrade to create it.",
)


def _require_sqlite_file(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database
    # An in-memory database and SQLite's own "file:" URI form are left to the driver.
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return
    if path.startswith("file:"):
        return
    if not Path(path).exists():
        fail(tr(SQLITE_FILE_MISSING, path=Path(path).absolute()), EXIT_FAILED)


_INVALID_VALUE = Text("{field} 无效：{reason}", "invalid {field}: {reason}")


def error_text(error: BaseException) -> str:
    """Return the message of ``error`` for the CLI, in the CLI language where it has both."""
    from taskrun_center.cli.storage_messages import storage_error_text
    from taskrun_center.errors import InvalidValueError, StorageError

    if isinstance(error, StorageError):
        return storage_error_text(error, cli_language())
    if isinstance(error, InvalidValueError):
        return tr(_INVALID_VALUE, field=error.field, reason=tr(error.reason_text))
    for attribute in ("reason_text", "text"):
        own_text = getattr(error, attribute, None)
        if isinstance(own_text, Text):
            return tr(own_text)
    return str(error)


def escape_hidden(value: str) -> str:
    """Return ``value`` for a terminal, with control, format and other hidden characters escaped.

    The escaping is ``quoting.quote_identifier`` (the API's too) without its quotes: NUL
    becomes ``\\u0000``, a right-to-left override ``\\u202e``, and a backslash is doubled so that
    an escape in the stored text stays distinguishable. JSON output needs none of this, because
    JSON escapes control characters itself and keeps the exact text.
    """
    from taskrun_center.quoting import quote_identifier

    return quote_identifier(value)[1:-1]


def escape_hidden_lines(value: str) -> str:
    """Return ``value`` escaped like ``escape_hidden`` but keep its line feeds as line breaks.

    Meant for multi-line text such as an error message, which stays readable on several lines.
    """
    return "\n".join(escape_hidden(line) for line in value.split("\n"))


def print_json(payload: Any) -> None:
    """Write one JSON document to stdout (UTF-8, not ASCII-escaped).

    NaN and the infinities, which JSON has no words for, are written as ``null``, as the API
    writes them. A stored summary edited by hand can contain them.
    """
    text = json.dumps(_finite(payload), ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(text + "\n")


def _finite(value: Any) -> Any:
    """Return ``value`` with every float that is not finite replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print an error to stderr and exit with ``code``."""
    print_error(message)
    raise typer.Exit(code)


def print_error(message: str) -> None:
    """Print one error line to stderr behind a red prefix.

    The message is escaped because it may quote user input: a task key such as ``[/x]`` would
    otherwise be read as rich markup and raise ``MarkupError``.
    """
    stderr.print(f"[bold red]{tr(ERROR_PREFIX)}[/] {escape(message)}", markup=True,
                 highlight=False)


ERROR_PREFIX = Text("错误：", "Error:")


def print_warning(message: str) -> None:
    """Print one warning line to stderr behind a yellow prefix; escaped as ``print_error``."""
    stderr.print(f"[bold yellow]{tr(WARNING_PREFIX)}[/] {escape(message)}", markup=True,
                 highlight=False)


WARNING_PREFIX = Text("警告：", "Warning:")


def help_text(zh: str, en: str) -> str:
    """Render option help in the CLI language (help is built before options are parsed)."""
    return Text(zh, en).render(cli_language())


class OutputFormat(StrEnum):
    """Output format of a command: a text report or one JSON document."""

    TEXT = "text"
    JSON = "json"


BAD_FORMAT = Text("--format 只能是 text 或 json。", "--format must be text or json.")


def _parse_format(value: str) -> OutputFormat:
    # Checked here rather than by Click's choice type, whose error is English only.
    try:
        return OutputFormat(value)
    except ValueError:
        fail(tr(BAD_FORMAT), EXIT_USAGE)


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help=help_text("输出格式：text 或 json。", "Output format: text or json."),
        parser=_parse_format,
        metavar="text|json",
    ),
]
TaskModuleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--task-module",
        help=help_text(
            "额外导入的任务模块（点分名称），可重复；与 TASKRUN_TASK_MODULES 合并。",
            "Extra module that declares tasks (dotted name), repeatable; "
            "added to TASKRUN_TASK_MODULES.",
        ),
        show_default=False,
    ),
]


#: A command stopped by signal N exits with 128 + N, the code a shell reports for it.
SIGNAL_EXIT_BASE = 128


@contextmanager
def sigterm_as_interrupt() -> Iterator[dict[str, int]]:
    """Make SIGTERM raise KeyboardInterrupt inside the block, as Ctrl-C does.

    Yields a dict that gets ``signum`` when either signal arrives. Without it SIGTERM ends the
    process at once: no ``finally`` runs and no report of the work done is printed. The
    previous handlers come back when the block ends. Outside the main thread nothing changes.
    """
    received: dict[str, int] = {}
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        received["signum"] = signum
        raise KeyboardInterrupt

    def note_interrupt(signum: int, frame: FrameType | None) -> None:
        received["signum"] = signum
        signal.default_int_handler(signum, frame)

    previous_term = signal.signal(signal.SIGTERM, interrupt)
    previous_int = signal.signal(signal.SIGINT, note_interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def interrupt_exit_code(received: dict[str, int]) -> int:
    """Return the exit code after the signal in ``received`` (Ctrl-C when it names none)."""
    return SIGNAL_EXIT_BASE + received.get("signum", signal.SIGINT)


def confirm_or_cancel(question: str, cancelled: str, received: dict[str, int]) -> bool:
    """Ask ``question`` (default no). Ctrl-C, SIGTERM or end of input print ``cancelled``.

    Call it inside ``sigterm_as_interrupt()``, whose dict is ``received``. Click reports those
    with its English "Aborted." and exit 1, so the cancel is worded by the caller and exits
    130 or 143 after a signal, 1 at the end of input.
    """
    try:
        return _ask_yes_no(question)
    except typer.Abort:
        fail(cancelled, interrupt_exit_code(received) if received else EXIT_FAILED)


# Answers to a y/N question; an empty answer is the default, no. The prompt is Chinese by
# default, so the Chinese words for yes and no count too.
_ANSWERS = {"y": True, "yes": True, "是": True, "n": False, "no": False, "否": False, "": False}
_YES_OR_NO = Text("请输入 y（是）或 n（否）。", "Please answer y (yes) or n (no).")


def _ask_yes_no(question: str) -> bool:
    """Prompt until the reply is yes or no. Click's own confirm prints an English error otherwise.

    Raises:
        typer.Abort: Ctrl-C or the end of input.
    """
    while True:
        answer = typer.prompt(question, default="", show_default=False,
                              prompt_suffix=" [y/N]: ")
        choice = _ANSWERS.get(answer.strip().lower())
        if choice is not None:
            return choice
        typer.echo(tr(_YES_OR_NO))
