"""Task-type registry."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from taskrun_center.contract import (
    MetricDefinition,
    TaskType,
    TaskTypeRegistry,
    check_summary,
    default_registry,
)
from taskrun_center.errors import ConfigurationError, UnknownTaskTypeError
from tests.contract.factories import SyncAccountsData, envelope, sync_accounts_type


def test_registered_type_found_by_key() -> None:
    registry = TaskTypeRegistry()
    task_type = registry.register(sync_accounts_type())

    assert registry.get("sync_accounts") is task_type
    assert registry.require("sync_accounts") is task_type
    assert "sync_accounts" in registry
    assert registry.all() == [task_type]


def test_unknown_key_get_returns_none_require_raises() -> None:
    registry = TaskTypeRegistry()

    assert registry.get("nope") is None
    with pytest.raises(UnknownTaskTypeError) as caught:
        registry.require("nope")
    assert caught.value.task_key == "nope"


def test_same_definition_registers_twice() -> None:
    registry = TaskTypeRegistry()
    registry.register(sync_accounts_type())

    registry.register(sync_accounts_type())

    assert len(registry) == 1


def test_other_definition_same_key_rejected_unless_replace() -> None:
    registry = TaskTypeRegistry()
    registry.register(sync_accounts_type())
    other = TaskType("sync_accounts", "另一个", "Other", "misc")

    with pytest.raises(ConfigurationError):
        registry.register(other)
    registry.register(other, replace=True)

    assert registry.require("sync_accounts").name_en == "Other"


@pytest.mark.parametrize("key", ["SyncAccounts", "sync-accounts", "1sync", "", "a" * 129])
def test_task_type_key_must_be_snake_case(key: str) -> None:
    with pytest.raises(ConfigurationError):
        TaskType(key, "名", "Name", "misc")


def test_task_type_key_of_128_chars_accepted() -> None:
    assert TaskType("a" * 128, "名", "Name", "misc").key == "a" * 128


def test_data_model_must_forbid_extra_keys() -> None:
    class Loose(BaseModel):
        count: int

    with pytest.raises(ConfigurationError) as caught:
        TaskType("loose", "宽松", "Loose", "misc", data_model=Loose)
    assert "extra" in str(caught.value)


def test_repeated_metric_keys_rejected() -> None:
    metric = MetricDefinition("rows", "行数", "Rows")

    with pytest.raises(ConfigurationError):
        TaskType("rows_task", "名", "Name", "misc", metrics=(metric, metric))


def test_invalid_metric_key_rejected() -> None:
    with pytest.raises(ConfigurationError):
        MetricDefinition("bad key", "坏", "Bad")


def test_default_registry_is_a_registry() -> None:
    assert isinstance(default_registry, TaskTypeRegistry)


def test_empty_registry_used_as_given() -> None:
    probe = TaskType("contract_registry_probe", "探针", "Probe", "test",
                     data_model=SyncAccountsData)
    default_registry.register(probe)
    try:
        data = envelope(ext__type="contract_registry_probe", ext__data={"unknown": 1})

        checked = check_summary(data, registry=TaskTypeRegistry())
    finally:
        default_registry.unregister("contract_registry_probe")

    assert checked.summary["ext"]["data"] == {"unknown": 1}


def test_names_and_descriptions_are_masked() -> None:
    task_type = TaskType(key="masked_names", name_zh="任务 13812345678",
                         name_en="task token=abcdef123456", category="sample",
                         description_en="connects to postgresql://app:s3cret-pw@db/app")

    assert "13812345678" not in task_type.name_zh
    assert "abcdef123456" not in task_type.name_en
    assert "s3cret-pw" not in task_type.description_en
    assert task_type.name_en.startswith("task token=")
