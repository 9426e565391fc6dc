"""Tasks the Celery tests run; the worker subprocesses import this module.

Workers import it through ``TASKRUN_TASK_MODULES=tests.celery.sample_tasks``; the test process
imports it too, so ``enqueue_run`` and ``enqueue_item_run`` know the same task keys.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from taskrun_center.runners import ItemRecorder, RunContext, task
from taskrun_center.runners.celery import item_handler, set_retry_policy

# Bound on every wait inside a task, so a test that fails never leaves a worker busy for long.
MAX_WAIT_SECONDS = 30.0


@task(key="celery_gate", name_zh="闸门示例", name_en="Gate sample", category="sample")
def celery_gate(ctx: RunContext, *, gate_path: str, count: int = 2) -> None:
    """Record ``count`` items once the file ``gate_path`` exists (the test creates it)."""
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while not Path(gate_path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    for index in range(count):
        with ctx.item("step", f"s{index}") as item:
            item.metrics["pid"] = os.getpid()


@task(key="celery_slow", name_zh="慢任务示例", name_en="Slow sample", category="sample")
def celery_slow(
    ctx: RunContext, *, count: int = 100, delay: float = 0.05, marker_path: str | None = None
) -> None:
    """Record ``count`` items, ``delay`` seconds each; touch ``marker_path`` when it starts."""
    if marker_path:
        Path(marker_path).write_text(str(os.getpid()))
    ctx.init_items([("step", f"s{index}") for index in range(count)])
    for index in range(count):
        with ctx.item("step", f"s{index}"):
            time.sleep(delay)


@task(key="celery_secret_failure", name_zh="泄密失败示例", name_en="Secret failure sample",
      category="sample")
def celery_secret_failure(ctx: RunContext) -> None:
    """Fail with an exception whose message contains a password and a bearer token."""
    raise RuntimeError(
        "login to postgresql://app:s3cr3t-pass@db.internal/app failed, "
        "password=hunter2secret token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    )


@task(key="celery_flaky", name_zh="不稳定示例", name_en="Flaky sample", category="sample")
def celery_flaky(ctx: RunContext, *, counter_path: str, failures: int) -> None:
    """Fail the first ``failures`` attempts, counted in the file ``counter_path``."""
    path = Path(counter_path)
    attempts = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempts))
    if attempts <= failures:
        raise RuntimeError(f"attempt {attempts} failed on purpose")
    with ctx.item("attempt", str(attempts)):
        pass


set_retry_policy("celery_flaky", max_retries=2, delay_seconds=0)


@item_handler("celery_fanout")
def process_fanout_item(item: ItemRecorder, *, fail_every: int = 0, delay: float = 0) -> None:
    """Record the worker's pid; fail the items whose number is a multiple of ``fail_every``."""
    time.sleep(delay)
    item.metrics["pid"] = os.getpid()
    number = int(item.item_key)
    if fail_every and number % fail_every == 0:
        raise ValueError(f"item {number} failed on purpose")
