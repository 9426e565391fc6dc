"""``task_runs_reap``: fail runs abandoned by a crashed worker (no heartbeat for too long).

The reaped run_ids go to the item's details, not to the summary. A pass that finds nothing is
recorded as skipped, with the reason, so the list shows at a glance that all was well.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from taskrun_center.config import get_settings
from taskrun_center.contract import MetricDefinition, Tone
from taskrun_center.i18n import Text
from taskrun_center.maintenance import reap_runs
from taskrun_center.maintenance.reaper import MAX_TIMEOUT, MIN_PENDING_TIMEOUT, MIN_REAP_TIMEOUT
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.definition import task
from taskrun_center.runners.result import TaskResult

NOTHING_TO_REAP = Text(
    "没有被遗弃的运行（运行中超过 {timeout} 秒无心跳，或排队超过 {pending} 秒）",
    "No abandoned run (running without a heartbeat for {timeout} s, or queued for {pending} s)",
)
REAPED = Text("回收了 {count} 次被遗弃的运行", "Reaped {count} abandoned runs")

# The same bounds as TASKRUN_REAP_TIMEOUT_SECONDS, TASKRUN_PENDING_TIMEOUT_SECONDS and
# ``taskrun reap``.
_MAX_SECONDS = int(MAX_TIMEOUT.total_seconds())
_ReapSeconds = Annotated[int | None, Field(ge=int(MIN_REAP_TIMEOUT.total_seconds()),
                                           le=_MAX_SECONDS)]
_PendingSeconds = Annotated[int | None, Field(ge=int(MIN_PENDING_TIMEOUT.total_seconds()),
                                              le=_MAX_SECONDS)]


class ReapData(BaseModel):
    """``ext.data`` of a reap run."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: int
    pending_timeout_seconds: int
    running_reaped: int
    pending_reaped: int
    errors: int


@task(
    key="task_runs_reap",
    name_zh="回收被遗弃的运行",
    name_en="Reap abandoned runs",
    category="maintenance",
    data_model=ReapData,
    metrics=[
        MetricDefinition("running_reaped", "回收运行中", "Running reaped", tone=Tone.WARNING),
        MetricDefinition("pending_reaped", "回收排队中", "Pending reaped", tone=Tone.WARNING),
        MetricDefinition("errors", "出错", "Errors", tone=Tone.DANGER),
    ],
    description_zh="将长时间没有心跳的运行标记为失败。",
    description_en="Mark runs that stopped sending heartbeats as failed.",
)
def reap_task(
    ctx: RunContext,
    *,
    timeout_seconds: _ReapSeconds = None,
    pending_timeout_seconds: _PendingSeconds = None,
) -> TaskResult:
    """Reap runs silent for longer than the timeouts (defaults: the settings)."""
    settings = get_settings()
    timeout = timeout_seconds or settings.reap_timeout_seconds
    pending = pending_timeout_seconds or settings.pending_timeout_seconds

    with ctx.item("step", "reap", "回收 / Reap") as item:
        result = reap_runs(
            ctx.database,
            timeout=timedelta(seconds=timeout),
            pending_timeout=timedelta(seconds=pending),
        )
        item.metrics.update(result.to_dict()["counts"])
        item.details.update(result.to_dict())

    data = ReapData(
        timeout_seconds=timeout,
        pending_timeout_seconds=pending,
        running_reaped=result.running,
        pending_reaped=result.pending,
        errors=result.errors,
    )
    metrics = {
        "running_reaped": result.running,
        "pending_reaped": result.pending,
        "errors": result.errors,
    }
    if result.total == 0 and result.errors == 0:
        reason = NOTHING_TO_REAP.render(settings.language, timeout=timeout, pending=pending)
        return TaskResult.skip(reason, metrics=metrics, ext_data=data)
    highlight = REAPED.render(settings.language, count=result.total)
    return TaskResult(metrics=metrics, highlights=[highlight], ext_data=data)
