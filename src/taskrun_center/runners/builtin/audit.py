"""``task_runs_audit``: check every stored run and item against the contract.

The summary contains the counts, with one metric per violated rule up to the metric cap. The
offending run_ids go to one item per rule, in its details, never to the summary. Findings do
not fail the run: the audit did its work, and its metrics turn red.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from taskrun_center.config import get_settings
from taskrun_center.contract import RULES, MetricDefinition, Tone
from taskrun_center.i18n import Text
from taskrun_center.maintenance.audit import AuditResult, audit_runs
from taskrun_center.runners.context import RunContext
from taskrun_center.runners.definition import task
from taskrun_center.runners.result import TaskResult

# Summary metrics left for per-rule counts after the four totals, within the 50-entry cap.
MAX_RULE_METRICS = 40
ALL_CLEAR = Text("{scanned} 次运行全部符合契约", "All {scanned} runs pass the contract")
FOUND = Text(
    "{runs} 处违规，涉及 {rules} 条规则；运行 ID 见子项详情",
    "{runs} violations of {rules} rules; run_ids are in the item details",
)

METRICS = (
    MetricDefinition("runs_scanned", "检查运行数", "Runs scanned", tone=Tone.INFO),
    MetricDefinition("items_scanned", "检查子项数", "Items scanned", tone=Tone.INFO),
    MetricDefinition("violations", "违规数", "Violations"),
    MetricDefinition("rules_violated", "违反规则数", "Rules violated"),
    MetricDefinition(
        "summaries_over_warning_size", "摘要超过告警大小", "Summaries over warning size"
    ),
)


class AuditData(BaseModel):
    """``ext.data`` of an audit run."""

    model_config = ConfigDict(extra="forbid")

    runs_scanned: int
    items_scanned: int
    violations: int
    rules_violated: int
    unregistered_task_keys: int
    summaries_over_warning_size: int = 0


@task(
    key="task_runs_audit",
    name_zh="审计运行记录",
    name_en="Audit stored runs",
    category="maintenance",
    data_model=AuditData,
    metrics=METRICS,
    description_zh="逐条检查已存储的运行摘要与子项数据是否符合契约。",
    description_en="Check every stored summary and item against the contract.",
)
def audit_task(ctx: RunContext) -> TaskResult:
    """Audit every stored run; one item per violated rule with the offending run_ids."""
    result = audit_runs(ctx.database)
    language = get_settings().language
    _record_rule_items(ctx, result)

    total = sum(result.counts.values())
    data = AuditData(
        runs_scanned=result.scanned,
        items_scanned=result.items_scanned,
        violations=total,
        rules_violated=len(result.counts),
        unregistered_task_keys=len(result.unregistered),
        summaries_over_warning_size=sum(result.warnings.values()),
    )
    if total:
        highlight = FOUND.render(language, runs=total, rules=len(result.counts))
    else:
        highlight = ALL_CLEAR.render(language, scanned=result.scanned)
    return TaskResult(metrics=_metrics(result, language), highlights=[highlight], ext_data=data)


def _record_rule_items(ctx: RunContext, result: AuditResult) -> None:
    examples: dict[str, list[dict[str, str]]] = {}
    for finding in result.violations:
        examples.setdefault(finding.rule, []).append(
            {"run_id": finding.run_id, "path": finding.path}
        )

    warning_examples: dict[str, list[dict[str, str]]] = {}
    for finding in result.warning_findings:
        warning_examples.setdefault(finding.rule, []).append(
            {"run_id": finding.run_id, "path": finding.path}
        )
    for rule, count in sorted(result.warnings.items()):
        with ctx.item("warning", rule, _rule_name(rule)) as item:
            item.metrics["summaries"] = count
            item.details.update(rule=rule, first_runs=warning_examples.get(rule, []))

    if not result.counts:
        with ctx.item("scan", "all", "全部运行 / All runs") as item:
            item.metrics.update(runs=result.scanned, items=result.items_scanned)
        return
    for rule, count in sorted(result.counts.items()):
        info = RULES.get(rule)
        with ctx.item("rule", rule, info.meaning_zh if info else rule) as item:
            item.metrics["violations"] = count
            item.details.update(rule=rule, first_offenders=examples.get(rule, []))
            if info is not None:
                item.details.update(meaning_zh=info.meaning_zh, meaning_en=info.meaning_en)


def _rule_name(rule: str) -> str:
    info = RULES.get(rule)
    return info.meaning_zh if info else rule


def _metrics(result: AuditResult, language: str) -> list[dict[str, Any]]:
    total = sum(result.counts.values())
    oversize = sum(result.warnings.values())
    values = {
        "runs_scanned": result.scanned,
        "items_scanned": result.items_scanned,
        "violations": total,
        "rules_violated": len(result.counts),
        "summaries_over_warning_size": oversize,
    }
    # Red for violations, amber for oversize summaries that were accepted, green otherwise.
    alert_tone = {"violations": "danger", "rules_violated": "danger",
                  "summaries_over_warning_size": "warning"}
    metrics: list[dict[str, Any]] = []
    for definition in METRICS:
        if definition.tone is not None:
            tone = definition.tone.value
        else:
            tone = alert_tone[definition.key] if values[definition.key] else "success"
        metrics.append(
            {
                "key": definition.key,
                "label": definition.label(language),
                "value": values[definition.key],
                "tone": tone,
            }
        )
    for rule, count in sorted(result.counts.items())[:MAX_RULE_METRICS]:
        metrics.append({"key": rule, "label": rule, "value": count, "tone": "danger"})
    return metrics
