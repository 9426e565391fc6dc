"""Logging configuration for entry points (CLI, web server, scheduler, Celery worker).

Library modules only call ``structlog.get_logger(__name__)``; handlers are configured here, once,
by the process that owns the terminal or the log file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from taskrun_center.config import get_settings
from taskrun_center.contract import MASK, mask_text
from taskrun_center.contract.secret_keys import key_rejects_value

# Joins the values of one log event for a single masking scan.
_SEPARATOR = "\x00"
# Set once the process's handlers are installed; a second call changes nothing.
_state = {"configured": False}


def mask_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask secret and personal-data spans in every string of a log event.

    The last line of defence: a task's exception text or a command's output can carry a password
    that no caller masked. Runs after the traceback has been formatted, so the traceback is
    masked too. Values other than strings, numbers, booleans and None are masked as ``str()``.
    A value under a key that names a secret (``password=``, ``api_key=``) is replaced whole,
    by the rule that summaries follow.
    """
    keys: list[str] = []
    texts: list[str] = []
    for key, value in event_dict.items():
        if key_rejects_value(key, value):
            # log.info("connected", password=...) : the key names a secret, as in a summary.
            event_dict[key] = MASK
            continue
        if isinstance(value, str):
            texts.append(value)
        elif value is not None and not isinstance(value, bool | int | float):
            texts.append(str(value))
        else:
            continue
        keys.append(key)
    for key, masked in zip(keys, _mask_all(texts), strict=True):
        event_dict[key] = masked
    return event_dict


def _mask_all(texts: list[str]) -> list[str]:
    # Each scan pays a fixed cost per detector, so one scan of the values joined by NUL costs
    # far less than one scan per value. No detector matches NUL, so every span stays inside
    # its value. A value that contains NUL itself is masked on its own.
    if len(texts) > 1 and not any(_SEPARATOR in text for text in texts):
        masked = mask_text(_SEPARATOR.join(texts)).value.split(_SEPARATOR)
        if len(masked) == len(texts):
            return list(masked)
    return [mask_text(text).value for text in texts]


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Send structlog and standard logging to stderr, as console text or JSON lines."""
    if _state["configured"]:
        return
    settings = get_settings()
    level_name = (level or settings.log_level).upper()
    renderer: structlog.types.Processor
    if (fmt or settings.log_format) == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        # Plain tracebacks: the rich formatter prints local variables, which may hold secrets.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # A line below the level is dropped before the other processors run: a worker's
        # debug lines then cost one level check each.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    _state["configured"] = True
