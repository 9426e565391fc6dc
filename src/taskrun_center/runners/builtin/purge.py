"""``task_runs_purge``: delete finished runs older than the retention, keeping the newest ones.

The run is skipped, with the reason, when no run is old enough. It never deletes a pending or
running run, so it never deletes itself.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from taskrun_center.config import get_settings
from taskrun_center.contract import MetricDefinition, Tone
from taskrun_center.i18n import Text
from taskrun_center.maintenance import PurgeResult, purge_runs
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.definition import task
from taskrun_center.runners.result import TaskResult

NOTHING_OLD_ENOUGH = Text(
    "没有早于 {cutoff} 完成的运行（保留 {days} 天，每个任务保留最新 {keep} 次）",
    "No run completed before {cutoff} (retention {days} days, newest {keep} per task kept)",
)
PURGED = Text("已删除 {runs} 次运行和 {items} 个子项", "Deleted {runs} runs and {items} items")


class PurgeData(BaseModel):
    """``ext.data`` of a purge run."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int
    keep_last: int
    cutoff: str | None
    dry_run: bool
    runs_deleted: int
    items_deleted: int
    batches: int


@task(
    key="task_runs_purge",
    name_zh="清理过期运行记录",
    name_en="Purge old runs",
    category="maintenance",
    data_model=PurgeData,
    metrics=[
        MetricDefinition("runs_deleted", "删除运行数", "Runs deleted", tone=Tone.INFO),
        MetricDefinition("items_deleted", "删除子项数", "Items deleted", tone=Tone.INFO),
        MetricDefinition("runs_kept", "按保留数保留", "Kept by keep-last", tone=Tone.INFO),
        MetricDefinition("retention_days", "保留天数", "Retention", unit="d"),
        MetricDefinition("duration_seconds", "耗时", "Duration", unit="s"),
    ],
    description_zh="按保留期分批删除已结束的运行及其子项。",
    description_en="Delete finished runs and their items past the retention, in batches.",
)
def purge_task(
    ctx: RunContext,
    *,
    retention_days: int | None = None,
    keep_last: int | None = None,
    dry_run: bool = False,
) -> TaskResult:
    """Purge finished runs completed more than ``retention_days`` ago (default: the setting)."""
    settings = get_settings()
    days = settings.retention_days if retention_days is None else retention_days
    keep = settings.keep_last if keep_last is None else keep_last
    language = settings.language

    with ctx.item("step", "purge", "按保留期清理 / Purge by retention") as item:
        result = purge_runs(
            ctx.database, older_than=timedelta(days=days), keep_last=keep, dry_run=dry_run
        )
        item.metrics.update(result.to_dict()["counts"])
        item.details.update(result.to_dict())

    cutoff = result.cutoff.isoformat() if result.cutoff else None
    data = _data(days, keep, cutoff, dry_run, result)
    metrics = {
        "runs_deleted": result.runs,
        "items_deleted": result.items,
        "runs_kept": result.kept_runs,
        "retention_days": days,
        "duration_seconds": round(result.duration_seconds, 3),
    }
    if result.runs == 0:
        shown = f"{result.cutoff:%Y-%m-%d %H:%M} UTC" if result.cutoff else "-"
        reason = NOTHING_OLD_ENOUGH.render(language, cutoff=shown, days=days, keep=keep)
        return TaskResult.skip(reason, metrics=metrics, ext_data=data)
    highlight = PURGED.render(language, runs=result.runs, items=result.items)
    return TaskResult(metrics=metrics, highlights=[highlight], ext_data=data)


def _data(
    days: int, keep: int, cutoff: str | None, dry_run: bool, result: PurgeResult
) -> PurgeData:
    return PurgeData(
        retention_days=days,
        keep_last=keep,
        cutoff=cutoff,
        dry_run=dry_run,
        runs_deleted=result.runs,
        items_deleted=result.items,
        batches=result.batches,
    )
