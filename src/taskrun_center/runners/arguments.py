"""Checking a run's arguments against the task function's signature and annotations.

Arguments come from JSON (the API, job files, Celery messages) or from ``--arg key=value`` on
the command line, so they are checked before a run is created: an unknown or missing argument,
or a value that does not fit the parameter's annotation, is rejected with the argument's name,
the expected type in plain words, the value given and an example of the right form. Values are
converted by pydantic in lax mode (``"5"`` to ``5`` for an ``int``, an ISO date string to a
``date``), and the task receives the converted values. Constraints given with ``Annotated``
apply too: ``Annotated[int, Field(ge=10)]`` rejects 5.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import inspect
import json
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
from taskrun_center.contract.masking import mask_text
from taskrun_center.i18n import Text
from taskrun_center.runners.errors import TaskArgumentsError

_WRONG_TYPE = Text(
    "任务 {task_key} 的参数 {argument} 无效：应为{expected}，但给出的是{given}。",
    "Invalid argument {argument} for task {task_key}: expected {expected}, but got {given}.",
)
_BROKEN_RULE = Text(
    "任务 {task_key} 的参数 {argument} 无效：{rule}，给出的是{given}。",
    "Invalid argument {argument} for task {task_key}: it {rule}, but got {given}.",
)
_ITEM = Text("（第 {position} 项不符）", " (item {position} does not fit)")
_EXAMPLE = Text(
    "正确写法示例：{example}（命令行上写作 --arg '{argument}={example}'）。",
    "Example of the right form: {example} (on the command line: --arg '{argument}={example}').",
)
# Only worth saying when text was given: that is what an invalid JSON value on --arg becomes.
_TEXT_NOTE = Text(
    "命令行 --arg 的值按 JSON 读取，不是合法 JSON 的值按文本读取："
    "['x']（单引号）是文本，[\"x\"]（双引号）才是列表。",
    "A value given with --arg is read as JSON, and a value that is not valid JSON is read as "
    "text: ['x'] with single quotes is text, while [\"x\"] with double quotes is a list.",
)
_UNKNOWN_ARGUMENT = Text(
    "任务 {task_key} 的参数 {argument} 无效：任务没有这个参数。它的参数有：{names}。",
    "Invalid argument {argument} for task {task_key}: the task has no such parameter. It "
    "takes: {names}.",
)
_NO_ARGUMENTS = Text(
    "任务 {task_key} 的参数 {argument} 无效：这个任务不接受参数。",
    "Invalid argument {argument} for task {task_key}: the task takes no arguments.",
)
_MISSING_ARGUMENT = Text(
    "任务 {task_key} 缺少必填参数 {argument}。请传入它（命令行上写作 --arg {argument}=值）。",
    "Missing argument {argument} for task {task_key}: pass it (on the command line: "
    "--arg {argument}=VALUE).",
)
_NOT_BOUND = Text(
    "任务 {task_key} 的参数与函数签名不符（Python 提示：{detail}）",
    "the arguments do not fit the signature of task {task_key}: {detail}",
)
# A validator and the annotation it checks, which error messages describe.
_Validator = tuple[TypeAdapter[Any], Any]
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
        raise _mismatch(task_key, signature, given, error) from None

    validators = _validators(func)
    converted: dict[str, Any] = {}
    for name, value in given.items():
        validator = validators.get(name)
        converted[name] = value if validator is None else _convert(task_key, name, validator, value)
    return converted


_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _mismatch(task_key: str, signature: inspect.Signature, given: Mapping[str, Any],
              error: TypeError) -> TaskArgumentsError:
    """Name the unknown or the missing argument; Python's own words are the last resort."""
    parameters = list(signature.parameters.values())[1:]
    names = [parameter.name for parameter in parameters if parameter.kind in _KEYWORD_KINDS]
    takes_any = any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters)
    unknown = [] if takes_any else [name for name in given if name not in names]
    missing = [parameter.name for parameter in parameters if parameter.kind in _KEYWORD_KINDS
               and parameter.default is inspect.Parameter.empty and parameter.name not in given]
    if unknown:
        listed = ", ".join(names)
        text = _fill(_UNKNOWN_ARGUMENT, task_key=task_key, argument=unknown[0],
                     names=listed) if names else _fill(_NO_ARGUMENTS, task_key=task_key,
                                                       argument=unknown[0])
        return TaskArgumentsError(task_key, text.en, argument=unknown[0], reason_text=text)
    if missing:
        text = _fill(_MISSING_ARGUMENT, task_key=task_key, argument=missing[0])
        return TaskArgumentsError(task_key, text.en, argument=missing[0], reason_text=text)
    return TaskArgumentsError(task_key, str(error),
                              reason_text=_fill(_NOT_BOUND, task_key=task_key, detail=error))


