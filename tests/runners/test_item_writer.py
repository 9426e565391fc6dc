"""Item batches: complete_items counts only the items it changed, on both databases."""

from __future__ import annotations

from taskrun_center.lifecycle.write_service import ItemCompletion, ItemSpec, TaskRunsWriteService
from taskrun_center.storage.engine import Database
from tests.runners.rows import load_items, load_run


def test_complete_items_skips_terminal_items(database: Database) -> None:
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        run_id = service.start_run(task_key="batch_demo").run_id
        service.init_items(run_id, [ItemSpec("row", key) for key in "abc"])
        service.fail_item(run_id, "row", "b", error_message="broken")

    with database.transaction() as session:
        changed = TaskRunsWriteService(session).complete_items(
            run_id,
            [
                ItemCompletion("row", "a", metrics={"n": 1}),
                ItemCompletion("row", "b", metrics={"n": 2}),
                ItemCompletion("row", "c"),
            ],
        )

    assert changed == 2
    items = load_items(database, run_id)
    assert (items["a"].status, items["b"].status, items["c"].status) == (
        "completed",
        "failed",
        "completed",
    )
    assert items["a"].metrics_json == {"n": 1}
    assert items["c"].metrics_json is None
    run = load_run(database, run_id)
    assert (run.progress_completed, run.progress_failed) == (2, 1)
