"""Tasks whose errors carry secrets written as name and value, for the storage tests.

``taskrun`` subprocesses import this module through ``TASKRUN_TASK_MODULES``.
"""

from __future__ import annotations

from taskrun_center.runners import RunContext, task

ITEM_ERROR = 'bad config {"password": "correct horse battery", "user": "app"}'


@task(key="secret_env_crash", name_zh="环境变量密码示例", name_en="Env password sample",
      category="sample")
def secret_env_crash(ctx: RunContext) -> None:
    """Fail one item with a quoted passphrase, then raise with a PGPASSWORD assignment."""
    with ctx.item("step", "config") as item:
        item.details.update({"connect": "PGPASSWORD=Hunter2Secret psql", "PGPASSWORD": "x1"})
        item.fail(ITEM_ERROR)
    raise Exception("PGPASSWORD=Hunter2Secret")
