"""Logging configuration for entry points (CLI, web server, scheduler, Celery worker).

Library modules only call ``structlog.get_logger(__name__)``; handlers are configured here, once,
by the process that owns the terminal or the log file.
"""

from __future__ import annotations

import logging
import sys

import structlog

from taskrun_center.config import get_settings

_configured = False


def configure_logging(level: str | None = None, fmt: str | None = None) -> None:
    """Send structlog and standard logging to stderr, as console text or JSON lines."""
    global _configured
    if _configured:
        return
    settings = get_settings()
    level_name = (level or settings.log_level).upper()
    renderer: structlog.types.Processor
    if (fmt or settings.log_format) == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    _configured = True
