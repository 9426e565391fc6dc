"""Example app: collect database sizes and table counts, one item per database.

Importing this package declares the task ``dbstats_collect``. Run it with::

    TASKRUN_TASK_MODULES=examples.dbstats taskrun run dbstats_collect \
        --arg 'targets=["sqlite:///taskrun.db"]'
"""

from examples.dbstats.tasks import DbStatsData, collect_database_stats

__all__ = ["DbStatsData", "collect_database_stats"]
