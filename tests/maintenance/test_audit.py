"""The audit finds violations planted around the write service, and only those."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text, update

from taskrun_center.contract import TaskType, TaskTypeRegistry
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.maintenance.audit import AuditProgress, audit_runs
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRun, TaskRunItem
from tests.maintenance.rows import add_run, envelope, large_envelope


class SyncData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: int


@pytest.fixture
def registry() -> TaskTypeRegistry:
    registry = TaskTypeRegistry()
    registry.register(TaskType("sync_accounts", "同步账号", "Sync accounts", "sync",
                               data_model=SyncData))
    return registry


def _service_run(database: Database, task_key: str = "sync_accounts", items: int = 2) -> str:
    """Record a complete run through the write service and return its run_id."""
    with database.transaction() as session:
        service = TaskRunsWriteService(session)
        run = service.start_run(task_key=task_key, task_name="Sync accounts")
        service.init_items(run.run_id, [ItemSpec("account", f"a{n}") for n in range(items)])
        for n in range(items):
            service.complete_item(run.run_id, "account", f"a{n}", metrics={"rows": n})
        service.finalize_run(run.run_id)
        return run.run_id


def _plant_summary(database: Database, run_id: str, summary: dict[str, Any]) -> None:
    with database.transaction() as session:
        session.execute(update(TaskRun).where(TaskRun.run_id == run_id)
                        .values(summary_json=summary))


def _findings(result: Any) -> set[tuple[str, str, str]]:
    return {(finding.run_id, finding.rule, finding.path) for finding in result.violations}


def test_clean_runs_pass(database: Database, registry: TaskTypeRegistry) -> None:
    for _ in range(3):
        _service_run(database)

    result = audit_runs(database, registry=registry)

    assert result.ok
    assert result.scanned == 3
    assert result.items_scanned == 6
    assert result.counts == {}


def test_planted_violations_found_exactly(database: Database,
                                          registry: TaskTypeRegistry) -> None:
    clean = _service_run(database)
    stray = _service_run(database)
    wrong_type = _service_run(database)
    secret = _service_run(database)
    bad_data = _service_run(database)
    flag = _service_run(database)
    duration = _service_run(database)
    big_item = _service_run(database)

    _plant_summary(database, stray, {**envelope("sync_accounts"), "skipped": True})
    _plant_summary(database, wrong_type, envelope("other_task"))
    leaked = envelope("sync_accounts")
    leaked["common"]["inputs"] = {"password": "hunter2-hunter2"}
    _plant_summary(database, secret, leaked)
    invalid = envelope("sync_accounts")
    invalid["ext"]["data"] = {"accounts": "many"}
    _plant_summary(database, bad_data, invalid)
    with database.transaction() as session:
        session.execute(text("UPDATE task_runs SET is_skipped = :flag WHERE run_id = :run_id"),
                        {"flag": True, "run_id": flag})
        session.execute(text("UPDATE task_runs SET duration_ms = duration_ms + 60000 "
                             "WHERE run_id = :run_id"), {"run_id": duration})
        session.execute(update(TaskRunItem)
                        .where(TaskRunItem.run_id == big_item, TaskRunItem.item_key == "a1")
                        .values(details_json={"blob": "x" * 70_000}))

    result = audit_runs(database, registry=registry, batch_size=3)

    assert not result.ok
    assert result.scanned == 8
    assert result.counts == {
        "envelope.extra_field": 1,
        "envelope.ext_type_mismatch": 1,
        "secret.key_name": 1,
        "envelope.ext_data_invalid": 1,
        "row.is_skipped_mismatch": 1,
        "row.duration_mismatch": 1,
        "item.details_bytes": 1,
    }
    findings = _findings(result)
    assert (stray, "envelope.extra_field", "$.skipped") in findings
    assert (wrong_type, "envelope.ext_type_mismatch", "$.ext.type") in findings
    assert (bad_data, "envelope.ext_data_invalid", "$.ext.data.accounts") in findings
    assert (flag, "row.is_skipped_mismatch", "is_skipped") in findings
    assert (duration, "row.duration_mismatch", "duration_ms") in findings
    assert (big_item, "item.details_bytes", "items[account/a1].details_json") in findings
    secret_runs = {finding.run_id for finding in result.violations
                   if finding.rule == "secret.key_name"}
    assert secret_runs == {secret}
    assert clean not in {finding.run_id for finding in result.violations}


def test_summary_not_an_object_is_reported(database: Database,
                                           registry: TaskTypeRegistry) -> None:
    with database.transaction() as session:
        run = add_run(session, summary_json={"version": 1})
        session.execute(update(TaskRun).where(TaskRun.id == run.id).values(summary_json=[1, 2]))

    result = audit_runs(database, registry=registry)

    assert result.counts == {"envelope.not_object": 1}


def test_examples_capped_counts_exact(database: Database, registry: TaskTypeRegistry) -> None:
    with database.transaction() as session:
        for _ in range(5):
            add_run(session, task_key="sync_accounts",
                    summary_json={**envelope("sync_accounts"), "records": []})

    result = audit_runs(database, registry=registry, examples_per_rule=2, batch_size=2)

    assert result.counts == {"envelope.extra_field": 5}
    assert len(result.violations) == 2


def test_unregistered_task_keys_listed(database: Database, registry: TaskTypeRegistry) -> None:
    with database.transaction() as session:
        add_run(session, task_key="nightly_export")
        add_run(session, task_key="nightly_export")

    result = audit_runs(database, registry=registry)

    assert result.ok
    assert result.unregistered == {"nightly_export": 2}


def test_progress_reaches_plan(database: Database, registry: TaskTypeRegistry) -> None:
    for _ in range(3):
        _service_run(database, items=3)
    progress: list[AuditProgress] = []

    audit_runs(database, registry=registry, batch_size=1, on_progress=progress.append)

    assert progress[-1].checked == 12
    assert progress[-1].planned == 12
    assert [event.checked for event in progress[:3]] == [1, 2, 3]


def test_audit_result_json_shape(database: Database, registry: TaskTypeRegistry) -> None:
    stray = _service_run(database)
    _plant_summary(database, stray, {**envelope("sync_accounts"), "periods_executed": 3})

    payload = audit_runs(database, registry=registry).to_dict()

    assert payload["scanned"] == 1
    assert payload["counts"] == {"envelope.extra_field": 1}
    assert payload["violations"] == [
        {"run_id": stray, "rule": "envelope.extra_field", "path": "$.periods_executed"}
    ]


def test_item_limits_flag_only_oversize(database: Database, registry: TaskTypeRegistry) -> None:
    run_id = _service_run(database, items=4)
    with database.transaction() as session:
        # 1,300 CJK characters: 3.9 KB as compact UTF-8, under the 4 KiB metrics limit, although
        # SQLite stores them ASCII-escaped in about 7.8 KB.
        near = {"note": "汉" * 1300}
        over = {"note": "汉" * 1400}
        values = {"a0": {"metrics_json": near}, "a1": {"metrics_json": over},
                  "a2": {"error_message": "x" * 4097}, "a3": {"error_message": "好" * 4096}}
        for key, columns in values.items():
            session.execute(update(TaskRunItem)
                            .where(TaskRunItem.run_id == run_id, TaskRunItem.item_key == key)
                            .values(**columns))

    result = audit_runs(database, registry=registry)

    assert result.counts == {"item.metrics_bytes": 1, "item.error_chars": 1}
    assert _findings(result) == {
        (run_id, "item.metrics_bytes", "items[account/a1].metrics_json"),
        (run_id, "item.error_chars", "items[account/a2].error_message"),
    }


def test_large_summary_is_warning_only(database: Database, registry: TaskTypeRegistry) -> None:
    _service_run(database)
    with database.transaction() as session:
        large = add_run(session, task_key="bulk_export", summary_json=large_envelope("bulk_export"))

    result = audit_runs(database, registry=registry)
    payload = result.to_dict()

    assert result.ok
    assert result.counts == {}
    assert result.warnings == {"capacity.summary_bytes_warning": 1}
    assert payload["warnings"] == {"capacity.summary_bytes_warning": 1}
    assert payload["warning_findings"] == [
        {"run_id": large.run_id, "rule": "capacity.summary_bytes_warning", "path": "$"}
    ]
    assert payload["violations"] == []


def test_large_invalid_summary_adds_no_warning(database: Database,
                                               registry: TaskTypeRegistry) -> None:
    with database.transaction() as session:
        add_run(session, task_key="bulk_export",
                summary_json={**large_envelope("bulk_export"), "records": []})

    result = audit_runs(database, registry=registry)

    assert result.counts == {"envelope.extra_field": 1}
    assert result.warnings == {}


def test_warning_examples_capped_counts_exact(database: Database,
                                              registry: TaskTypeRegistry) -> None:
    with database.transaction() as session:
        for _ in range(3):
            add_run(session, task_key="bulk_export", summary_json=large_envelope("bulk_export"))

    result = audit_runs(database, registry=registry, examples_per_rule=2, batch_size=2)

    assert result.ok
    assert result.warnings == {"capacity.summary_bytes_warning": 3}
    assert len(result.warning_findings) == 2
