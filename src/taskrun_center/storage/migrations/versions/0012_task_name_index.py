"""Index runs by task name, for the run list's text search.

Why: the search matched ``lower(task_name) LIKE '%text%'`` or the same on ``run_id`` against
every run, which no index serves: 0.6 s for a text that matches nothing and 1.6 s for a
pasted run_id at 1,000,000 runs on SQLite (measured once). A task has one name or a few, so the
search now lists the distinct names by stepping through this index (one seek per name), tests
them, and reads the runs of the names that match through it again.

Locks: building an index blocks writes to ``task_runs`` on both databases until it is built
(seconds per million runs). Run the upgrade in a quiet moment on a large table.

Revision: 0012; revises: 0011.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX = "ix_task_runs_task_name"


def upgrade() -> None:
    op.create_index(INDEX, "task_runs", ["task_name"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="task_runs")
