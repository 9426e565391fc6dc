"""Pydantic v2 models of the summary envelope, version 1.

Every model forbids keys it does not name and validates strictly: no string is turned into a
number and no number into a boolean. Values reach these models already normalised to plain JSON.
Errors raised by the checks here use the contract's rule codes as their pydantic error type, so
that ``structure.pydantic_violations`` can report them unchanged.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SUMMARY_VERSION = 1

# Task keys of runs: letters, digits and _ . : - (registered task types are stricter: snake_case).
TASK_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
METRIC_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class Tone(StrEnum):
    """Colour of a metric in the console."""

    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    DANGER = "danger"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check_version(value: int) -> int:
    if value != SUMMARY_VERSION:
        raise PydanticCustomError(
            "envelope.version", "unsupported summary version; only version 1 exists"
        )
    return value


def _check_metric_value(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise PydanticCustomError(
        "envelope.metric_value", "a metric value must be a number, string, boolean or null"
    )


@lru_cache(maxsize=1024)
def is_time_zone(name: str) -> bool:
    """Return True when ``name`` is an IANA time zone known to this system."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


SummaryVersion = Annotated[int, AfterValidator(_check_version)]
MetricValue = Annotated[
    Any,
    AfterValidator(_check_metric_value),
    WithJsonSchema({"type": ["number", "string", "boolean", "null"]}),
]


class DateScope(_Strict):
    """The day a run covers, in the time zone it was counted in."""

    type: Literal["date"]
    timezone: str = Field(description="IANA time zone name, for example Asia/Shanghai.")
    date: str = Field(description="Calendar day, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not is_time_zone(value):
            raise PydanticCustomError("envelope.scope_timezone", "unknown IANA time zone")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _real_day(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            if not _DATE_TEXT.match(value):
                raise ValueError(value)
            date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "envelope.scope_date", "not a calendar day in the form YYYY-MM-DD"
            ) from None
        return value


class Scope(_Strict):
    """Scope of a run: a time (a day) and a target (free-form, small)."""

    time: DateScope | None
    target: dict[str, Any]


class Metric(_Strict):
    """One key figure of a run, shown on the list page."""

    key: str = Field(pattern=METRIC_KEY_PATTERN)
    label: str = Field(min_length=1)
    value: MetricValue
    unit: str | None = None
    tone: Tone | None = Field(None, strict=False)


class Flags(_Strict):
    """Whether the run skipped its work, and why."""

    skipped: bool
    skip_reason: str | None

    @model_validator(mode="after")
    def _reason_matches_skipped(self) -> Flags:
        has_reason = bool(self.skip_reason and self.skip_reason.strip())
        if self.skipped and not has_reason:
            raise PydanticCustomError(
                "envelope.skip_reason_missing", "a skipped run needs a non-empty skip_reason"
            )
        if not self.skipped and self.skip_reason is not None:
            raise PydanticCustomError(
                "envelope.skip_reason_unexpected", "skip_reason must be null unless skipped"
            )
        return self


class Common(_Strict):
    """The part every task type shares and the list page renders the same way."""

    inputs: dict[str, Any]
    scope: Scope
    metrics: list[Metric]
    highlights: list[str]
    flags: Flags

    @field_validator("metrics")
    @classmethod
    def _unique_keys(cls, metrics: list[Metric]) -> list[Metric]:
        keys = [metric.key for metric in metrics]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError(
                "envelope.duplicate_metric_key", "metric keys must be unique in the list"
            )
        return metrics


class Ext(_Strict):
    """The task type's own part: its key, the version of its data, and small aggregated data."""

    type: str = Field(pattern=TASK_KEY_PATTERN)
    version: int = Field(ge=1)
    data: dict[str, Any]


class TaskRunSummaryV1(_Strict):
    """The summary envelope stored in ``task_runs.summary_json``: exactly version, common, ext."""

    version: SummaryVersion = Field(json_schema_extra={"const": SUMMARY_VERSION})
    common: Common
    ext: Ext
