"""Checking a run's arguments against the task function's signature and annotations.

Arguments come from JSON (the API, job files, Celery messages) or from ``--arg key=value`` on
the command line, so they are checked before a run is created: an unknown or missing argument,
or a value that does not fit the parameter's annotation, is rejected with the argument's name
and the expected type. Values are converted by pydantic in lax mode (``"5"`` to ``5`` for an
``int``, an ISO date string to a ``date``), and the task receives the converted values.
Constraints given with ``Annotated`` apply too: ``Annotated[int, Field(ge=10)]`` rejects 5.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import (
    ConfigDict,
    PydanticSchemaGenerationError,
    PydanticUserError,
    TypeAdapter,
    ValidationError,
)

from taskrun_center.config_errors import rule_text
from taskrun_center.i18n import Text
from taskrun_center.runners.errors import TaskArgumentsError

_WRONG_TYPE = Text(
    "任务 {task_key} 的参数 {argument} 无效：应为 {expected}（{detail}）",
    "invalid argument {argument} for task {task_key}: expected {expected} ({detail})",
)
_NOT_BOUND = Text(
    "任务 {task_key} 的参数与函数签名不符（Python 提示：{detail}）",
    "the arguments do not fit the signature of task {task_key}: {detail}",
)
# A validator and the expected type as messages name it.
_Validator = tuple[TypeAdapter[Any], str]
# Numbers given for a ``str`` parameter become text: ``--arg label=2024`` parses as JSON 2024.
_LAX = ConfigDict(coerce_numbers_to_str=True)


def check_task_arguments(
    task_key: str, func: Callable[..., Any], arguments: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return ``arguments`` converted to the annotated types of ``func``'s parameters.

    The first parameter is the run context and is never given. Parameters without an
    annotation, or whose annotation cannot be resolved, take any value.

    Raises:
        TaskArgumentsError: an argument is unknown, a required one is missing, or a value does
            not fit its parameter's annotation; ``argument`` names the one at fault.
    """
    given = dict(arguments or {})
    signature = _signature(func)
    try:
        signature.bind(None, **given)
    except TypeError as error:
        raise TaskArgumentsError(
            task_key, str(error), reason_text=_fill(_NOT_BOUND, task_key=task_key, detail=error)
        ) from None

    validators = _validators(func)
    converted: dict[str, Any] = {}
    for name, value in given.items():
        validator = validators.get(name)
        converted[name] = value if validator is None else _convert(task_key, name, validator, value)
    return converted


def _convert(task_key: str, name: str, validator: _Validator, value: Any) -> Any:
    adapter, expected = validator
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        # The first pydantic error names the problem without repeating the value.
        first = error.errors(include_url=False, include_input=False)[0]
        detail = first["msg"]
        rule = rule_text(first["type"], {**first.get("ctx", {}), "message": detail})
        reason_text = Text(
            _WRONG_TYPE.zh.format(task_key=task_key, argument=name, expected=expected,
                                  detail=rule.zh),
            _WRONG_TYPE.en.format(task_key=task_key, argument=name, expected=expected,
                                  detail=rule.en),
        )
        raise TaskArgumentsError(
            task_key,
            f"argument {name!r} expects {expected}: {detail}",
            argument=name,
            reason_text=reason_text,
        ) from None


@functools.lru_cache(maxsize=1024)
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    # inspect.signature costs tens of microseconds; each run checks its arguments once.
    return inspect.signature(func)


@functools.lru_cache(maxsize=1024)
def _validators(func: Callable[..., Any]) -> dict[str, _Validator]:
    """Build one validator per annotated keyword parameter, once per function."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        # An annotation naming something not importable here: check names and count only.
        hints = {}
    parameters = list(_signature(func).parameters.values())[1:]
    validators: dict[str, _Validator] = {}
    for parameter in parameters:
        keyword = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        hint = hints.get(parameter.name)
        if not keyword or hint is None or hint is Any:
            continue
        adapter = _adapter(hint)
        if adapter is not None:
            validators[parameter.name] = (adapter, _type_name(hint))
    return validators


def _adapter(hint: Any) -> TypeAdapter[Any] | None:
    try:
        return TypeAdapter(hint, config=_LAX)
    except PydanticUserError:
        # Models, dataclasses and TypedDicts bring their own config.
        pass
    except PydanticSchemaGenerationError:
        # A class pydantic cannot validate (an arbitrary object type) takes any value.
        return None
    try:
        return TypeAdapter(hint)
    except (PydanticUserError, PydanticSchemaGenerationError):
        return None


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _fill(text: Text, **params: object) -> Text:
    return Text(text.zh.format(**params), text.en.format(**params))
