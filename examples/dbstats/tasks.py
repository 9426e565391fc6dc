"""The ``dbstats_collect`` task: one item per database, a skip when there is nothing to do.

A database that cannot be read (a missing file, a corrupt file, an unreachable server) fails
its own item with the reason. The other databases are still measured, and the run ends as
``completed_with_errors``.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

from examples.dbstats.probes import describe_target, probe
from taskrun_center.config import get_settings
from taskrun_center.contract import MetricDefinition, Tone
from taskrun_center.i18n import Text
from taskrun_center.runners import RunContext, TaskResult, task

# Comma-separated database URLs used when the run gets no ``targets`` argument.
TARGETS_ENV = "DBSTATS_TARGETS"
MEBIBYTE = 1024 * 1024
NO_TARGETS = Text(
    "没有要统计的数据库：请传入 targets 参数或设置 " + TARGETS_ENV,
    "No databases to measure: pass targets or set " + TARGETS_ENV,
)
LARGEST = Text("最大：{name}（{size:.1f} MiB）", "Largest: {name} ({size:.1f} MiB)")


class DbStatsData(BaseModel):
    """``ext.data`` of a ``dbstats_collect`` run: totals only, per-database detail is in items."""

    model_config = ConfigDict(extra="forbid")

    databases: int
    failed: int
    total_bytes: int
    total_tables: int


@task(
    key="dbstats_collect",
    name_zh="数据库体积统计",
    name_en="Database size statistics",
    category="example",
    data_model=DbStatsData,
    metrics=[
        MetricDefinition("databases", "已统计数据库", "Databases measured", tone=Tone.SUCCESS),
        MetricDefinition("failed", "失败", "Failed"),
        MetricDefinition("total_size_mb", "总大小", "Total size", unit="MiB"),
        MetricDefinition("total_tables", "表总数", "Tables", unit="tables"),
    ],
    description_zh="统计指定 SQLite 与 PostgreSQL 数据库的大小和表数量。",
    description_en="Measure the size and table count of the given SQLite and PostgreSQL databases.",
)
def collect_database_stats(ctx: RunContext, *, targets: list[str] | None = None) -> TaskResult:
    """Measure every database in ``targets`` (default: ``DBSTATS_TARGETS``)."""
    urls = targets if targets is not None else _targets_from_environment()
    if not urls:
        return ctx.skip(NO_TARGETS.render(get_settings().language))

    labels = {url: describe_target(url) for url in urls}
    ctx.init_items([("database", labels[url], labels[url]) for url in urls])
    total_bytes = 0
    total_tables = 0
    largest: tuple[str, int] | None = None
    for url in urls:
        with ctx.item("database", labels[url]) as item:
            stats = probe(url)
            item.metrics.update(size_bytes=stats.size_bytes, tables=stats.tables)
            item.details.update(backend=stats.backend, largest_tables=stats.largest_tables)
            total_bytes += stats.size_bytes
            total_tables += stats.tables
            if largest is None or stats.size_bytes > largest[1]:
                largest = (labels[url], stats.size_bytes)

    measured = ctx.counts.completed
    failed = ctx.counts.failed
    highlights = []
    if largest is not None:
        name = os.path.basename(largest[0])
        highlights.append(
            LARGEST.render(get_settings().language, name=name, size=largest[1] / MEBIBYTE)
        )
    return TaskResult(
        metrics={
            "databases": measured,
            "failed": failed,
            "total_size_mb": round(total_bytes / MEBIBYTE, 2),
            "total_tables": total_tables,
        },
        highlights=highlights,
        ext_data=DbStatsData(
            databases=measured, failed=failed, total_bytes=total_bytes, total_tables=total_tables
        ),
    )


def _targets_from_environment() -> list[str]:
    return [url.strip() for url in os.environ.get(TARGETS_ENV, "").split(",") if url.strip()]