def _convert(task_key: str, name: str, validator: _Validator, value: Any) -> Any:
    adapter, hint = validator
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False)[0]
        raise TaskArgumentsError(
            task_key,
            f"argument {name!r} expects {_type_name(hint)}: {first['msg']}",
            argument=name,
            reason_text=_wrong_value_text(task_key, name, hint, value, first),
        ) from None


def _wrong_value_text(
    task_key: str, name: str, hint: Any, value: Any, error: Mapping[str, Any]
) -> Text:
    """Word a rejected value: the expected type or broken rule, the value given, an example."""
    given_words = _given_words(value)
    position = _item_position(error, value)
    if position is not None:
        item = _fill(_ITEM, position=position)
        given_words = Text(given_words.zh + item.zh, given_words.en + item.en)

    rule = _constraint_rule(error)
    if rule is not None:
        return _fill(_BROKEN_RULE, task_key=task_key, argument=name, rule=rule,
                     given=given_words)

    expected = _expected_words(hint)
    # Chinese puts a space between a Chinese character and a Latin word: 应为 JSON 对象.
    if expected.zh[:1].isascii():
        expected = Text(" " + expected.zh, expected.en)
    parts = [_fill(_WRONG_TYPE, task_key=task_key, argument=name, expected=expected,
                   given=given_words)]
    example = _example(hint)
    if example is not None:
        parts.append(_fill(_EXAMPLE, example=example, argument=name))
    if isinstance(value, str) and _is_container(hint):
        parts.append(_TEXT_NOTE)
    return Text("".join(part.zh for part in parts), " ".join(part.en for part in parts))


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
            validators[parameter.name] = (adapter, hint)
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
    """Format both languages of ``text``; a ``Text`` parameter gives each language its own."""
    zh = {key: value.zh if isinstance(value, Text) else value for key, value in params.items()}
    en = {key: value.en if isinstance(value, Text) else value for key, value in params.items()}
    return Text(text.zh.format(**zh), text.en.format(**en))


# The maximum length of the value a message shows, and how it names the kind of that value.
_SHOWN_VALUE_CHARS = 80
_GIVEN_KINDS: tuple[tuple[type, Text], ...] = (
    # bool before int, because True is an int too.
    (bool, Text("布尔值 {value}", "the boolean {value}")),
    (int, Text("整数 {value}", "the whole number {value}")),
    (float, Text("数字 {value}", "the number {value}")),
    (str, Text("文本 {value}", "the text {value}")),
    (list, Text("列表 {value}", "the list {value}")),
    (tuple, Text("列表 {value}", "the list {value}")),
    (dict, Text("JSON 对象 {value}", "the JSON object {value}")),
)
_GIVEN_NULL = Text("null", "null")
_GIVEN_OTHER = Text("{kind} 类型的值 {value}", "a value of type {kind}: {value}")

