"""Tasks declared for the runner tests, also imported by subprocesses (scheduler, reaper).

Subprocesses import this module through ``TASKRUN_TASK_MODULES=tests.runners.sample_tasks``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from taskrun_center.contract import MetricDefinition, Tone
from taskrun_center.runners import RunContext, TaskResult, task


class CountData(BaseModel):
    """``ext.data`` of ``sample_count``."""

    model_config = ConfigDict(extra="forbid")

    processed: int


@task(
    key="sample_count",
    name_zh="计数示例",
    name_en="Count sample",
    category="sample",
    data_model=CountData,
    metrics=[MetricDefinition("processed", "已处理", "Processed", unit="items", tone=Tone.SUCCESS)],
)
def sample_count(ctx: RunContext, *, count: int = 3, fail_at: int | None = None) -> TaskResult:
    """Process ``count`` items; the item ``fail_at`` raises with a secret in its message."""
    ctx.init_items([("number", str(index), f"Number {index}") for index in range(count)])
    for index in range(count):
        with ctx.item("number", str(index)) as item:
            if index == fail_at:
                raise RuntimeError("cannot reach db with password=hunter2secret")
            item.metrics["square"] = index * index
    done = ctx.counts.completed
    return TaskResult(metrics={"processed": done}, ext_data=CountData(processed=done))


@task(key="sample_async", name_zh="异步示例", name_en="Async sample", category="sample")
async def sample_async(ctx: RunContext, *, count: int = 2) -> None:
    """Process ``count`` items, awaiting between them."""
    for index in range(count):
        with ctx.item("step", f"s{index}") as item:
            await asyncio.sleep(0)
            item.details["index"] = index


@task(key="sample_skip", name_zh="跳过示例", name_en="Skip sample", category="sample")
def sample_skip(ctx: RunContext) -> TaskResult:
    """Do nothing and return the skip reason."""
    return ctx.skip("nothing to sync today")


@task(key="sample_crash", name_zh="崩溃示例", name_en="Crash sample", category="sample")
def sample_crash(ctx: RunContext) -> None:
    """Raise outside any item, with a token in the message."""
    with ctx.item("step", "first"):
        pass
    raise ValueError("upstream rejected token ghp_abcdefghijklmnopqrstuvwxyz0123456789")


@task(key="sample_bad_summary", name_zh="坏摘要示例", name_en="Bad summary sample")
def sample_bad_summary(ctx: RunContext) -> TaskResult:
    """Return a summary the contract rejects: a metric key that names a secret."""
    with ctx.item("step", "only"):
        pass
    return TaskResult(metrics=[{"key": "password", "label": "pw", "value": "x"}])


@task(key="sample_slow", name_zh="慢任务示例", name_en="Slow sample", category="sample")
def sample_slow(
    ctx: RunContext, *, count: int = 50, seconds: float = 0.05, marker: str | None = None
) -> None:
    """Process ``count`` items of ``seconds`` each; touch ``marker`` (with the pid) at start."""
    if marker:
        # Written whole and then renamed: a test that waits for the file reads it complete.
        partial = Path(f"{marker}.partial")
        partial.write_text(f"{os.getpid()} {ctx.run_id}")
        partial.replace(marker)
    for index in range(count):
        with ctx.item("step", str(index)):
            time.sleep(seconds)


@task(key="sample_quick", name_zh="快速示例", name_en="Quick sample", category="sample")
def sample_quick(ctx: RunContext, *, label: str = "tick") -> None:
    """Record one item with the pid of the process that ran it; the scheduler tests fire it."""
    with ctx.item("step", label) as item:
        item.details["pid"] = os.getpid()


@task(key="sample_long_key", name_zh="超长键示例", name_en="Long key sample", category="sample")
def sample_long_key(ctx: RunContext) -> None:
    """Record one item whose key is longer than its column allows, and one normal item."""
    with ctx.item("row", "k" * 300):
        pass
    with ctx.item("row", "ok"):
        pass


@task(key="sample_secret_result", name_zh="结果含密钥示例", name_en="Secret result sample",
      category="sample")
def sample_secret_result(ctx: RunContext) -> TaskResult:
    """End with an error message that contains a DSN with its password."""
    return TaskResult(error_message="result err postgresql://admin:S3cretPw@127.0.0.1/prod")


@task(key="sample_secret_key_fails", name_zh="密钥键失败示例", name_en="Secret key fails sample",
      category="sample")
def sample_secret_key_fails(ctx: RunContext) -> None:
    """Fail the only item, whose key contains a DSN and is therefore rejected."""
    with ctx.item("db", "postgresql://u:pw1111111@h/x"):
        raise RuntimeError("copy failed")
