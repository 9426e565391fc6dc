"""Settings read from ``TASKRUN_*`` environment variables; every default works out of the box.

CLI options override these per command. Nested limit settings use a double underscore, for
example ``TASKRUN_SUMMARY_LIMITS__MAX_BYTES=32768``. An invalid value raises
``InvalidSettingsError``, which names each variable and its rule in both languages.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from taskrun_center.config_errors import (
    ENV_PREFIX,
    InvalidSettingsError,
    SettingProblem,
    check_database_url,
    check_language,
    check_proxy_addresses,
    problem_of_settings_error,
    problems_of,
)

DEFAULT_DATABASE_FILE = "taskrun.db"
LOG_FORMATS = ("console", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SummaryLimits(BaseModel):
    """Capacity limits on a run's summary (the envelope), checked before anything is stored."""

    model_config = {"frozen": True}

    max_bytes: int = Field(
        16 * 1024,
        ge=256,
        description="Maximum serialized size in bytes (compact UTF-8 JSON); larger is rejected.",
    )
    warn_bytes: int = Field(
        8 * 1024,
        ge=0,
        description="Warning threshold in bytes; a larger summary is accepted, logged and audited.",
    )
    max_array_items: int = Field(50, ge=1, description="Maximum elements in any array.")
    max_highlights: int = Field(20, ge=0, description="Maximum entries in common.highlights.")
    max_highlight_chars: int = Field(200, ge=1, description="Maximum characters in one highlight.")
    max_object_keys: int = Field(50, ge=1, description="Maximum keys in any object.")
    max_depth: int = Field(
        6,
        ge=1,
        description="Maximum nesting levels inside inputs, scope.target and ext.data.",
    )
    max_string_chars: int = Field(
        1024, ge=1, description="Maximum characters in any string or key."
    )


class ItemLimits(BaseModel):
    """Capacity limits on item data; oversize data is truncated visibly, never rejected."""

    model_config = {"frozen": True}

    max_metrics_bytes: int = Field(4 * 1024, ge=256)
    max_details_bytes: int = Field(64 * 1024, ge=1024)
    max_error_chars: int = Field(4 * 1024, ge=128)


class Settings(BaseSettings):
    """Process-wide settings; see the README's configuration table for each default."""

    model_config = SettingsConfigDict(
        env_prefix="TASKRUN_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}",
        description="SQLAlchemy URL; a SQLite file taskrun.db in the working directory by default.",
    )
    language: str = Field("zh-CN", description="Language of messages: zh-CN or en.")
    log_level: str = Field("INFO")
    log_format: str = Field("console", description="console or json.")
    summary_limits: SummaryLimits = Field(default_factory=SummaryLimits)
    item_limits: ItemLimits = Field(default_factory=ItemLimits)

    sqlite_busy_timeout_ms: int = Field(5000, ge=0)
    retention_days: int = Field(30, ge=1, description="Age of finished runs that purge deletes.")
    keep_last: int = Field(10, ge=0, description="Newest runs per task key that purge keeps.")
    purge_batch_size: int = Field(2000, ge=1, description="Runs deleted per transaction.")
    # At most ten years: a longer timeout means "never", and the cutoff would leave the dates
    # that databases store.
    reap_timeout_seconds: int = Field(600, ge=10, le=315_360_000,
                                      description="Silence before a run is reaped.")
    pending_timeout_seconds: int = Field(
        3600, ge=10, le=315_360_000, description="Wait before a pending run is reaped."
    )
    heartbeat_interval_seconds: float = Field(15.0, gt=0)

    scheduler_config: str | None = Field(None, description="TOML file with scheduler jobs.")
    task_modules: str = Field(
        "", description="Comma-separated modules that declare tasks, imported at start-up."
    )
    host: str = Field("127.0.0.1")
    port: int = Field(8000, ge=1, le=65535)
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated proxy addresses or networks whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are trusted; empty trusts none (proxy headers are ignored).",
    )
    secret_key: str | None = Field(None, description="Signs session cookies; generated when unset.")
    admin_password: str | None = Field(None, description="Password of the first admin user.")
    celery_broker_url: str = Field("redis://127.0.0.1:6379/0")
    celery_enabled: bool = Field(
        False,
        description="Run-now and scheduled runs go to Celery; cancel revokes the Celery task.",
    )
    celery_result_backend: str | None = Field(
        None,
        description="Celery result backend for item chords; a Redis broker URL when unset.",
    )
    celery_queue: str = Field("taskrun", description="Celery queue that runs are sent to.")

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return _passing(check_database_url(value), value)

    @field_validator("heartbeat_interval_seconds")
    @classmethod
    def _beats_within_reap_timeout(cls, value: float, info: ValidationInfo) -> float:
        # The reaper fails a running run silent for its timeout: with beats further apart than
        # half of it, one late beat would fail a live run.
        timeout = info.data.get("reap_timeout_seconds")
        if timeout is not None and value > timeout / 2:
            raise PydanticCustomError("heartbeat_interval", "more than half the reap timeout",
                                      {"limit": f"{timeout / 2:g}"})
        return value

    @field_validator("celery_enabled")
    @classmethod
    def _celery_installed(cls, value: bool) -> bool:
        # Checked here, so that every command stops before it does anything (a server would
        # otherwise create its first admin and fail on the first run-now).
        if value and not _installed("celery"):
            raise PydanticCustomError("celery_missing", "the celery package is not installed")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        return _passing(check_proxy_addresses(value), value)

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        return _passing(check_language(value), value)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise PydanticCustomError("log_level", "unknown log level")
        return level

    @field_validator("log_format")
    @classmethod
    def _known_log_format(cls, value: str) -> str:
        if value not in LOG_FORMATS:
            raise PydanticCustomError("log_format", "unknown log format")
        return value


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        # ValueError: an entry of None in sys.modules, which blocks the import.
        return False


def _passing(problem: SettingProblem | None, value: str) -> str:
    """Return ``value`` when ``problem`` is None, else raise it for pydantic to report."""
    if problem is not None:
        raise PydanticCustomError(problem.kind, problem.rule.en, dict(problem.context))
    return value


def setting_variables() -> frozenset[str]:
    """Return every environment variable that sets something, nested limits included."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"{ENV_PREFIX}{name.upper()}")
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            names.update(f"{ENV_PREFIX}{name.upper()}__{inner.upper()}"
                         for inner in nested.model_fields)
    return frozenset(names)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process, read once from the environment.

    Raises:
        InvalidSettingsError: a ``TASKRUN_*`` variable is invalid; one problem per variable.
    """
    try:
        return Settings()
    except ValidationError as error:
        # The pydantic error quotes the input, which may be a URL with a password.
        raise InvalidSettingsError(problems_of(error)) from None
    except SettingsError as error:
        raise InvalidSettingsError([problem_of_settings_error(str(error))]) from None
