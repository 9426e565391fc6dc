"""Usage errors (exit code 2) in the CLI language, built from the exception's attributes.

Typer 0.29 (pinned in constraints.txt) parses the command line with its own copy of Click and
converts values with pydantic. Both write English messages, and Typer prints them under an
English hint line and an "Error" panel. In Chinese mode the command classes catch each usage
error where it is raised, print the same layout in Chinese and exit with code 2 through
``typer.Exit``. Option names, command names and typed values are shown verbatim, and a typed
value goes through ``escape_hidden`` so a control or bidi character cannot reach the terminal.

In English mode an error is re-raised untouched, so Typer prints what it always did, unless
its message contains a hidden character that Typer leaves unescaped or is pydantic's reason
for a value that failed conversion (see ``report_usage_error``). The language comes from
``cli_language()``, which scans the raw argv for ``--lang`` before anything is parsed, so it is
known even when parsing fails. Because the error ends in ``typer.Exit``, a caller that runs the
app with ``standalone_mode=False`` gets the exit code 2 back instead of the exception.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from difflib import get_close_matches
from functools import partial
from typing import Any, NoReturn

import typer
from rich.panel import Panel
from rich.text import Text as RichText
from typer import rich_utils
from typer._click import exceptions as click_exceptions

from taskrun_center.cli.common import EXIT_USAGE, cli_language, escape_hidden, tr
from taskrun_center.config_errors import rule_text
from taskrun_center.i18n import Text

ERROR_PANEL_TITLE = Text("错误", "Error")
HELP_HINT = Text("运行 {command} 查看帮助。", "Try {command} for help.")

NO_SUCH_OPTION = Text("没有名为 {option} 的选项。", "No such option: {option}")
SIMILAR_OPTIONS = Text("相近的选项：{options}。", "Possible options: {options}.")
NO_SUCH_COMMAND = Text("没有名为 {command} 的命令。", "No such command {command}.")
SIMILAR_COMMANDS = Text("是否想用 {commands}？", "Did you mean {commands}?")
MISSING_COMMAND = Text("缺少命令。", "Missing command.")
MISSING_ARGUMENT = Text("缺少参数 {name}。", "Missing argument {name}.")
MISSING_OPTION = Text("缺少选项 {name}。", "Missing option {name}.")
MISSING_PARAMETER = Text("缺少参数。", "Missing parameter.")
CHOOSE_FROM = Text("可选值：{choices}。", "Choose from: {choices}.")
OPTION_NEEDS_VALUE = Text("选项 {option} 需要一个值。", "Option {option} requires an argument.")
OPTION_NEEDS_VALUES = Text("选项 {option} 需要 {count} 个值。",
                           "Option {option} requires {count} arguments.")
OPTION_TAKES_NO_VALUE = Text("选项 {option} 不接受值。", "Option {option} does not take a value.")
ARGUMENT_NEEDS_VALUES = Text("参数 {name} 需要 {count} 个值。",
                             "Argument {name} takes {count} values.")
BAD_OPTION_USAGE = Text("选项 {option} 的用法无效。", "Invalid use of option {option}.")
EXTRA_ARGUMENTS = Text("多余的参数：{arguments}。",
                       "Got unexpected extra argument(s) ({arguments})")
INVALID_VALUE_FOR = Text("{name} 的值无效：{reason}", "Invalid value for {name}: {reason}")
INVALID_VALUE = Text("值无效：{reason}", "Invalid value: {reason}")
#: Between the items of a list inside a message.
LIST_SEPARATOR = Text("、", ", ")
ENV_VAR_HINT = Text("（环境变量 {variable}）", " (env var: {variable})")

NOT_AN_INTEGER = Text("{value} 不是有效的整数。", "{value} is not a valid integer.")
NOT_A_NUMBER = Text("{value} 不是有效的数字。", "{value} is not a valid number.")
NOT_A_FINITE_NUMBER = Text("{value} 不是有限的数字。", "{value} is not a finite number.")
NOT_A_BOOLEAN = Text("{value} 不是有效的布尔值，可用 true/false、yes/no、on/off 或 1/0。",
                     "{value} is not a valid boolean; use true/false, yes/no, on/off or 1/0.")
NOT_A_DATETIME = Text("{value} 不是有效的日期时间。", "{value} is not a valid date and time.")
NOT_IN_FORMATS = Text("{value} 不符合以下任一格式：{formats}。",
                      "{value} does not match the formats {formats}.")
NOT_A_CHOICE = Text("{value} 不是可选值之一：{choices}。", "{value} is not one of {choices}.")
# A bound rule (from config_errors.rule_text) followed by the value typed.
BOUND_WITH_VALUE = Text("{rule}，收到 {value}。", "{rule}, got {value}.")
NOT_VALID = Text("{value} 不是有效的值。", "{value} is not a valid value.")
NEEDS_SEVERAL_VALUES = Text("应为多个值。", "Value must be an iterable.")

PATH_KINDS = {"file": Text("文件", "File"), "dir": Text("目录", "Directory"),
              "path": Text("路径", "Path")}
PATH_MISSING = Text("{kind} {path} 不存在。", "{kind} {path} does not exist.")
PATH_IS_FILE = Text("{kind} {path} 是文件。", "{kind} {path} is a file.")
PATH_IS_DIRECTORY = Text("{kind} {path} 是目录。", "{kind} {path} is a directory.")
PATH_NOT_READABLE = Text("{kind} {path} 不可读。", "{kind} {path} is not readable.")
PATH_NOT_WRITABLE = Text("{kind} {path} 不可写。", "{kind} {path} is not writable.")
FILE_NOT_OPENED = Text("无法打开 {path}：{reason}。", "Could not open {path}: {reason}.")
OS_REASONS = {
    errno.ENOENT: Text("文件不存在", "no such file or directory"),
    errno.EACCES: Text("没有权限", "permission denied"),
    errno.EPERM: Text("没有权限", "operation not permitted"),
    errno.EISDIR: Text("这是一个目录", "is a directory"),
}
OS_ERROR_NUMBER = Text("操作系统错误 {number}", "operating system error {number}")


def join_list(items: Iterable[str]) -> str:
    """Join ``items`` with the list separator of the CLI language."""
    return tr(LIST_SEPARATOR).join(items)


def report_usage_error(error: click_exceptions.UsageError, described: Callable[[], str]) -> None:
    """Print ``error`` with the message ``described()`` and exit with code 2.

    In English mode this returns, and the caller re-raises ``error`` for Typer to print, unless
    the English message still contains a hidden character or comes from pydantic. Typer escapes
    only C0 and C1 controls, so a message with a bidi override or a zero-width character is
    printed here instead, in Typer's English layout with that character escaped. A value that
    failed conversion gets the wording of Chinese mode ("'abc' is not a valid integer."),
    because pydantic's own leaves out the value typed.
    """
    if cli_language() != "en" or _validation_errors(error.__cause__):
        fail_in_cli_language(error.ctx, described(), error)
    message = error.format_message()
    escaped = "".join(_escape_character(character) for character in message)
    if escaped != message:
        fail_in_cli_language(error.ctx, escaped, error)


def _escape_character(character: str) -> str:
    # A backslash stays single: Typer's message already contains its own \xNN escapes. Line
    # feeds and tabs are Typer's layout ("Choose from:\n\t...").
    if character in "\\\n\t":
        return character
    return escape_hidden(character)


def fail_in_cli_language(ctx: Any, message: str, cause: BaseException | None) -> NoReturn:
    """Print ``message`` as Typer prints a usage error, then exit with code 2.

    ``ctx`` is the context the error carries. The usage line and the help hint are printed
    only when there is one, as Typer does: Click raises some errors (an option given without
    its value) without a context.
    """
    console = rich_utils._get_rich_console(stderr=True)
    if ctx is not None:
        console.print(rich_utils.highlighter(ctx.get_usage()),
                      style=rich_utils.STYLE_USAGE_COMMAND)
        if ctx.command.get_help_option(ctx) is not None:
            command = quote(f"{ctx.command_path} {ctx.help_option_names[0]}")
            hint = RichText(tr(HELP_HINT, command=command))
            hint.highlight_words([command], "blue")
            console.print(hint, style=rich_utils.STYLE_ERRORS_SUGGESTION)
    console.print(Panel(rich_utils.highlighter(message),
                        border_style=rich_utils.STYLE_ERRORS_PANEL_BORDER,
                        title=tr(ERROR_PANEL_TITLE),
                        title_align=rich_utils.ALIGN_ERRORS_PANEL))
    raise typer.Exit(EXIT_USAGE) from cause


def quote(value: object) -> str:
    """Return ``value`` in single quotes with hidden characters escaped."""
    return f"'{escape_hidden(str(value))}'"


def describe(error: click_exceptions.UsageError, ctx: Any, raw_args: Sequence[str] = ()) -> str:
    """Return the message of a usage error in the CLI language.

    ``ctx`` is the context of the command being parsed, which Click leaves off some errors,
    and ``raw_args`` are its arguments, used to find the value a path option was given.
    """
    if isinstance(error, click_exceptions.NoSuchOption):
        return _no_such_option(error)
    if isinstance(error, click_exceptions.BadOptionUsage):
        return _bad_option_usage(error, error.ctx or ctx)
    if isinstance(error, click_exceptions.BadArgumentUsage):
        return _bad_argument_usage(error, error.ctx or ctx)
    if isinstance(error, click_exceptions.MissingParameter):
        return _missing_parameter(error)
    if isinstance(error, click_exceptions.BadParameter):
        return _bad_parameter(error, raw_args)
    # A plain UsageError from taskrun's own code is already in the CLI language. The ones that
    # Click raises as plain strings (no such command, missing command, extra arguments) are
    # caught earlier, where their values are known.
    return error.format_message()


def no_such_command(name: str, commands: Sequence[str]) -> str:
    """Return the message for an unknown command ``name``, with close matches among ``commands``.

    Click raises this error with only a formatted string, so the name is taken from the
    arguments and the close matches are found again as Typer finds them.
    """
    message = tr(NO_SUCH_COMMAND, command=quote(name))
    matches = get_close_matches(name, list(commands))
    if matches:
        message += tr(SIMILAR_COMMANDS, commands=join_list(quote(match) for match in matches))
    return message


def missing_command() -> str:
    """Return the message for a group called without a command."""
    return tr(MISSING_COMMAND)


def extra_arguments(arguments: Sequence[str]) -> str:
    """Return the message for arguments that no parameter of the command takes."""
    return tr(EXTRA_ARGUMENTS, arguments=" ".join(escape_hidden(str(arg)) for arg in arguments))


def _no_such_option(error: click_exceptions.NoSuchOption) -> str:
    message = tr(NO_SUCH_OPTION, option=escape_hidden(error.option_name))
    if error.possibilities:
        options = join_list(sorted(error.possibilities))
        message += tr(SIMILAR_OPTIONS, options=options)
    return message


def _bad_option_usage(error: click_exceptions.BadOptionUsage, ctx: Any) -> str:
    # Click gives only a message string. The option's own declaration shows which of its two
    # messages it is: a flag "does not take a value", any other option "requires" nargs values.
    option_name = quote(error.option_name)
    parameter = _find_option(ctx, error.option_name)
    if parameter is None:
        return tr(BAD_OPTION_USAGE, option=option_name)
    if getattr(parameter, "is_flag", False) or not getattr(parameter, "takes_value", True):
        return tr(OPTION_TAKES_NO_VALUE, option=option_name)
    if parameter.nargs > 1:
        return tr(OPTION_NEEDS_VALUES, option=option_name, count=parameter.nargs)
    return tr(OPTION_NEEDS_VALUE, option=option_name)


def _find_option(ctx: Any, option_name: str) -> Any:
    if ctx is None:
        return None
    for parameter in ctx.command.get_params(ctx):
        names = [*getattr(parameter, "opts", []), *getattr(parameter, "secondary_opts", [])]
        if option_name in names:
            return parameter
    return None


def _bad_argument_usage(error: click_exceptions.BadArgumentUsage, ctx: Any) -> str:
    # Click's only bad-argument-usage error is "Argument X takes N values". It gives a string,
    # so the argument is found as the one whose name the message quotes.
    for parameter in ctx.command.get_params(ctx) if ctx is not None else []:
        if parameter.param_type_name == "argument" and repr(parameter.name) in error.message:
            return tr(ARGUMENT_NEEDS_VALUES, name=quote(parameter.name), count=parameter.nargs)
    return tr(INVALID_VALUE, reason=tr(NOT_VALID, value=quote(error.message)))


def _missing_parameter(error: click_exceptions.MissingParameter) -> str:
    parameter = error.param
    if parameter is None:
        return tr(MISSING_PARAMETER)
    name = _parameter_hint(error)
    kind = error.param_type or parameter.param_type_name
    message = tr(MISSING_ARGUMENT if kind == "argument" else MISSING_OPTION, name=name)
    choices = _choices(parameter)
    if choices:
        message += tr(CHOOSE_FROM, choices=join_list(choices))
    return message


def _parameter_hint(error: click_exceptions.BadParameter) -> str:
    if error.param_hint is not None:
        hints = [error.param_hint] if isinstance(error.param_hint, str) else error.param_hint
        return " / ".join(quote(hint) for hint in hints)
    parameter = error.param
    if parameter is None:
        return ""
    if parameter.param_type_name == "argument":
        # Typer's hint is the declared name in quotes, such as 'run_id'.
        return str(parameter.get_error_hint())
    hint = " / ".join(quote(option) for option in parameter.opts)
    if getattr(parameter, "show_envvar", False) and parameter.envvar:
        hint += tr(ENV_VAR_HINT, variable=quote(parameter.envvar))
    return hint


def _choices(parameter: Any) -> list[str]:
    descriptor = getattr(parameter, "type_descriptor", None)
    if descriptor is None or not descriptor.is_choice or descriptor.parameter_info.parser:
        return []
    return [quote(_choice_text(choice)) for choice in descriptor.choices or ()]


def _choice_text(choice: Any) -> str:
    return str(getattr(choice, "value", choice))


def _bad_parameter(error: click_exceptions.BadParameter, raw_args: Sequence[str]) -> str:
    reason = _reason(error, raw_args)
    hint = _parameter_hint(error)
    if not hint:
        return tr(INVALID_VALUE, reason=reason)
    return tr(INVALID_VALUE_FOR, name=hint, reason=reason)


def _reason(error: click_exceptions.BadParameter, raw_args: Sequence[str]) -> str:
    cause = error.__cause__
    validation_errors = _validation_errors(cause)
    if validation_errors:
        return _conversion_reason(validation_errors[0], error.param)
    if isinstance(cause, OSError) and error.param is not None and _is_file(error.param):
        reason = OS_REASONS.get(cause.errno or 0)
        text = tr(reason) if reason else tr(OS_ERROR_NUMBER, number=cause.errno)
        return tr(FILE_NOT_OPENED, path=quote(cause.filename), reason=text)
    if not _raised_by_typer(error):
        # taskrun's own parsers and callbacks already write their reason in the CLI language.
        return error.message
    path_reason = _path_reason(error, raw_args)
    if path_reason is not None:
        return path_reason
    if error.message == "Value must be an iterable.":
        return tr(NEEDS_SEVERAL_VALUES)
    # NOTE: any other message Typer raises by itself is a string only, so the reason shown is
    # the generic one with the typed value.
    return tr(NOT_VALID, value=quote(_typed_value(error, raw_args) or ""))


def _validation_errors(cause: object) -> list[Any]:
    # Typer raises BadParameter from pydantic's ValidationError when a value fails conversion.
    from pydantic import ValidationError

    return list(cause.errors()) if isinstance(cause, ValidationError) else []


# pydantic error types (pydantic 2.x ``ErrorDetails["type"]``) and their reasons.
_CONVERSION_REASONS = {
    "int_parsing": NOT_AN_INTEGER, "int_parsing_size": NOT_AN_INTEGER,
    "int_from_float": NOT_AN_INTEGER, "int_type": NOT_AN_INTEGER,
    "float_parsing": NOT_A_NUMBER, "float_type": NOT_A_NUMBER,
    "finite_number": NOT_A_FINITE_NUMBER,
    "bool_parsing": NOT_A_BOOLEAN, "bool_type": NOT_A_BOOLEAN,
}
# Bound errors, worded by the same rules as the TASKRUN_* settings.
_BOUND_KINDS = frozenset({"greater_than_equal", "greater_than", "less_than_equal", "less_than"})


def _conversion_reason(detail: Any, parameter: Any) -> str:
    """Return the reason of a pydantic error ``detail`` from its type, ctx and input."""
    kind = detail.get("type", "")
    context = detail.get("ctx") or {}
    value = quote(detail.get("input", ""))
    if kind == "value_error":
        nested = _validation_errors(context.get("error"))
        if nested:
            # A list or tuple parameter converts each item with its own adapter.
            return _conversion_reason(nested[0], parameter)
        return _value_error_reason(context.get("error"), value, parameter)
    if kind in _CONVERSION_REASONS:
        return tr(_CONVERSION_REASONS[kind], value=value)
    if kind in _BOUND_KINDS:
        rule = rule_text(kind, context)
        return BOUND_WITH_VALUE.render(cli_language(), rule=tr(rule), value=value)
    if kind.startswith(("datetime_", "date_")):
        return tr(NOT_A_DATETIME, value=value)
    return tr(NOT_VALID, value=value)


def _value_error_reason(cause: object, value: str, parameter: Any) -> str:
    # A ValueError comes from a BeforeValidator: Typer's choice and datetime-format checks, or
    # a ``parser=`` function. The first two give only an English string, so the parameter's
    # declaration decides which it was.
    descriptor = getattr(parameter, "type_descriptor", None)
    info = getattr(descriptor, "parameter_info", None)
    if descriptor is not None and info is not None and info.parser is None:
        choices = _choices(parameter)
        if choices:
            return tr(NOT_A_CHOICE, value=value, choices=join_list(choices))
        if descriptor.annotation is datetime and info.formats:
            formats = join_list(quote(form) for form in info.formats)
            return tr(NOT_IN_FORMATS, value=value, formats=formats)
    if cause is None or (isinstance(cause, BaseException) and _raised_by_typer(cause)):
        # Typer's own ValueErrors (a tuple given too few values) are English strings only.
        return tr(NOT_VALID, value=value)
    # A parser of taskrun's own writes its message in the CLI language.
    return str(cause)


def _raised_by_typer(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return False
    module = traceback.tb_frame.f_globals.get("__name__", "")
    return module == "typer" or module.startswith("typer.")


def _is_file(parameter: Any) -> bool:
    descriptor = getattr(parameter, "type_descriptor", None)
    return bool(descriptor is not None and descriptor.is_file)


def _path_reason(error: click_exceptions.BadParameter, raw_args: Sequence[str]) -> str | None:
    # Typer's path checks give only an English string ("file 'x' does not exist."). The same
    # checks are repeated here on the typed value to tell which one failed.
    descriptor = getattr(error.param, "type_descriptor", None)
    value = _typed_value(error, raw_args)
    if descriptor is None or not descriptor.is_path or value is None:
        return None
    info = descriptor.parameter_info
    path = os.path.realpath(value) if info.resolve_path else value
    try:
        mode = os.stat(path).st_mode
    except OSError:
        problem = PATH_MISSING if info.exists else None
    else:
        problems = [
            (not info.file_okay and stat.S_ISREG(mode), PATH_IS_FILE),
            (not info.dir_okay and stat.S_ISDIR(mode), PATH_IS_DIRECTORY),
            (info.readable and not os.access(path, os.R_OK), PATH_NOT_READABLE),
            (info.writable and not os.access(path, os.W_OK), PATH_NOT_WRITABLE),
        ]
        problem = next((text for failed, text in problems if failed), None)
    if problem is None:
        return None
    return tr(problem, kind=tr(PATH_KINDS[descriptor.path_type]), path=quote(value))


def _typed_value(error: click_exceptions.BadParameter, raw_args: Sequence[str]) -> str | None:
    """Return the text given to ``error.param`` on the command line or by its variable."""
    parameter = error.param
    ctx = error.ctx
    if parameter is None or ctx is None:
        return None
    parser = ctx.command.make_parser(ctx)
    try:
        options, _, _ = parser.parse_args(args=list(raw_args))
        value, _ = parameter.consume_value(ctx, options)
    except click_exceptions.UsageError:
        return None
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    return None if value is None else str(value)


class UsageErrorsInCliLanguage:
    """Command mixin that prints the usage errors met while parsing in the CLI language."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args`` as Click does, with its usage errors printed by ``report_usage_error``."""
        # While Click parses resiliently (completion, help defaults) errors must reach it as
        # they are.
        if ctx.resilient_parsing:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        raw_args = list(args)
        # Click reports extra arguments with only a formatted string, so in Chinese mode they
        # are let through and checked below, where the list itself is known.
        allows_extra = ctx.allow_extra_args
        if cli_language() != "en":
            ctx.allow_extra_args = True
        try:
            remaining: list[str] = super().parse_args(ctx, args)  # type: ignore[misc]
        except click_exceptions.NoArgsIsHelpError:
            raise
        except click_exceptions.UsageError as error:
            report_usage_error(error, partial(describe, error, ctx, raw_args))
            raise
        finally:
            ctx.allow_extra_args = allows_extra
        if remaining and not allows_extra:
            fail_in_cli_language(ctx, extra_arguments(remaining), None)
        return remaining


