"""Declaring tasks: the ``task`` decorator, ``TaskDefinition`` and the table of declared tasks.

Declaring a task registers its task type (key, names, category, ``ext.data`` model, metric
definitions) in the contract's registry, so its summaries are checked against that type. It
also records the function under the same key, so that ``run_task``, the scheduler, the CLI and
the console can start it by key.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from taskrun_center.contract import MetricDefinition, TaskType, TaskTypeRegistry, default_registry
from taskrun_center.errors import UnknownTaskTypeError
from taskrun_center.runners.arguments import check_task_arguments
from taskrun_center.runners.errors import TaskAlreadyRegisteredError

TaskFunction = Callable[..., Any]
F = TypeVar("F", bound=TaskFunction)


@dataclass(frozen=True)
class TaskDefinition:
    """A declared task: its function and the task type its runs are recorded under.

    Calling the definition calls the function unchanged, so a decorated task stays a plain
    function in unit tests.
    """

    func: TaskFunction
    task_type: TaskType

    @property
    def key(self) -> str:
        """Task key, equal to the task type's key and to ``ext.type`` of every summary."""
        return self.task_type.key

    @property
    def name_zh(self) -> str:
        return self.task_type.name_zh

    @property
    def name_en(self) -> str:
        return self.task_type.name_en

    @property
    def category(self) -> str:
        return self.task_type.category

    @property
    def is_async(self) -> bool:
        """True for an ``async def`` task, which the runner drives with ``asyncio.run``."""
        return inspect.iscoroutinefunction(self.func)

    @property
    def origin(self) -> str:
        """Module and qualified name of the function, used in messages about the declaration."""
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def check_arguments(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``arguments`` against the function's signature and annotations.

        Returns the arguments converted to the annotated types, as the function receives them.

        Raises:
            TaskArgumentsError: an argument is unknown, a required one is missing, or a value
                does not fit its parameter's annotation.
        """
        return check_task_arguments(self.key, self.func, arguments)


class TaskTable:
    """Declared tasks by key; thread-safe because web and scheduler threads read it."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskDefinition] = {}
        self._lock = threading.Lock()

    def check_free(self, definition: TaskDefinition) -> None:
        """Check that ``definition`` may take its key: unused, or used by the same function.

        Declaring the same function again (a module imported twice or reloaded) is allowed.

        Raises:
            TaskAlreadyRegisteredError: another function already uses the key.
        """
        existing = self._tasks.get(definition.key)
        if existing is not None and existing.origin != definition.origin:
            raise TaskAlreadyRegisteredError(definition.key, existing.origin, definition.origin)

    def add(self, definition: TaskDefinition) -> TaskDefinition:
        """Add ``definition``, replacing an earlier declaration of the same function.

        Raises:
            TaskAlreadyRegisteredError: another function already uses the key.
        """
        with self._lock:
            self.check_free(definition)
            self._tasks[definition.key] = definition
        return definition

    def get(self, task_key: str) -> TaskDefinition:
        """Return the task declared under ``task_key``.

        Raises:
            UnknownTaskTypeError: no task is declared under that key.
        """
        definition = self._tasks.get(task_key)
        if definition is None:
            raise UnknownTaskTypeError(task_key)
        return definition

    def find(self, task_key: str) -> TaskDefinition | None:
        """Return the task declared under ``task_key``, or None."""
        return self._tasks.get(task_key)

    def all(self) -> list[TaskDefinition]:
        """Return every declared task, sorted by key."""
        with self._lock:
            return sorted(self._tasks.values(), key=lambda definition: definition.key)

    def remove(self, task_key: str) -> None:
        """Forget the task under ``task_key`` (tests use it to clean up)."""
        with self._lock:
            self._tasks.pop(task_key, None)


default_tasks = TaskTable()


@overload
def task(func: F, /) -> TaskDefinition: ...


@overload
def task(
    func: None = None,
    /,
    *,
    key: str | None = None,
    name_zh: str | None = None,
    name_en: str | None = None,
    category: str = "other",
    data_model: type[BaseModel] | None = None,
    metrics: Sequence[MetricDefinition] = (),
    ext_version: int = 1,
    description_zh: str = "",
    description_en: str = "",
    registry: TaskTypeRegistry | None = None,
    tasks: TaskTable | None = None,
) -> Callable[[F], TaskDefinition]: ...


def task(
    func: F | None = None,
    /,
    *,
    key: str | None = None,
    name_zh: str | None = None,
    name_en: str | None = None,
    category: str = "other",
    data_model: type[BaseModel] | None = None,
    metrics: Sequence[MetricDefinition] = (),
    ext_version: int = 1,
    description_zh: str = "",
    description_en: str = "",
    registry: TaskTypeRegistry | None = None,
    tasks: TaskTable | None = None,
) -> TaskDefinition | Callable[[F], TaskDefinition]:
    """Declare a task function and register its task type; usable bare or with options.

    The function takes the ``RunContext`` first and the run's arguments as keyword arguments,
    and returns a ``TaskResult`` or None. ``key`` defaults to the function name, the names to
    the key.

    Raises:
        TaskAlreadyRegisteredError: another function already uses the key.
        SummaryValidationError: the task type itself is invalid (for example a key that is
            not snake_case).
    """

    def declare(function: F) -> TaskDefinition:
        task_key = key or function.__name__
        task_type = TaskType(
            key=task_key,
            name_zh=name_zh or task_key,
            name_en=name_en or name_zh or task_key,
            category=category,
            ext_version=ext_version,
            data_model=data_model,
            metrics=tuple(metrics),
            description_zh=description_zh,
            description_en=description_en,
        )
        definition = TaskDefinition(func=function, task_type=task_type)
        table = tasks or default_tasks

        # The key is checked before the type is registered, so a rejected declaration never
        # replaces the task type of the function that owns the key.
        table.check_free(definition)
        (registry or default_registry).register(task_type, replace=True)
        return table.add(definition)

    if func is not None:
        return declare(func)
    return declare


def get_task(task_key: str) -> TaskDefinition:
    """Return the task declared under ``task_key`` in this process.

    Raises:
        UnknownTaskTypeError: no task is declared under that key.
    """
    return default_tasks.get(task_key)


def all_tasks() -> list[TaskDefinition]:
    """Return every task declared in this process, sorted by key."""
    return default_tasks.all()
