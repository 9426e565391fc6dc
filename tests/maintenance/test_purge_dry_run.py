"""A dry run counts what a real purge deletes, however differently the two split the batches."""

from __future__ import annotations

from datetime import timedelta

from taskrun_center.maintenance.purge import purge_runs
from taskrun_center.storage.engine import Database
from tests.maintenance.bulk_rows import add_runs, count_rows


def test_dry_run_counts_match_other_batches(database_url: str) -> None:
    add_runs(database_url, 25)
    database = Database(database_url)

    # A long target time per batch keeps the batch size fixed, so the batch counts are exact.
    try:
        dry = purge_runs(database, older_than=timedelta(days=30), keep_last=2, batch_size=3,
                         batch_seconds=60, dry_run=True)
        real = purge_runs(database, older_than=timedelta(days=30), keep_last=2, batch_size=25,
                          batch_seconds=60)
    finally:
        database.dispose()

    assert (dry.runs, dry.items) == (23, 23)
    assert (real.runs, real.items) == (dry.runs, dry.items)
    assert dry.batches == 9
    assert real.batches == 1
    assert count_rows(database_url) == (2, 2)
