"""JSON Schema export of the envelope, with a registered type's ``ext.data`` schema filled in."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from taskrun_center.contract.models import TaskRunSummaryV1
from taskrun_center.contract.registry import TaskTypeRegistry, default_registry


@lru_cache(maxsize=1)
def _envelope_schema() -> dict[str, Any]:
    return TaskRunSummaryV1.model_json_schema()


def envelope_json_schema(
    task_key: str | None = None, *, registry: TaskTypeRegistry | None = None
) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the summary envelope.

    With ``task_key``, ``ext.type`` is fixed to that key. When the key is registered,
    ``ext.version`` is fixed to the type's version and ``ext.data`` takes the schema of the type's
    data model, or is an empty object as in the base envelope written when a run starts.
    """
    schema = copy.deepcopy(_envelope_schema())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "TaskRunSummaryV1"
    if task_key is None:
        return schema

    ext = schema["$defs"]["Ext"]["properties"]
    ext["type"] = {"const": task_key, "title": "Type", "type": "string"}
    task_type = (default_registry if registry is None else registry).get(task_key)
    if task_type is None:
        return schema

    ext["version"] = {"const": task_type.ext_version, "title": "Version", "type": "integer"}
    if task_type.data_model is not None:
        data_schema = task_type.data_model.model_json_schema(ref_template="#/$defs/{model}")
        for name, definition in data_schema.pop("$defs", {}).items():
            schema["$defs"].setdefault(name, definition)
        ext["data"] = {
            "anyOf": [{"type": "object", "maxProperties": 0}, data_schema],
            "title": "Data",
        }
    return schema
