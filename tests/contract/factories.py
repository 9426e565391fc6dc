"""Envelopes and task types shared by the contract tests."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict

from taskrun_center.contract import MetricDefinition, TaskType, TaskTypeRegistry, Tone

DOCUMENTED_SHAPE: dict[str, Any] = {
    "version": 1,
    "common": {
        "inputs": {},
        "scope": {"time": None, "target": {}},
        "metrics": [],
        "highlights": [],
        "flags": {"skipped": False, "skip_reason": None},
    },
    "ext": {"type": "sync_accounts", "version": 1, "data": {}},
}


def envelope(**changes: Any) -> dict[str, Any]:
    """Return a copy of the documented shape with dotted-path changes (``common__inputs=...``)."""
    result = copy.deepcopy(DOCUMENTED_SHAPE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = result
        for name in parents:
            target = target[name]
        target[last] = value
    return result


class SyncAccountsData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances_total: int
    accounts_added: int = 0


def sync_accounts_type() -> TaskType:
    """A registered task type with a data model and two metric definitions."""
    return TaskType(
        key="sync_accounts",
        name_zh="同步账号",
        name_en="Sync accounts",
        category="accounts",
        ext_version=1,
        data_model=SyncAccountsData,
        metrics=(
            MetricDefinition("instances_total", "实例数", "Instances", unit="个"),
            MetricDefinition("failed", "失败", "Failed", tone=Tone.DANGER),
        ),
    )


def registry_with_sync_accounts() -> TaskTypeRegistry:
    """A fresh registry holding only sync_accounts."""
    registry = TaskTypeRegistry()
    registry.register(sync_accounts_type())
    return registry
