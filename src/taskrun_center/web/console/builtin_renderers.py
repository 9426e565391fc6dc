"""Renderers of the built-in task types: purge, audit, reaper and commands run by ``taskrun exec``.

Each adds a one-line lead of the few facts an operator looks for first, above the generic metric
chips. Facts are read from ``ext.data`` by key; a key the run did not record is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskrun_center.i18n import Text
from taskrun_center.storage.rows import AnyRun
from taskrun_center.web.console.renderers import RendererRegistry, RunRenderer
from taskrun_center.web.console.summary_view import SummaryView


@dataclass(frozen=True, slots=True)
class Fact:
    """One entry of a lead line: ``ext.data[key]`` with a label."""

    key: str
    label: Text
    #: "number" is grouped by thousands, "flag" shows yes/no, "text" is shown as is.
    kind: str = "number"
    #: Show the value in the danger colour when it is above zero (violations, reaped runs).
    alert_when_positive: bool = False


YES_NO = (Text("是", "yes"), Text("否", "no"))


class FactsRenderer(RunRenderer):
    """A renderer that leads with labelled facts taken from ``ext.data``."""

    overview_template = "renderers/facts_overview.html"
    facts: tuple[Fact, ...] = ()

    def lead(self, view: SummaryView, language: str) -> list[dict[str, Any]]:
        """Return the facts present in the summary, labelled in ``language``."""
        data = view.data
        lead = []
        for fact in self.facts:
            if fact.key not in data:
                continue
            value = data[fact.key]
            alert = fact.alert_when_positive and isinstance(value, int | float) and value > 0
            if fact.kind == "flag":
                value = YES_NO[0 if value else 1].render(language)
            lead.append({"label": fact.label.render(language), "value": value, "alert": alert})
        return lead

    def overview_context(self, view: SummaryView, run: AnyRun, language: str) -> dict[str, Any]:
        fact_keys = {fact.key for fact in self.facts}
        return {
            "lead": self.lead(view, language),
            "other_metrics": [metric for metric in view.metrics if metric.key not in fact_keys],
        }


class PurgeRenderer(FactsRenderer):
    """``task_runs_purge``: what retention deleted, and whether it was a dry run."""

    facts = (
        Fact("runs_deleted", Text("删除运行", "Runs deleted")),
        Fact("items_deleted", Text("删除子项", "Items deleted")),
        Fact("retention_days", Text("保留天数", "Retention days")),
        Fact("keep_last", Text("每任务至少保留", "Kept per task")),
        Fact("batches", Text("批次", "Batches")),
        Fact("dry_run", Text("演练", "Dry run"), kind="flag"),
    )


class AuditRenderer(FactsRenderer):
    """``task_runs_audit``: runs scanned and violations found."""

    facts = (
        Fact("runs_scanned", Text("已检查运行", "Runs scanned")),
        Fact("items_scanned", Text("已检查子项", "Items scanned")),
        Fact("violations", Text("违规", "Violations"), alert_when_positive=True),
        Fact("rules_violated", Text("违反规则", "Rules violated"), alert_when_positive=True),
        Fact("unregistered_task_keys", Text("未注册任务键", "Unregistered task keys"),
             alert_when_positive=True),
        Fact("summaries_over_warning_size", Text("摘要超过告警大小", "Summaries over warning size"),
             alert_when_positive=True),
    )


class ReapRenderer(FactsRenderer):
    """``task_runs_reap``: runs abandoned by crashed workers and marked failed."""

    facts = (
        Fact("running_reaped", Text("运行中超时", "Running runs reaped"),
             alert_when_positive=True),
        Fact("pending_reaped", Text("等待超时", "Pending runs reaped"), alert_when_positive=True),
        Fact("errors", Text("出错", "Errors"), alert_when_positive=True),
        Fact("timeout_seconds", Text("超时（秒）", "Timeout (s)")),
    )


class ExecRenderer(RunRenderer):
    """Commands run by ``taskrun exec``: the command line and its exit status."""

    overview_template = "renderers/exec_overview.html"
    detail_template = "renderers/exec_detail.html"

    def overview_context(self, view: SummaryView, run: AnyRun, language: str) -> dict[str, Any]:
        return exec_facts(view)

    def detail_context(self, view: SummaryView, run: AnyRun, language: str) -> dict[str, Any]:
        return exec_facts(view)


def exec_facts(view: SummaryView) -> dict[str, Any]:
    """Return the command, exit code and signal from ``{"runner": "exec", …}`` ext.data."""
    data = view.data
    command = data.get("command")
    return {
        "command": str(command) if command is not None else None,
        "exit_code": data.get("exit_code"),
        "signal": data.get("signal"),
    }


def looks_like_exec(view: SummaryView) -> bool:
    """Tell whether ``taskrun exec`` wrote the summary: it marks ``ext.data.runner``."""
    return view.data.get("runner") == "exec"


def register_builtin_renderers(registry: RendererRegistry) -> None:
    """Register the renderers of the built-in task types in ``registry``."""
    registry.register("task_runs_purge", PurgeRenderer(), replace=True)
    registry.register("task_runs_audit", AuditRenderer(), replace=True)
    registry.register("task_runs_reap", ReapRenderer(), replace=True)
    registry.register("exec", ExecRenderer(), replace=True)
    registry.register_matcher(looks_like_exec, ExecRenderer())