# Each plain type: its name in a message, its plural for "a list of …", and an example in JSON.
_SCALAR_WORDS: dict[Any, tuple[Text, Text, str]] = {
    str: (Text("文本", "text"), Text("文本", "text values"), '"abc"'),
    int: (Text("整数", "a whole number"), Text("整数", "whole numbers"), "10"),
    float: (Text("数字", "a number"), Text("数字", "numbers"), "1.5"),
    bool: (Text("布尔值（true 或 false）", "a boolean (true or false)"), Text("布尔值", "booleans"),
           "true"),
    dt.date: (Text("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"), Text("日期", "dates"),
              '"2026-01-31"'),
    dt.datetime: (Text("日期时间（ISO 8601）", "a date and time (ISO 8601)"),
                  Text("日期时间", "dates and times"), '"2026-01-31T08:00:00"'),
    dt.time: (Text("时刻（HH:MM:SS）", "a time of day (HH:MM:SS)"), Text("时刻", "times of day"),
              '"08:00:00"'),
    dt.timedelta: (Text("时长（秒数，或 ISO 8601 如 PT30M）",
                        "a duration (seconds, or ISO 8601 such as PT30M)"),
                   Text("时长", "durations"), "1800"),
    type(None): (Text("空值 null", "null"), Text("空值 null", "nulls"), "null"),
}
_SEQUENCES = (list, tuple, set, frozenset, typing.Sequence, typing.Iterable, typing.Collection)
_MAPPINGS = (dict, typing.Mapping, typing.MutableMapping)
_LIST_OF = Text("由{items}组成的列表", "a list of {items}")
_LIST = Text("列表", "a list")
_FIXED_LIST = Text("依次为{items}的 {count} 项列表", "a list of {count} items ({items})")
_OBJECT = Text("JSON 对象", "a JSON object")
_ONE_OF = Text("以下值之一：{values}", "one of {values}")
_OTHER_TYPE = Text("{name} 类型的值", "a value of type {name}")
_OTHER_TYPES = Text("{name} 类型的值", "values of type {name}")

# Rules that a value of the right type can still break, with pydantic's error context.
_CONSTRAINT_RULES: dict[str, Text] = {
    "too_short": Text("至少要有 {min_length} 项", "must have at least {min_length} items"),
    "too_long": Text("最多只能有 {max_length} 项", "must have at most {max_length} items"),
    "string_too_short": Text("至少要有 {min_length} 个字符",
                             "must have at least {min_length} characters"),
    "string_too_long": Text("最多只能有 {max_length} 个字符",
                            "must have at most {max_length} characters"),
    "string_pattern_mismatch": Text("必须匹配正则表达式 {pattern}",
                                    "must match the regular expression {pattern}"),
    "multiple_of": Text("必须是 {multiple_of} 的倍数", "must be a multiple of {multiple_of}"),
}
_SHARED_RULES = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
# Raised by a validator that the task declares; pydantic's message carries the task's words.
_TASK_CHECK = Text("未通过任务自己的校验（{message}）", "fails the task's own check ({message})")


def _given_words(value: Any) -> Text:
    """Name the kind of ``value`` and show it as JSON, masked and cut to a readable length."""
    if value is None:
        return _GIVEN_NULL
    try:
        shown_value = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        shown_value = repr(value)
    # Masked before it is cut, so that a cut cannot hide a password from the scanner.
    shown_value = mask_text(shown_value).value
    if len(shown_value) > _SHOWN_VALUE_CHARS:
        shown_value = shown_value[:_SHOWN_VALUE_CHARS] + "…"
    for kind, words in _GIVEN_KINDS:
        if isinstance(value, kind):
            return _fill(words, value=shown_value)
    return _fill(_GIVEN_OTHER, kind=type(value).__name__, value=shown_value)


def _item_position(error: Mapping[str, Any], value: Any) -> int | None:
    """Return the 1-based position of the list item at fault, if the error is in one."""
    if not isinstance(value, (list, tuple)):
        return None
    for part in error.get("loc", ()):
        if isinstance(part, int):
            return part + 1
    return None


def _constraint_rule(error: Mapping[str, Any]) -> Text | None:
    """Return the rule a value broke, or None when the value has the wrong type."""
    kind = error["type"]
    context = dict(error.get("ctx") or {})
    if kind in _SHARED_RULES:
        return rule_text(kind, context)
    if kind in _CONSTRAINT_RULES:
        return _fill(_CONSTRAINT_RULES[kind], **{key: str(value) for key, value in context.items()})
    if kind in ("value_error", "assertion_error"):
        # The task's own message may repeat the value, so it is masked like the value is.
        return _fill(_TASK_CHECK, message=mask_text(error["msg"]).value)
    return None


