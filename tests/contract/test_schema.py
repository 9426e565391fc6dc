"""JSON Schema export."""

from __future__ import annotations

import jsonschema

from taskrun_center.contract import TaskTypeRegistry, build_summary, envelope_json_schema
from tests.contract.factories import DOCUMENTED_SHAPE, envelope, registry_with_sync_accounts


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


def test_schema_agrees_with_validator_on_examples() -> None:
    registry = registry_with_sync_accounts()
    schema = envelope_json_schema("sync_accounts", registry=registry)
    validator = jsonschema.Draft202012Validator(schema)
    good = build_summary("sync_accounts", metrics={"failed": 1}, ext_data={"instances_total": 2},
                         registry=registry)
    stray = envelope(skipped=True)
    bad_tone = envelope(common__metrics=[{"key": "a", "label": "A", "value": 1, "tone": "red"}])
    bad_data = envelope(ext__data={"unknown": 1})

    jsonschema.Draft202012Validator.check_schema(schema)
    assert validator.is_valid(good)
    assert validator.is_valid(DOCUMENTED_SHAPE)
    assert not validator.is_valid(stray)
    assert not validator.is_valid(bad_tone)
    assert not validator.is_valid(bad_data)
