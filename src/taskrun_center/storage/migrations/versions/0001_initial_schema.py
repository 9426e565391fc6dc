"""Create the initial schema: runs, items, users, API tokens and the scheduler leader row.

Why: every part of the product stores its data in these five tables; a fresh database gets them
from this revision. Column types are spelled out here instead of imported from the models, so
that later model changes never rewrite history.

Locks: none of any existing table. Every statement creates a new table or an index on a new,
empty table.

Revision: 0001; revises: nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RUN_STATUSES = ("pending", "running", "completed", "completed_with_errors", "failed", "cancelled")
ITEM_STATUSES = ("pending", "running", "completed", "failed", "cancelled")
TRIGGER_SOURCES = ("scheduled", "manual", "api", "cli", "celery")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({listed})"


def upgrade() -> None:
    """Create the five tables and the indexes of the list page and the reaper."""
    _create_task_runs()
    _create_task_run_items()
    _create_users_and_tokens()
    _create_scheduler_leader()


def _create_task_runs() -> None:
    op.create_table(
        "task_runs",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("task_key", sa.String(128), nullable=False),
        sa.Column("task_name", sa.String(255), nullable=False),
        sa.Column("task_category", sa.String(64), nullable=False),
        sa.Column("trigger_source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("started_at", _timestamp()),
        sa.Column("completed_at", _timestamp()),
        sa.Column("heartbeat_at", _timestamp()),
        sa.Column("duration_ms", sa.BigInteger()),
        sa.Column("created_by", sa.String(128)),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("progress_completed", sa.Integer(), nullable=False),
        sa.Column("progress_failed", sa.Integer(), nullable=False),
        sa.Column("summary_json", _json(), nullable=False),
        sa.Column("is_skipped", sa.Boolean(), nullable=False),
        sa.Column("result_url", sa.String(2048)),
        sa.Column("error_message", sa.Text()),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_runs"),
        sa.UniqueConstraint("run_id", name="uq_task_runs_run_id"),
        sa.CheckConstraint(_one_of("status", RUN_STATUSES), name="ck_task_runs_status"),
        sa.CheckConstraint(
            _one_of("trigger_source", TRIGGER_SOURCES), name="ck_task_runs_trigger_source"
        ),
        sa.CheckConstraint(
            "progress_total >= 0 AND progress_completed >= 0 AND progress_failed >= 0",
            name="ck_task_runs_progress_non_negative",
        ),
    )
    # The list page sorts newest first, optionally narrowed by one filter column; the id breaks
    # ties so that keyset pagination is exact.
    op.create_index("ix_task_runs_started_at_id", "task_runs", ["started_at", "id"])
    op.create_index(
        "ix_task_runs_task_key_started_at", "task_runs", ["task_key", "started_at", "id"]
    )
    op.create_index("ix_task_runs_status_started_at", "task_runs", ["status", "started_at", "id"])
    op.create_index(
        "ix_task_runs_category_started_at", "task_runs", ["task_category", "started_at", "id"]
    )
    op.create_index(
        "ix_task_runs_trigger_started_at", "task_runs", ["trigger_source", "started_at", "id"]
    )
    op.create_index("ix_task_runs_completed_at_id", "task_runs", ["completed_at", "id"])
    op.create_index("ix_task_runs_duration_ms_id", "task_runs", ["duration_ms", "id"])
    # The reaper scans in-progress runs by their last sign of life.
    op.create_index("ix_task_runs_status_heartbeat_at", "task_runs", ["status", "heartbeat_at"])


def _create_task_run_items() -> None:
    op.create_table(
        "task_run_items",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("item_type", sa.String(64), nullable=False),
        sa.Column("item_key", sa.String(255), nullable=False),
        sa.Column("item_name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", _timestamp()),
        sa.Column("completed_at", _timestamp()),
        sa.Column("metrics_json", _json()),
        sa.Column("details_json", _json()),
        sa.Column("error_message", sa.Text()),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_run_items"),
        # Items are deleted with their run, so a purge deletes runs only.
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["task_runs.run_id"],
            name="fk_task_run_items_run_id_task_runs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "run_id", "item_type", "item_key", name="uq_task_run_items_run_item"
        ),
        sa.CheckConstraint(_one_of("status", ITEM_STATUSES), name="ck_task_run_items_status"),
    )
    op.create_index("ix_task_run_items_run_id_status", "task_run_items", ["run_id", "status"])


def _create_users_and_tokens() -> None:
    op.create_table(
        "users",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('viewer', 'admin')", name="ck_users_role"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("user_id", _id(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("last_used_at", _timestamp()),
        sa.Column("expires_at", _timestamp()),
        sa.Column("revoked_at", _timestamp()),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
    )


def _create_scheduler_leader() -> None:
    op.create_table(
        "scheduler_leader",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("since", _timestamp(), nullable=False),
        sa.Column("renewed_at", _timestamp(), nullable=False),
        sa.Column("jobs_json", _json()),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_leader"),
    )


def downgrade() -> None:
    """Drop every table of the product, with all its data."""
    op.drop_table("scheduler_leader")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index("ix_task_run_items_run_id_status", table_name="task_run_items")
    op.drop_table("task_run_items")
    op.drop_table("task_runs")
