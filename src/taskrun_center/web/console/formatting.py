"""Jinja filters: numbers, durations and times as a person reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from taskrun_center.i18n import Text
from taskrun_center.states import ItemStatus, RunStatus, TriggerSource


def format_number(value: Any) -> str:
    """Group thousands of integers; show floats with up to two decimals."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def format_duration(milliseconds: Any, language: str = "zh-CN") -> str:
    """Render a duration such as ``850 ms``, ``12.3 s``, ``4 min 5 s``, ``2 h 3 min``."""
    if not isinstance(milliseconds, int | float) or milliseconds < 0:
        return "—"
    if milliseconds < 1000:
        return f"{int(milliseconds)} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_time(value: Any, with_seconds: bool = True) -> str:
    """Render a UTC time as ``2026-12-04 19:58:06`` (the console shows UTC throughout)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "—"
    moment = value.astimezone(UTC) if value.tzinfo else value
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def time_element(value: Any) -> Markup:
    """Render a ``<time>`` element whose ``datetime`` attribute the script localises."""
    text = format_time(value)
    if text == "—":
        return Markup("—")
    iso = value.isoformat() if isinstance(value, datetime) else str(value)
    return Markup('<time datetime="{}">{}</time>').format(iso, text)


def status_label(status: str, language: str) -> str:
    """Return the label of a run status, or the raw value when it is unknown."""
    try:
        member = RunStatus(status)
    except ValueError:
        return status
    return member.label_en if language == "en" else member.label_zh


def item_status_label(status: str, language: str) -> str:
    """Return the label of an item status, or the raw value when it is unknown."""
    try:
        member = ItemStatus(status)
    except ValueError:
        return status
    return member.label_en if language == "en" else member.label_zh


def trigger_label(source: str, language: str) -> str:
    """Return the label of a trigger source, or the raw value when it is unknown."""
    try:
        member = TriggerSource(source)
    except ValueError:
        return source
    return member.label_en if language == "en" else member.label_zh


def progress_percent(completed: int, failed: int, total: int) -> int:
    """Return the share of finished items (completed or failed) as a whole percentage."""
    if total <= 0:
        return 0
    return min(100, round(100 * (completed + failed) / total))


def translate(text: Text, language: str, **params: object) -> str:
    """Render a bilingual ``Text`` (the templates' ``t`` filter)."""
    return text.render(language, **params)
