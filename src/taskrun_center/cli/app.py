"""The ``taskrun`` entry point: mounts every command group and configures logging."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from taskrun_center import __version__
from taskrun_center.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    cli_language,
    error_text,
    escape_hidden,
    print_error,
    print_warning,
    tr,
)
from taskrun_center.cli.help_format import use_translated_help
from taskrun_center.config_errors import InvalidSettingsError, check_language
from taskrun_center.errors import ConfigurationError, StorageError, TaskRunError
from taskrun_center.i18n import Text

# Each module defines ``register(app)``, which adds its commands or sub-groups.
COMMAND_MODULES = (
    "summary",
    "db",
    "runs",
    "maintenance",
    "tasks",
    "exec_command",
    "scheduler",
    "serve",
    "users",
    "up",
)

app = typer.Typer(
    name="taskrun",
    help=Text(
        "任务运行中心：记录每个后台任务的每次运行，并校验运行摘要。",
        "TaskRun Center: record every run of every background task and check its summary.",
    ).render(cli_language()),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _check_language(value: str | None) -> str | None:
    # Without this check an unknown tag such as "fr" would quietly mean Chinese. A value equal
    # to TASKRUN_LANGUAGE is reported as that variable, which is then invalid as well.
    from_environment = os.environ.get("TASKRUN_LANGUAGE") == value
    problem = check_language(value, "TASKRUN_LANGUAGE" if from_environment else "--lang")
    if problem is not None:
        raise InvalidSettingsError([problem])
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(f"taskrun-center {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="TASKRUN_LANGUAGE",
            callback=_check_language,
            is_eager=True,
            help=Text(
                "消息语言：zh-CN 或 en，也可用环境变量 TASKRUN_LANGUAGE 设置。",
                "Message language: zh-CN or en; also set by the environment variable "
                "TASKRUN_LANGUAGE.",
            ).render(cli_language()),
            show_envvar=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help=tr(Text("显示版本号并退出。", "Show the version and exit."))),
    ] = False,
) -> None:
    """Configure logging for every command and warn about misspelt setting variables."""
    from taskrun_center.logging_setup import configure_logging

    configure_logging()
    _warn_unknown_variables()


_UNKNOWN_VARIABLE = Text("环境变量 {name} 不是任何配置项，已忽略。",
                         "The environment variable {name} is no setting and is ignored.")
_DID_YOU_MEAN = Text("是否想写 {name}？", " Did you mean {name}?")


def _warn_unknown_variables() -> None:
    from taskrun_center.config import setting_variables
    from taskrun_center.config_errors import unknown_variables

    for name, closest in unknown_variables(os.environ, setting_variables()):
        message = tr(_UNKNOWN_VARIABLE, name=escape_hidden(name))
        if closest is not None:
            message += tr(_DID_YOU_MEAN, name=closest)
        print_warning(message)


for _name in COMMAND_MODULES:
    importlib.import_module(f"taskrun_center.cli.{_name}").register(app)
use_translated_help(app)


def main() -> None:
    """Run the ``taskrun`` command.

    Invalid settings exit with code 2 and a database error (a missing schema, a lock held
    beyond the busy timeout) with code 1, each as plain lines on stderr without a traceback,
    whichever command met them.
    """
    try:
        app()
    except InvalidSettingsError as error:
        _print_errors(error.render_lines(cli_language()))
        sys.exit(EXIT_USAGE)
    except ConfigurationError as error:
        _print_errors([error_text(error)])
        sys.exit(EXIT_USAGE)
    except StorageError as error:
        _print_errors([error_text(error)])
        sys.exit(EXIT_FAILED)
    except TaskRunError as error:
        # Any other error raised on purpose (the console's port taken): its message, no trace.
        _print_errors([error_text(error)])
        sys.exit(EXIT_FAILED)


def _print_errors(lines: list[str]) -> None:
    for line in lines:
        print_error(line)
