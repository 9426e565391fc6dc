"""Tables: ``task_runs`` (one row per run) and ``task_run_items`` (one row per sub-unit).

Every status change goes through ``lifecycle.write_service``; code elsewhere only reads these
rows. ``duration_ms`` and ``is_skipped`` are derived from other columns by the write service so
that the list page can sort and filter on them through an index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from taskrun_center.states import ItemStatus, RunStatus, TriggerSource
from taskrun_center.storage.types import JsonColumn, UTCDateTime, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The condition of the partial index of skipped runs, per dialect: the form in which
#: ``TaskRun.is_skipped.is_(True)`` compiles there.
SKIPPED_CONDITION = {"sqlite": "is_skipped IS 1", "postgresql": "is_skipped IS true"}
#: The index of ``task_runs.task_name`` (revision 0012), which the text search needs.
TASK_NAME_INDEX = "ix_task_runs_task_name"


def _in_values(
    column: str, values: type[RunStatus] | type[ItemStatus] | type[TriggerSource]
) -> str:
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TaskRun(Base):
    """One run of one task."""

    __tablename__ = "task_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    task_key: Mapped[str] = mapped_column(String(128), nullable=False)
    task_name: Mapped[str] = mapped_column(String(255), nullable=False)
    task_category: Mapped[str] = mapped_column(String(64), nullable=False, default="other")
    trigger_source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(BigInteger())
    created_by: Mapped[str | None] = mapped_column(String(128))
    progress_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    progress_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    summary_json: Mapped[dict[str, Any]] = mapped_column(JsonColumn, nullable=False)
    is_skipped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    result_url: Mapped[str | None] = mapped_column(String(2048))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    __table_args__ = (
        CheckConstraint(_in_values("status", RunStatus), name="status"),
        CheckConstraint(_in_values("trigger_source", TriggerSource), name="trigger_source"),
        CheckConstraint(
            "progress_total >= 0 AND progress_completed >= 0 AND progress_failed >= 0",
            name="progress_non_negative",
        ),
        # The list page: newest first, optionally narrowed by one filter column.
        Index("ix_task_runs_started_at_id", "started_at", "id"),
        Index("ix_task_runs_task_key_started_at", "task_key", "started_at", "id"),
        Index("ix_task_runs_task_key_trigger_started_at", "task_key", "trigger_source",
              "started_at", "id"),
        Index("ix_task_runs_status_started_at", "status", "started_at", "id"),
        Index("ix_task_runs_category_started_at", "task_category", "started_at", "id"),
        Index("ix_task_runs_trigger_started_at", "trigger_source", "started_at", "id"),
        # The sorts: each sort column followed by id, the tie-breaker.
        Index("ix_task_runs_completed_at_id", "completed_at", "id"),
        Index("ix_task_runs_duration_ms_id", "duration_ms", "id"),
        Index("ix_task_runs_status_id", "status", "id"),
        Index("ix_task_runs_task_key_id", "task_key", "id"),
        # One task's runs in the other sorts. The console's task cards open the list narrowed to
        # one task key. Sorted there (the slowest runs, the failed ones first), a page would
        # otherwise walk a sort index past every other task's runs.
        Index("ix_task_runs_task_key_completed_at_id", "task_key", "completed_at", "id"),
        Index("ix_task_runs_task_key_duration_ms_id", "task_key", "duration_ms", "id"),
        Index("ix_task_runs_task_key_status_id", "task_key", "status", "id"),
        # One task's runs in a status within a time range: "the failed runs of this task".
        Index("ix_task_runs_task_key_status_started_at", "task_key", "status", "started_at",
              "id"),
        # The same for a category. Without it, a category's runs in a status were found by
        # reading every run in that status. The next index serves a category by task key.
        Index("ix_task_runs_category_status_started_at", "task_category", "status",
              "started_at", "id"),
        Index("ix_task_runs_category_task_key_id", "task_category", "task_key", "id"),
        # The runs in one status sorted by task key.
        # NOTE: PostgreSQL may also walk it for one task key sorted by status. It then reads the
        # other tasks' entries too: 9 to 13 ms a page at 1,000,000 runs on one copy of the data,
        # where (task_key, status, id) takes 0.2 ms.
        Index("ix_task_runs_status_task_key_id", "status", "task_key", "id"),
        # The runs in one status by duration: the slowest failed runs. The longest runs are
        # mostly completed ones, which a walk of the duration index would pass first.
        Index("ix_task_runs_status_duration_ms_id", "status", "duration_ms", "id"),
        # The runs of a trigger source (the ones people started) by task key and by status.
        # Tasks mostly run from one source, so the sort indexes pass whole tasks without a match.
        Index("ix_task_runs_trigger_task_key_id", "trigger_source", "task_key", "id"),
        Index("ix_task_runs_trigger_status_id", "trigger_source", "status", "id"),
        # Durations follow the task, so a trigger source's runs by duration are the ones the
        # duration index passes in whole tasks. Migration 0011 explains why a category has none.
        Index("ix_task_runs_trigger_duration_ms_id", "trigger_source", "duration_ms", "id"),
        # Skipped runs only, so a list of them does not read every run. The condition is
        # written as the queries write it: SQLite uses a partial index only for a query whose
        # WHERE clause contains the index's condition.
        Index("ix_task_runs_skipped_started_at", "started_at", "id",
              sqlite_where=sql_text(SKIPPED_CONDITION["sqlite"]),
              postgresql_where=sql_text(SKIPPED_CONDITION["postgresql"])),
        # The reaper scans in-progress runs by their last sign of life.
        Index("ix_task_runs_status_heartbeat_at", "status", "heartbeat_at"),
        # The text search lists the distinct task names through it (``lifecycle.search_plan``).
        Index(TASK_NAME_INDEX, "task_name"),
    )


class TaskRunItem(Base):
    """One sub-unit of a run: an instance, a rule, a step, a database…"""

    __tablename__ = "task_run_items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("task_runs.run_id", ondelete="CASCADE"), nullable=False
    )
    item_type: Mapped[str] = mapped_column(String(64), nullable=False)
    item_key: Mapped[str] = mapped_column(String(255), nullable=False)
    item_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    metrics_json: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn)
    details_json: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    __table_args__ = (
        UniqueConstraint("run_id", "item_type", "item_key", name="uq_task_run_items_run_item"),
        CheckConstraint(_in_values("status", ItemStatus), name="status"),
        Index("ix_task_run_items_run_id_status", "run_id", "status"),
    )


class User(Base):
    """A console or API user; ``role`` is viewer or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    language: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )

    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'admin')", name="role"),
        # Rejects a name equal to another under the database's lower() (revision 0006). The
        # full rule, which also folds width and every letter, is in accounts.create_user.
        Index("uq_users_lower_username", func.lower(username), unique=True),
    )


class ApiToken(Base):
    """A machine credential sent as ``Authorization: Bearer …``; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    token_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SchedulerLeader(Base):
    """Leader of this database's scheduler; ``epoch`` grows at every takeover."""

    __tablename__ = "scheduler_leader"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    holder_id: Mapped[str] = mapped_column(String(64), nullable=False)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    jobs_json: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonColumn)
