"""The task-type registry: what each task key means and how its summary is checked.

A task type declares its key, names, category, the version and pydantic model of its
``ext.data``, and its metric definitions (labels, unit, default tone). Built-in tasks register in
``default_registry`` exactly as users' own tasks do. A key that is not registered still gets every
generic rule of the envelope.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel

from taskrun_center.contract.masking import mask_text
from taskrun_center.contract.models import METRIC_KEY_PATTERN, Tone
from taskrun_center.errors import ConfigurationError, UnknownTaskTypeError

TASK_TYPE_KEY = re.compile(r"[a-z][a-z0-9_]{0,127}\Z")
_METRIC_KEY = re.compile(METRIC_KEY_PATTERN)


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """A metric a task type reports: its key, labels in both languages, unit and default tone."""

    key: str
    label_zh: str
    label_en: str
    unit: str | None = None
    tone: Tone | None = None

    def __post_init__(self) -> None:
        if not _METRIC_KEY.match(self.key):
            raise ConfigurationError(
                f"metric key {self.key!r} is invalid: use a letter first, then letters, digits "
                "or _ . -, at most 64 characters"
            )
        if self.tone is not None:
            object.__setattr__(self, "tone", Tone(self.tone))

    def label(self, language: str | None = None) -> str:
        """Return the label in ``language`` (Chinese unless English is asked for)."""
        english = (language or "").lower().startswith("en")
        return self.label_en if english else self.label_zh


@dataclass(frozen=True, slots=True)
class TaskType:
    """A kind of task: the key its runs carry in ``task_key`` and ``ext.type``."""

    key: str
    name_zh: str
    name_en: str
    category: str
    ext_version: int = 1
    data_model: type[BaseModel] | None = None
    metrics: tuple[MetricDefinition, ...] = ()
    description_zh: str = ""
    description_en: str = ""
    _metrics_by_key: dict[str, MetricDefinition] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _check_task_type(self)
        # Names and descriptions are shown on every page and in the API, like stored names,
        # so they get the same masking.
        for name in ("name_zh", "name_en", "description_zh", "description_en"):
            object.__setattr__(self, name, mask_text(getattr(self, name)).value)
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "_metrics_by_key", {m.key: m for m in self.metrics})

    def metric(self, key: str) -> MetricDefinition | None:
        """Return the definition of metric ``key``, or None when the type does not define it."""
        return self._metrics_by_key.get(key)


def _check_task_type(task_type: TaskType) -> None:
    if not TASK_TYPE_KEY.match(task_type.key):
        raise ConfigurationError(
            f"task type key {task_type.key!r} is invalid: use snake_case (a-z, 0-9, _), "
            "a letter first, at most 128 characters"
        )
    if not (1 <= len(task_type.category) <= 64):
        raise ConfigurationError(f"task type {task_type.key!r}: category must be 1-64 characters")
    if isinstance(task_type.ext_version, bool) or task_type.ext_version < 1:
        raise ConfigurationError(f"task type {task_type.key!r}: ext_version must be an integer ≥ 1")
    keys = [metric.key for metric in task_type.metrics]
    if len(set(keys)) != len(keys):
        raise ConfigurationError(f"task type {task_type.key!r}: metric keys repeat")
    model = task_type.data_model
    if model is not None and model.model_config.get("extra") != "forbid":
        raise ConfigurationError(
            f"task type {task_type.key!r}: data_model {model.__name__} must forbid unknown keys; "
            'set model_config = ConfigDict(extra="forbid")'
        )


class TaskTypeRegistry:
    """Task types by key; safe to use from several threads."""

    def __init__(self) -> None:
        self._types: dict[str, TaskType] = {}
        self._lock = threading.Lock()

    def register(self, task_type: TaskType, *, replace: bool = False) -> TaskType:
        """Add ``task_type`` and return it.

        Registering the same definition twice is a no-op, so modules can be imported again.

        Raises:
            ConfigurationError: when another definition already uses the key and ``replace`` is
                False.
        """
        with self._lock:
            existing = self._types.get(task_type.key)
            if existing is not None and existing != task_type and not replace:
                raise ConfigurationError(
                    f"task type {task_type.key!r} is already registered with another definition; "
                    "pass replace=True to override it"
                )
            self._types[task_type.key] = task_type
        return task_type

    def unregister(self, key: str) -> None:
        """Remove the type with ``key`` if it is registered."""
        with self._lock:
            self._types.pop(key, None)

    def get(self, key: str) -> TaskType | None:
        """Return the type with ``key``, or None."""
        return self._types.get(key)

    def require(self, key: str) -> TaskType:
        """Return the type with ``key``.

        Raises:
            UnknownTaskTypeError: when no type has that key.
        """
        task_type = self._types.get(key)
        if task_type is None:
            raise UnknownTaskTypeError(key)
        return task_type

    def all(self) -> list[TaskType]:
        """Return every registered type, sorted by key."""
        return sorted(self._types.values(), key=lambda task_type: task_type.key)

    def __contains__(self, key: object) -> bool:
        return key in self._types

    def __iter__(self) -> Iterator[TaskType]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._types)


default_registry = TaskTypeRegistry()


def register_task_type(task_type: TaskType, *, replace: bool = False) -> TaskType:
    """Register ``task_type`` in ``default_registry`` and return it (usable at module level).

    Raises:
        ConfigurationError: when the key is taken by another definition.
    """
    return default_registry.register(task_type, replace=replace)
