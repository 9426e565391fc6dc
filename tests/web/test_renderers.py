"""The renderer registry and the built-in renderers."""

from __future__ import annotations

from typing import Any

import pytest

from taskrun_center.storage.models import TaskRun
from taskrun_center.web.console.builtin_renderers import (
    AuditRenderer,
    ExecRenderer,
    PurgeRenderer,
    register_builtin_renderers,
)
from taskrun_center.web.console.renderers import (
    RendererExistsError,
    RendererRegistry,
    RunRenderer,
)
from taskrun_center.web.console.summary_view import SummaryView
from taskrun_center.web.console.templating import build_environment
from tests.factories import base_summary


def _run(summary: dict[str, Any], task_key: str) -> TaskRun:
    return TaskRun(run_id="r1", task_key=task_key, task_name=task_key, task_category="other",
                   trigger_source="manual", status="completed", summary_json=summary,
                   progress_total=0, progress_completed=0, progress_failed=0)


@pytest.fixture
def registry() -> RendererRegistry:
    registry = RendererRegistry()
    register_builtin_renderers(registry)
    return registry


def test_lookup_by_type_then_matcher_then_generic(registry: RendererRegistry) -> None:
    purge = SummaryView(base_summary("task_runs_purge", runs_deleted=1))
    wrapped = SummaryView(base_summary("backup_db", runner="exec", command="pg_dump",
                                       exit_code=0, signal=None))
    unknown = SummaryView(base_summary("sync_accounts"))

    assert isinstance(registry.for_view(purge), PurgeRenderer)
    assert isinstance(registry.for_view(wrapped), ExecRenderer)
    assert type(registry.for_view(unknown)) is RunRenderer


def test_register_twice_needs_replace(registry: RendererRegistry) -> None:
    with pytest.raises(RendererExistsError):
        registry.register("task_runs_purge", RunRenderer())

    registry.register("task_runs_purge", RunRenderer(), replace=True)

    assert type(registry.for_view(SummaryView(base_summary("task_runs_purge")))) is RunRenderer


def test_purge_overview_leads_with_deleted_counts(registry: RendererRegistry) -> None:
    summary = base_summary("task_runs_purge", retention_days=30, keep_last=10, cutoff=None,
                           dry_run=True, runs_deleted=1500, items_deleted=15000, batches=1)
    environment = build_environment(registry)

    html = environment.globals["render_overview"](_run(summary, "task_runs_purge"), "en")

    assert "Runs deleted <strong>1,500</strong>" in html
    assert "Items deleted <strong>15,000</strong>" in html
    assert "Dry run <strong>yes</strong>" in html


def test_audit_overview_flags_violations(registry: RendererRegistry) -> None:
    summary = base_summary("task_runs_audit", runs_scanned=10, items_scanned=0, violations=2,
                           rules_violated=1, unregistered_task_keys=0)
    view = SummaryView(summary)

    lead = AuditRenderer().lead(view, "zh-CN")

    alerts = {fact["label"]: fact["alert"] for fact in lead}
    assert alerts == {"已检查运行": False, "已检查子项": False, "违规": True, "违反规则": True,
                      "未注册任务键": False}


def test_exec_overview_shows_command_and_exit_code(registry: RendererRegistry) -> None:
    summary = base_summary("nightly_backup", runner="exec", command="pg_dump <db>",
                           exit_code=2, signal=None)
    environment = build_environment(registry)

    html = environment.globals["render_overview"](_run(summary, "nightly_backup"), "zh-CN")

    assert "$ pg_dump &lt;db&gt;" in html
    assert 'class="chip tone-danger" data-metric="exit_code"' in html


def test_generic_detail_lists_ext_data(registry: RendererRegistry) -> None:
    summary = base_summary("sync_accounts", accounts=3, region={"name": "<b>north</b>"})
    environment = build_environment(registry)

    html = environment.globals["render_detail"](_run(summary, "sync_accounts"), "en")

    assert "<dt>accounts</dt><dd>3</dd>" in html
    assert "&lt;b&gt;north&lt;/b&gt;" in html


def test_summary_view_tolerates_broken_rows() -> None:
    view = SummaryView({"common": {"metrics": [{"label": "no key"}, "junk",
                                               {"key": "k", "tone": "purple", "value": 1}],
                                   "flags": "yes"}, "ext": []})

    assert [metric.key for metric in view.metrics] == ["k"]
    assert view.metrics[0].tone == "info"
    assert view.skipped is False
    assert view.data == {}
