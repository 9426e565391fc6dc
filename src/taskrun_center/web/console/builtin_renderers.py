"""Renderers of the built-in task types: purge, audit, reaper and commands run by ``taskrun exec``.

Each adds a one-line lead of the few facts an operator looks for first, above the generic metric
chips. Facts are read from ``ext.data`` by key; a key the run did not record is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskrun_center.i18n import Text
from taskrun_center.storage.models import TaskRun
from taskrun_center.web.console.renderers import RendererRegistry, RunRenderer
from taskrun_center.web.console.summary_view import SummaryView


@dataclass(frozen=True, slots=True)
class Fact:
    """One entry of a lead line: the first of ``keys`` present in ``ext.data``, labelled."""

    keys: tuple[str, ...]
    label: Text
    tone: str = "info"
    #: "number" is grouped by thousands, "flag" shows yes/no, "text" is shown as is.
    kind: str = "number"


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
            key = next((key for key in fact.keys if key in data), None)
            if key is None:
                continue
            value = data[key]
            if fact.kind == "flag":
                value = YES_NO[0 if value else 1].render(language)
            lead.append({"label": fact.label.render(language), "value": value,
                         "tone": fact.tone, "kind": fact.kind})
        return lead

    def overview_context(self, view: SummaryView, run: TaskRun, language: str) -> dict[str, Any]:
        return {"lead": self.lead(view, language)}


class PurgeRenderer(FactsRenderer):
    """``task_runs_purge``: what retention deleted, and whether it was a dry run."""

    facts = (
        Fact(("runs_deleted", "deleted_runs", "runs"), Text("删除运行", "Runs deleted"), "warning"),
        Fact(("items_deleted", "deleted_items", "items"), Text("删除子项", "Items deleted")),
        Fact(("older_than_days", "retention_days"), Text("保留天数", "Retention days")),
        Fact(("keep_last",), Text("每任务保留", "Kept per task")),
        Fact(("batches",), Text("批次", "Batches")),
        Fact(("dry_run",), Text("演练", "Dry run"), kind="flag"),
    )


class AuditRenderer(FactsRenderer):
    """``task_runs_audit``: runs scanned and violations found, with the rules hit most."""

    overview_template = "renderers/audit_overview.html"
    facts = (
        Fact(("scanned", "runs_scanned"), Text("已检查", "Scanned")),
        Fact(("violations", "violation_count", "violations_total"),
             Text("违规", "Violations"), "danger"),
        Fact(("offending_runs", "runs_with_violations"), Text("违规运行", "Offending runs"),
             "warning"),
    )

    def overview_context(self, view: SummaryView, run: TaskRun, language: str) -> dict[str, Any]:
        counts = view.data.get("counts") or view.data.get("rule_counts") or {}
        top_rules = []
        if isinstance(counts, dict):
            ranked = sorted(counts.items(), key=lambda pair: (-_as_int(pair[1]), str(pair[0])))
            top_rules = [{"rule": str(rule), "count": count} for rule, count in ranked[:3]]
        return {"lead": self.lead(view, language), "top_rules": top_rules}


class ReapRenderer(FactsRenderer):
    """``task_runs_reap``: runs abandoned by crashed workers and marked failed."""

    facts = (
        Fact(("runs_reaped", "reaped_runs", "reaped"), Text("回收运行", "Runs reaped"), "warning"),
        Fact(("running_reaped",), Text("运行中超时", "Running timed out")),
        Fact(("pending_reaped",), Text("等待超时", "Pending timed out")),
        Fact(("items_failed", "items_reaped"), Text("子项置为失败", "Items failed")),
        Fact(("timeout_seconds",), Text("超时（秒）", "Timeout (s)")),
    )


class ExecRenderer(RunRenderer):
    """Commands run by ``taskrun exec``: the command line and its exit status."""

    overview_template = "renderers/exec_overview.html"
    detail_template = "renderers/exec_detail.html"

    def overview_context(self, view: SummaryView, run: TaskRun, language: str) -> dict[str, Any]:
        return exec_facts(view)

    def detail_context(self, view: SummaryView, run: TaskRun, language: str) -> dict[str, Any]:
        return exec_facts(view)


def exec_facts(view: SummaryView) -> dict[str, Any]:
    """Return the command text, exit code and signal recorded by ``taskrun exec``."""
    data = view.data
    command = data.get("command") or data.get("argv") or data.get("cmd")
    if isinstance(command, list):
        command = " ".join(str(part) for part in command)
    exit_code = data.get("exit_code", data.get("returncode"))
    return {
        "command": str(command) if command is not None else None,
        "exit_code": exit_code,
        "signal": data.get("signal") or data.get("signal_name"),
    }


def looks_like_exec(view: SummaryView) -> bool:
    """Tell whether a summary was written by ``taskrun exec`` (a command and an exit code)."""
    data = view.data
    has_command = any(key in data for key in ("command", "argv", "cmd"))
    return has_command and any(key in data for key in ("exit_code", "returncode"))


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def register_builtin_renderers(registry: RendererRegistry) -> None:
    """Register the renderers of the built-in task types in ``registry``."""
    registry.register("task_runs_purge", PurgeRenderer(), replace=True)
    registry.register("task_runs_audit", AuditRenderer(), replace=True)
    registry.register("task_runs_reap", ReapRenderer(), replace=True)
    registry.register("exec", ExecRenderer(), replace=True)
    registry.register_matcher(looks_like_exec, ExecRenderer())