class GroupUsageErrorsInCliLanguage(UsageErrorsInCliLanguage):
    """Group mixin that also prints an unknown or missing command in the CLI language."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Find the command ``args[0]`` names, or report it unknown in the CLI language."""
        try:
            return super().resolve_command(ctx, args)  # type: ignore[misc]
        except click_exceptions.UsageError as error:
            # An option given in place of a command fails in parse_args above with a subclass.
            # The plain UsageError is Click's "No such command", a formatted string only.
            if type(error) is not click_exceptions.UsageError or ctx.resilient_parsing:
                raise
            suggest = self.suggest_commands  # type: ignore[attr-defined]
            commands = list(self.commands) if suggest else []  # type: ignore[attr-defined]
            report_usage_error(error, partial(no_such_command, args[0], commands))
            raise

    def invoke(self, ctx: Any) -> Any:
        """Run the group and its command, printing a usage error raised on the way."""
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except click_exceptions.NoArgsIsHelpError:
            raise
        except click_exceptions.UsageError as error:
            # Click's "Missing command." is a plain string raised before a command is chosen.
            missing = (ctx.invoked_subcommand is None
                       and type(error) is click_exceptions.UsageError and error.ctx is ctx)
            report_usage_error(error, missing_command if missing
                               else partial(describe, error, error.ctx or ctx))
            raise
