"""Index the runs of a status by duration.

Why: the slowest failed runs (``status=failed``, sorted by duration, longest first) were found
by walking the duration index from the longest run and skipping the runs in other statuses. The
longest runs are mostly completed ones, so page 1 read tens of thousands of them: 16 to 45 ms
at 1,000,000 runs on SQLite. ``(status, duration_ms, id)`` starts at the longest run of the
status; several statuses read one branch each and merge them.

Locks: building an index blocks writes to ``task_runs`` on both databases until it is built
(seconds per million runs). Run the upgrade in a quiet moment on a large table.

Revision: 0011; revises: 0010.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_task_runs_status_duration_ms_id"


def upgrade() -> None:
    op.create_index(INDEX, "task_runs", ["status", "duration_ms", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="task_runs")
