"""The exception hierarchy: every error the package raises on purpose derives from TaskRunError.

Each subclass carries the ids and states involved, so that the API, the CLI and the logs can
name the object and the next step without parsing a message.
"""

from __future__ import annotations

from taskrun_center.i18n import Text


class TaskRunError(Exception):
    """Root of every error raised on purpose by TaskRun Center."""

    #: Stable machine-readable code, used by the API's ``message_code`` and the CLI's JSON output.
    code = "TASKRUN_ERROR"


class ConfigurationError(TaskRunError):
    """Raised when a setting, a config file entry or a CLI option is invalid."""

    code = "CONFIGURATION_INVALID"


class RunNotFoundError(TaskRunError):
    """Raised when no run has the given run_id."""

    code = "RESOURCE_NOT_FOUND"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} not found")
        self.run_id = run_id


class ItemNotFoundError(TaskRunError):
    """Raised when a run has no item with the given type and key."""

    code = "RESOURCE_NOT_FOUND"

    def __init__(self, run_id: str, item_type: str, item_key: str) -> None:
        super().__init__(f"item {item_type}/{item_key!r} of run {run_id!r} not found")
        self.run_id = run_id
        self.item_type = item_type
        self.item_key = item_key


class DuplicateItemError(TaskRunError):
    """Raised when items with the same (item_type, item_key) are declared twice for one run."""

    code = "ITEM_DUPLICATE"

    def __init__(self, run_id: str, duplicates: list[tuple[str, str]]) -> None:
        shown = ", ".join(f"{item_type}/{item_key}" for item_type, item_key in duplicates[:10])
        super().__init__(f"run {run_id!r} already has or was given twice the items: {shown}")
        self.run_id = run_id
        self.duplicates = duplicates


class InvalidTransitionError(TaskRunError):
    """Raised when a status change is not allowed from the current status."""

    code = "INVALID_TRANSITION"

    def __init__(self, object_id: str, current: str, requested: str) -> None:
        super().__init__(f"{object_id}: cannot change status from {current} to {requested}")
        self.object_id = object_id
        self.current = current
        self.requested = requested


class _NamedInputError(TaskRunError):
    """Base of the errors that name one input and give the reason in both languages.

    ``reason_text`` is the reason in both languages, for the CLI and the API. ``reason`` and
    ``str()`` are English, for logs.
    """

    def __init__(self, message: str, name: str, reason: Text) -> None:
        super().__init__(message)
        self.reason = reason.en
        self.reason_text = reason
        self._name = name

    def render_reason(self, language: str) -> str:
        """Return the reason in ``language`` (Chinese unless it is English)."""
        return self.reason_text.render(language)

    def __reduce__(self) -> tuple[type[_NamedInputError], tuple[str, Text]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self._name, self.reason_text)


class InvalidValueError(_NamedInputError):
    """Raised when a value given to the write service cannot be stored; names the field."""

    code = "INVALID_VALUE"

    def __init__(self, field: str, reason: Text) -> None:
        super().__init__(f"invalid {field}: {reason.en}", field, reason)
        self.field = field


class UnknownTaskTypeError(TaskRunError):
    """Raised when a task key is not registered where a registered type is required."""

    code = "TASK_TYPE_UNKNOWN"

    def __init__(self, task_key: str) -> None:
        super().__init__(f"task type {task_key!r} is not registered")
        self.task_key = task_key


class InvalidQueryError(_NamedInputError):
    """Raised when a list or filter parameter is invalid; names the parameter."""

    code = "INVALID_PARAMETER"

    def __init__(self, parameter: str, reason: Text) -> None:
        super().__init__(f"invalid parameter {parameter!r}: {reason.en}", parameter, reason)
        self.parameter = parameter


class StorageError(TaskRunError):
    """Raised when the database fails; the driver error is chained as ``__cause__``."""

    code = "STORAGE_ERROR"
