"""Import the modules that declare tasks: the built-in tasks and the configured task modules.

A task exists in a process once the module that declares it has been imported. The CLI, the
scheduler and the console import the built-in tasks and every module named in
``TASKRUN_TASK_MODULES`` (comma-separated dotted names, such as ``examples.dbstats``). The
working directory is put on ``sys.path`` first, so modules of a project checkout import
without installing them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable

import structlog

from taskrun_center.errors import ConfigurationError
from taskrun_center.i18n import Text

logger = structlog.get_logger(__name__)

BUILTIN_TASKS_MODULE = "taskrun_center.runners.builtin"

_IMPORT_FAILED = Text(
    "无法导入任务模块 {module}：{cause}。请检查 TASKRUN_TASK_MODULES 或 --task-module 中的模块名，"
    "并确认该模块在 Python 路径上（Python 路径已包含当前工作目录）。",
    "cannot import the task module {module}: {cause}. Check the module name in "
    "TASKRUN_TASK_MODULES or --task-module, and that the module is on the Python path, which "
    "includes the working directory.",
)
_SYNTAX_ERROR = Text(
    "无法导入任务模块 {module}：{cause}。请修正该模块源码中的语法错误。",
    "cannot import the task module {module}: {cause}. Fix the syntax error in the module's "
    "source.",
)
_NO_MODULE_NAMED = Text("找不到模块 {name}", "no module named {name}")


class TaskModuleImportError(ConfigurationError):
    """Raised when a configured task module cannot be imported.

    ``reason_text`` is the whole message in both languages, for the CLI. ``str()`` is English,
    for logs.
    """

    def __init__(self, module: str, reason_text: Text) -> None:
        super().__init__(reason_text.en)
        self.module = module
        self.reason_text = reason_text

    @classmethod
    def from_error(cls, module: str, error: ImportError | SyntaxError) -> TaskModuleImportError:
        """Build the error for ``module`` from the exception its import raised."""
        if isinstance(error, ModuleNotFoundError) and error.name:
            name = repr(error.name)
            cause = Text(_NO_MODULE_NAMED.zh.format(name=name),
                         _NO_MODULE_NAMED.en.format(name=name))
        else:
            detail = f"{type(error).__name__}: {error}"
            cause = Text(detail, detail)
        template = _SYNTAX_ERROR if isinstance(error, SyntaxError) else _IMPORT_FAILED
        return cls(module, Text(template.zh.format(module=repr(module), cause=cause.zh),
                                template.en.format(module=repr(module), cause=cause.en)))

    def __reduce__(self) -> tuple[type[TaskModuleImportError], tuple[str, Text]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.module, self.reason_text)


def parse_module_list(value: str | None) -> list[str]:
    """Split a comma-separated list of module names, dropping blanks."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def load_task_modules(modules: Iterable[str]) -> list[str]:
    """Import each named module; return the names imported.

    Raises:
        TaskModuleImportError: a module cannot be imported (it or a module it imports is
            missing, or its source has a syntax error); names the module, the cause and the fix.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    loaded: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
        except (ImportError, SyntaxError) as error:
            raise TaskModuleImportError.from_error(name, error) from error
        loaded.append(name)
    if loaded:
        logger.info("task_modules_loaded", modules=loaded)
    return loaded


def load_builtin_tasks() -> None:
    """Declare the built-in tasks (purge, audit, reap) in this process."""
    importlib.import_module(BUILTIN_TASKS_MODULE)


def load_configured_tasks(extra_modules: Iterable[str] = ()) -> list[str]:
    """Declare the built-in tasks and import ``TASKRUN_TASK_MODULES`` plus ``extra_modules``.

    Raises:
        TaskModuleImportError: a module cannot be imported.
    """
    from taskrun_center.config import get_settings

    load_builtin_tasks()
    names = [*parse_module_list(get_settings().task_modules), *extra_modules]
    return load_task_modules(dict.fromkeys(names))
