"""Index runs by duration per status and trigger source, and by task key and status per trigger
source.

Why: the slowest failed runs (``status=failed``, sorted by duration, longest first) were found
by walking the duration index from the longest run and skipping the runs in other statuses. The
longest runs are mostly completed ones, so page 1 read tens of thousands of them: 16 to 45 ms
at 1,000,000 runs on SQLite. Durations follow the task, and so, mostly, do trigger sources: a
trigger source's runs by duration took 8 to 22 ms. The ``(…, duration_ms, id)`` indexes start
at the longest or shortest match. For the same reason
the runs that people started, sorted by task key or status, walked past whole tasks without a
match: 70 to 330 ms. ``(trigger_source, task_key, id)`` and ``(trigger_source, status, id)``
start at the first match. Several values read one branch each and merge them.

No ``(task_category, duration_ms, id)``: a category's runs by duration take under 13 ms
without it, and SQLite, which has no statistics here, breaks a tie between indexes of one
leading column by the order of their creation. It chose that index for a category with a
trigger source and read the category's runs in duration order, twice as slow as before.

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

INDEXES = {
    "ix_task_runs_status_duration_ms_id": ["status", "duration_ms", "id"],
    "ix_task_runs_trigger_task_key_id": ["trigger_source", "task_key", "id"],
    "ix_task_runs_trigger_status_id": ["trigger_source", "status", "id"],
    "ix_task_runs_trigger_duration_ms_id": ["trigger_source", "duration_ms", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "task_runs", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="task_runs")
