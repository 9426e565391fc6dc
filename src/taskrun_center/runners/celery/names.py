"""Names of the Celery tasks that TaskRun Center registers; workers and senders share them."""

from __future__ import annotations

# Runs one declared task as one run; the message's Celery task id is the run_id.
EXECUTE_RUN = "taskrun.execute_run"
# Processes one item of a run whose items are spread over many workers.
RUN_ITEM = "taskrun.run_item"
# Ends a run whose items were spread over many workers, once every item task has returned.
FINALIZE_ITEMS = "taskrun.finalize_items"
