"""Help pages in the CLI language, wrapped instead of cut at any terminal width.

Typer (0.29) prints help with rich and its own copy of Click, whose headings are English. The
supported hooks are used where they exist: each command and group is built from the classes
here, which name the usage prefix, the ``--help`` text and every panel (``rich_help_panel``)
in the CLI language. The markers after a parameter's help ("[default: …]", "[required]") have
no hook, so the classes set the module attributes that Typer reads them from.

rich wraps text only at whitespace. A Chinese sentence has none, so rich measured it as one
long word, and Typer's help tables cut such a word with "…" (rich's default overflow for table
cells). Typer has no setting for that overflow, so ``use_translated_help`` replaces the
highlighter that every help text passes through with one that marks the text ``fold``: a word
wider than its cell is then broken across lines. This depends on Typer calling the module
attribute ``typer.rich_utils.highlighter``, which the help tests check at 80 columns.

The same classes print usage errors in the CLI language (``usage_errors``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import typer
from rich.text import Text as RichText
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from taskrun_center.cli.common import tr
from taskrun_center.cli.usage_errors import (
    GroupUsageErrorsInCliLanguage,
    UsageErrorsInCliLanguage,
)
from taskrun_center.i18n import Text

USAGE_PREFIX = Text("用法：", "Usage: ")
HELP_OPTION_HELP = Text("显示本帮助并退出。", "Show this message and exit.")
ARGUMENTS_PANEL = Text("参数", "Arguments")
OPTIONS_PANEL = Text("选项", "Options")
COMMANDS_PANEL = Text("命令", "Commands")
# The markers after a parameter's help. Typer formats them from module attributes of
# ``typer.rich_utils`` while it prints, so they are set there before each page.
_PARAMETER_MARKERS = {
    "DEFAULT_STRING": Text("[默认值：{}]", "[default: {}]"),
    "ENVVAR_STRING": Text("[环境变量：{}]", "[env var: {}]"),
    "REQUIRED_LONG_STRING": Text("[必填]", "[required]"),
    "DEPRECATED_STRING": Text("（已弃用）", "(deprecated) "),
}


class _TranslatedHelp:
    """Usage prefix, ``--help`` text and panel titles in the CLI language."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        """Write the usage line with the translated prefix."""
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=tr(USAGE_PREFIX))

    def get_help_option(self, ctx: Any) -> Any:
        """Return the ``--help`` option with its help text in the CLI language."""
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = tr(HELP_OPTION_HELP)
        return option

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Name every panel and marker in the CLI language, then print the help page."""
        for attribute, marker in _PARAMETER_MARKERS.items():
            setattr(rich_utils, attribute, tr(marker))
        # Typer leaves an unset panel as None or as a false DefaultPlaceholder.
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if not getattr(param, "rich_help_panel", None):
                argument = param.param_type_name == "argument"
                param.rich_help_panel = tr(ARGUMENTS_PANEL if argument else OPTIONS_PANEL)
        for name in getattr(self, "commands", {}):
            command = self.commands[name]  # type: ignore[attr-defined]
            if not getattr(command, "rich_help_panel", None):
                command.rich_help_panel = tr(COMMANDS_PANEL)
        super().format_help(ctx, formatter)  # type: ignore[misc]


class TaskrunCommand(_TranslatedHelp, UsageErrorsInCliLanguage, TyperCommand):
    """A ``taskrun`` command whose help page and usage errors are in the CLI language."""


class TaskrunGroup(_TranslatedHelp, GroupUsageErrorsInCliLanguage, TyperGroup):
    """A ``taskrun`` command group whose help page and usage errors are in the CLI language."""


class _FoldingHighlighter(rich_utils.OptionHighlighter):
    """Typer's option highlighter that also lets long words fold and colours "用法："."""

    highlights: ClassVar[list[str]] = [
        *rich_utils.OptionHighlighter.highlights, r"(?P<usage>用法：)"
    ]

    def __call__(self, text: str | RichText) -> RichText:
        highlighted = super().__call__(text)
        highlighted.overflow = "fold"
        return highlighted


def use_translated_help(app: typer.Typer) -> None:
    """Build ``app``, its groups and their commands from the translated help classes.

    Call it after every command is registered and before ``app`` runs.
    """
    rich_utils.highlighter = _FoldingHighlighter()
    _apply_classes(app)


def _apply_classes(app: typer.Typer) -> None:
    app.info.cls = TaskrunGroup
    # No taskrun command sets its own class, so every one is replaced.
    for command in app.registered_commands:
        command.cls = TaskrunCommand
    for group in app.registered_groups:
        group.cls = TaskrunGroup
        if group.typer_instance is not None:
            _apply_classes(group.typer_instance)
