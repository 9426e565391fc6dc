"""Tell PostgreSQL that pending and running runs have no finish time and no duration.

Why: the planner treats the columns of a filter as independent. Asked for the running runs
without a finish time, it estimated about 1 in 50 of them, when every running run has none.
It then chose bitmap scans that collect and sort every running run (23 ms with 10,000 running
runs) over the ``(status, id)`` index, which yields a page in under a millisecond. Extended
statistics of kind ``mcv`` record the common pairs of a status and a missing value: pending
with no start, pending and running with no finish and no duration. ``ANALYZE`` fills them in;
autovacuum keeps them current afterwards.

SQLite has no extended statistics, so nothing changes there.

Locks: neither statement blocks reads or writes of ``task_runs``. ``ANALYZE`` reads a sample
of the rows, which takes seconds on a large table.

Revision: 0010; revises: 0009.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# One statistics object per column: in a combined list the unique timestamps would leave no
# pair common enough to be recorded.
STATISTICS = {
    "st_task_runs_status_started_at": "started_at",
    "st_task_runs_status_completed_at": "completed_at",
    "st_task_runs_status_duration_ms": "duration_ms",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, column in STATISTICS.items():
        op.execute(f"CREATE STATISTICS {name} (mcv) ON status, {column} FROM task_runs")
    op.execute("ANALYZE task_runs")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
