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

logger = structlog.get_logger(__name__)

BUILTIN_TASKS_MODULE = "taskrun_center.runners.builtin"


def parse_module_list(value: str | None) -> list[str]:
    """Split a comma-separated list of module names, dropping blanks."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def load_task_modules(modules: Iterable[str]) -> list[str]:
    """Import each named module; return the names imported.

    Raises:
        ConfigurationError: a module cannot be imported; names the module and the cause.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    loaded: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigurationError(
                f"task module {name!r} cannot be imported: {error}; check TASKRUN_TASK_MODULES "
                "and that the module is on the Python path (the working directory is)"
            ) from error
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
        ConfigurationError: a module cannot be imported.
    """
    from taskrun_center.config import get_settings

    load_builtin_tasks()
    names = [*parse_module_list(get_settings().task_modules), *extra_modules]
    return load_task_modules(dict.fromkeys(names))
