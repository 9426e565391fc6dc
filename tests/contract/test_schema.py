"""JSON Schema export."""

from __future__ import annotations

from taskrun_center.contract import TaskTypeRegistry, envelope_json_schema
from tests.contract.factories import registry_with_sync_accounts


def test_envelope_schema_is_strict() -> None:
    schema = envelope_json_schema(registry=TaskTypeRegistry())

    assert schema["required"] == ["version", "common", "ext"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["version"]["const"] == 1
    for name in ("Common", "Scope", "Metric", "Flags", "Ext", "DateScope"):
        assert schema["$defs"][name]["additionalProperties"] is False, name


def test_tone_values_listed() -> None:
    schema = envelope_json_schema(registry=TaskTypeRegistry())

    assert schema["$defs"]["Tone"]["enum"] == ["info", "success", "warning", "danger"]


def test_unregistered_key_fixes_only_ext_type() -> None:
    schema = envelope_json_schema("adhoc_task", registry=TaskTypeRegistry())

    ext = schema["$defs"]["Ext"]["properties"]
    assert ext["type"]["const"] == "adhoc_task"
    assert "const" not in ext["version"]


def test_registered_key_includes_data_model() -> None:
    schema = envelope_json_schema("sync_accounts", registry=registry_with_sync_accounts())

    ext = schema["$defs"]["Ext"]["properties"]
    assert ext["version"]["const"] == 1
    data_schema = ext["data"]["anyOf"][1]
    assert data_schema["required"] == ["instances_total"]
    assert data_schema["additionalProperties"] is False


def test_schema_copies_are_independent() -> None:
    first = envelope_json_schema("a_task", registry=TaskTypeRegistry())

    second = envelope_json_schema(registry=TaskTypeRegistry())

    assert first["$defs"]["Ext"]["properties"]["type"] != second["$defs"]["Ext"]["properties"][
        "type"
    ]
