"""Turn an exception into what may be stored and logged: masked text, never a raw secret."""

from __future__ import annotations

import traceback

from taskrun_center.contract import mask_text

# Stored error messages are capped again by the write service; this keeps log lines short too.
MAX_MESSAGE_CHARS = 2000


def describe_error(error: BaseException) -> str:
    """Return ``"ExceptionType: message"`` with secrets and personal data masked."""
    text = f"{type(error).__name__}: {_message_of(error)}".strip()
    masked = mask_text(text).value
    if len(masked) > MAX_MESSAGE_CHARS:
        masked = masked[: MAX_MESSAGE_CHARS - 1] + "…"
    return masked


def _message_of(error: BaseException) -> str:
    # A task's own exception class may fail to turn into text; the run must still end.
    try:
        return str(error)
    except Exception as failure:
        return f"(no message: str() raised {type(failure).__name__})"


def masked_traceback(error: BaseException) -> str:
    """Return the traceback of ``error`` for the log, with its message line masked.

    The frames show file names, line numbers and source lines, which carry no runtime values.
    The exception's message can carry them, so it goes through the same masking as stored
    messages.
    """
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"Traceback (most recent call last):\n{frames}{describe_error(error)}"
