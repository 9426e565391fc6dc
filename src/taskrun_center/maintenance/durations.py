"""Parse the short durations that maintenance options take, such as ``30d``, ``12h`` or ``90m``."""

from __future__ import annotations

import re
from datetime import timedelta

from taskrun_center.errors import ConfigurationError
from taskrun_center.i18n import Text

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_PATTERN = re.compile(r"(\d{1,9})\s*([smhdw])")
# Far beyond any retention anyone sets, and small enough that ``now - duration`` cannot overflow.
MAX_DURATION = timedelta(days=36_500)

# Reasons in both languages. ``{value}`` is the text as given, quoted by ``repr`` so that a
# control or bidi character shows as an escape such as \x01 or \u202e.
_NOT_A_DURATION = Text(
    "{value} 不是有效的时长：应为整数加单位 s、m、h、d 或 w，例如 30d、12h 或 90m",
    "{value} is not a valid duration: expected a whole number and a unit s, m, h, d or w, "
    "for example 30d, 12h or 90m",
)
_ZERO_DURATION = Text(
    "时长必须大于零，收到 {value}；例如 30d、12h 或 90m",
    "the duration must be greater than zero, got {value}; for example 30d, 12h or 90m",
)
_TOO_LONG = Text(
    "时长 {value} 超过上限 100 年（36500d）；例如 30d、12h 或 90m",
    "the duration {value} exceeds the maximum of 100 years (36500d); for example 30d, 12h "
    "or 90m",
)


class InvalidDurationError(ConfigurationError):
    """Raised when an option's text is not a duration in range.

    ``str()`` is English for logs. ``reason_text`` is the reason in both languages without the
    option name, for a command line that names the option itself.
    """

    def __init__(self, option: str, value: str, reason: Text) -> None:
        self.option = option
        self.value = value
        self.reason_text = Text(reason.zh.format(value=repr(value)),
                                reason.en.format(value=repr(value)))
        super().__init__(f"{option}: {self.reason_text.en}")


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """Parse ``text`` as a whole number followed by s, m, h, d or w (``90m``, ``30d``).

    Raises:
        InvalidDurationError: the text is not such a duration, is zero or exceeds 100 years;
            the message names ``option``.
    """
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidDurationError(option, text, _NOT_A_DURATION)

    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds == 0:
        raise InvalidDurationError(option, text, _ZERO_DURATION)
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidDurationError(option, text, _TOO_LONG)
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """Return ``duration`` in the largest unit that divides it, such as ``30d`` or ``90m``."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
