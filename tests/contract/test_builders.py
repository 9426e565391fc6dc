"""Builders: base envelope, final summary, date scope."""

from __future__ import annotations

from datetime import date

import pytest

from taskrun_center.contract import (
    SummaryValidationError,
    TaskTypeRegistry,
    build_base_summary,
    build_summary,
    check_summary,
    date_scope,
)
from tests.contract.factories import SyncAccountsData, registry_with_sync_accounts


def test_base_summary_has_documented_shape() -> None:
    summary = build_base_summary("nightly_backup", registry=TaskTypeRegistry())

    assert summary == {
        "version": 1,
        "common": {
            "inputs": {},
            "scope": {"time": None, "target": {}},
            "metrics": [],
            "highlights": [],
            "flags": {"skipped": False, "skip_reason": None},
        },
        "ext": {"type": "nightly_backup", "version": 1, "data": {}},
    }


def test_base_summary_of_registered_type_passes_its_checks() -> None:
    registry = registry_with_sync_accounts()

    summary = build_base_summary("sync_accounts", registry=registry)

    assert check_summary(summary, task_key="sync_accounts", registry=registry).summary == summary


def test_base_summary_bad_task_key_rejected() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        build_base_summary("bad key!", registry=TaskTypeRegistry())

    assert caught.value.rules == ["envelope.ext_type_format"]


def test_metrics_take_labels_units_tones_from_definitions() -> None:
    registry = registry_with_sync_accounts()

    summary = build_summary(
        "sync_accounts", metrics={"instances_total": 3, "failed": 1}, registry=registry
    )

    assert summary["common"]["metrics"] == [
        {"key": "instances_total", "label": "实例数", "value": 3, "unit": "个"},
        {"key": "failed", "label": "失败", "value": 1, "tone": "danger"},
    ]


def test_metric_labels_in_english_on_request() -> None:
    registry = registry_with_sync_accounts()

    summary = build_summary("sync_accounts", metrics={"failed": 0}, language="en",
                            registry=registry)

    assert summary["common"]["metrics"][0]["label"] == "Failed"


def test_undefined_metric_of_registered_type_rejected() -> None:
    registry = registry_with_sync_accounts()

    with pytest.raises(SummaryValidationError) as caught:
        build_summary("sync_accounts", metrics={"failed": 1, "typo": 2}, registry=registry)

    assert caught.value.rules == ["builder.unknown_metric"]
    assert caught.value.violations[0].path == "$.common.metrics[1].key"


def test_unregistered_type_uses_key_as_label() -> None:
    summary = build_summary("adhoc", metrics={"rows": 5}, registry=TaskTypeRegistry())

    assert summary["common"]["metrics"] == [{"key": "rows", "label": "rows", "value": 5}]


def test_metric_list_taken_as_given() -> None:
    metrics = [{"key": "rows", "label": "行数", "value": 5, "unit": "行", "tone": "success"}]

    summary = build_summary("adhoc", metrics=metrics, registry=TaskTypeRegistry())

    assert summary["common"]["metrics"] == metrics


def test_full_summary_fields_placed() -> None:
    registry = registry_with_sync_accounts()

    summary = build_summary(
        "sync_accounts",
        highlights=["新增 3 个账号"],
        scope_time=date_scope(date(2026, 1, 2), "Asia/Shanghai"),
        scope_target={"cluster": "prod"},
        inputs={"dry_run": False},
        ext_data=SyncAccountsData(instances_total=4, accounts_added=3),
        registry=registry,
    )

    assert summary["common"]["highlights"] == ["新增 3 个账号"]
    assert summary["common"]["scope"] == {
        "time": {"type": "date", "timezone": "Asia/Shanghai", "date": "2026-01-02"},
        "target": {"cluster": "prod"},
    }
    assert summary["common"]["inputs"] == {"dry_run": False}
    assert summary["ext"]["data"] == {"instances_total": 4, "accounts_added": 3}


def test_skipped_summary_carries_reason() -> None:
    summary = build_summary("adhoc", skipped=True, skip_reason="没有新数据",
                            registry=TaskTypeRegistry())

    assert summary["common"]["flags"] == {"skipped": True, "skip_reason": "没有新数据"}


def test_skipped_without_reason_raises_instead_of_returning() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        build_summary("adhoc", skipped=True, registry=TaskTypeRegistry())

    assert caught.value.rules == ["envelope.skip_reason_missing"]


def test_ext_data_checked_against_type_model() -> None:
    registry = registry_with_sync_accounts()

    with pytest.raises(SummaryValidationError) as caught:
        build_summary("sync_accounts", ext_data={"instances_total": "many", "extra": 1},
                      registry=registry)

    assert sorted(caught.value.rules) == ["envelope.ext_data_invalid", "envelope.extra_field"]
    assert sorted(v.path for v in caught.value.violations) == [
        "$.ext.data.extra",
        "$.ext.data.instances_total",
    ]


def test_date_scope_unknown_zone_rejected() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        date_scope(date(2026, 1, 2), "Nowhere/City")

    assert caught.value.rules == ["envelope.scope_timezone"]


def test_single_string_highlight_kept_whole() -> None:
    summary = build_summary("adhoc", highlights="全部完成", registry=TaskTypeRegistry())

    assert summary["common"]["highlights"] == ["全部完成"]


def test_scope_time_non_mapping_rejected() -> None:
    with pytest.raises(SummaryValidationError) as caught:
        build_summary("adhoc", scope_time=date(2026, 1, 2), registry=TaskTypeRegistry())  # type: ignore[arg-type]

    assert caught.value.rules == ["envelope.wrong_type"]
    assert caught.value.violations[0].path == "$.common.scope.time"