def _strip_annotated(hint: Any) -> Any:
    if typing.get_origin(hint) is typing.Annotated:
        return typing.get_args(hint)[0]
    return hint


def _union_members(hint: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(hint)
    if origin is typing.Union or (origin is not None and origin is type(int | str)):
        return typing.get_args(hint)
    return None


def _expected_words(hint: Any) -> Text:
    """Describe the values ``hint`` accepts in words a user understands: "a list of text"."""
    hint = _strip_annotated(hint)
    members = _union_members(hint)
    if members is not None:
        words = [_expected_words(member) for member in members if member is not type(None)]
        if type(None) in members:
            words.append(_SCALAR_WORDS[type(None)][0])
        return Text("或".join(word.zh for word in words), " or ".join(word.en for word in words))
    if hint in _SCALAR_WORDS:
        return _SCALAR_WORDS[hint][0]

    literals = _literal_values(hint)
    if literals is not None:
        values = ", ".join(json.dumps(value, ensure_ascii=False) for value in literals)
        return _fill(_ONE_OF, values=values)

    origin = typing.get_origin(hint) or hint
    if origin in _SEQUENCES:
        items = _sequence_item(hint)
        if items is not None:
            return _fill(_LIST_OF, items=_plural_words(items))
        return _fixed_list_words(typing.get_args(hint))
    return _OBJECT if origin in _MAPPINGS else _fill(_OTHER_TYPE, name=_type_name(hint))


def _fixed_list_words(items: tuple[Any, ...]) -> Text:
    """Describe ``tuple[int, str]``: a list of exactly these items in this order."""
    if not items:
        return _LIST
    words = [_expected_words(item) for item in items]
    return _fill(_FIXED_LIST, count=len(items), items=Text(
        "、".join(word.zh for word in words), ", ".join(word.en for word in words)))


def _plural_words(hint: Any) -> Text:
    hint = _strip_annotated(hint)
    if hint in _SCALAR_WORDS:
        return _SCALAR_WORDS[hint][1]
    return _fill(_OTHER_TYPES, name=_type_name(hint))


def _sequence_item(hint: Any) -> Any | None:
    """Return the item type of ``list[X]``, ``tuple[X, ...]`` and the like, else None."""
    arguments = typing.get_args(hint)
    if len(arguments) == 1 or (len(arguments) == 2 and arguments[1] is Ellipsis):
        return arguments[0]
    return None


def _literal_values(hint: Any) -> tuple[Any, ...] | None:
    """Return the values a ``Literal`` or an ``Enum`` class allows, else None."""
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return tuple(member.value for member in hint)
    return None


def _example(hint: Any) -> str | None:
    """Return a JSON value that ``hint`` accepts, or None when there is no simple one."""
    hint = _strip_annotated(hint)
    members = _union_members(hint)
    if members is not None:
        examples = (_example(member) for member in members if member is not type(None))
        return next((example for example in examples if example is not None), None)
    if hint in _SCALAR_WORDS:
        return _SCALAR_WORDS[hint][2]

    literals = _literal_values(hint)
    if literals:
        return _json_or_none(literals[0])

    origin = typing.get_origin(hint) or hint
    if origin in _MAPPINGS:
        arguments = typing.get_args(hint)
        value = _example(arguments[1]) if len(arguments) == 2 else "1"
        return None if value is None else f'{{"key": {value}}}'
    if origin in _SEQUENCES:
        items = _sequence_item(hint)
        item = _example(items) if items is not None else None
        return None if item is None else f"[{item}]"
    return None


def _is_container(hint: Any) -> bool:
    """Tell whether ``hint`` expects a JSON list or object (in at least one union member)."""
    hint = _strip_annotated(hint)
    members = _union_members(hint)
    if members is not None:
        return any(_is_container(member) for member in members)
    origin = typing.get_origin(hint) or hint
    return origin in _SEQUENCES or origin in _MAPPINGS


def _json_or_none(value: Any) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
