"""The names other parts import from taskrun_center.contract, with their signatures."""

from __future__ import annotations

import inspect
import re

from taskrun_center import contract
from taskrun_center.errors import TaskRunError

PUBLIC_NAMES = [
    "SUMMARY_VERSION", "TaskRunSummaryV1", "Tone", "Violation", "SummaryValidationError",
    "CheckedSummary", "check_summary", "validate_summary", "build_base_summary", "build_summary",
    "date_scope", "normalize_json", "MaskResult", "mask_text", "mask_json", "find_sensitive",
    "MetricDefinition", "TaskType", "TaskTypeRegistry", "default_registry", "register_task_type",
    "envelope_json_schema", "parse_json_text", "JsonTextError", "RULES", "MASK",
]


def test_every_public_name_exported() -> None:
    missing = [name for name in PUBLIC_NAMES if not hasattr(contract, name)]

    assert missing == []
    assert set(PUBLIC_NAMES) <= set(contract.__all__)


def test_summary_version_is_one() -> None:
    assert contract.SUMMARY_VERSION == 1


def test_errors_derive_from_package_root() -> None:
    assert issubclass(contract.SummaryValidationError, TaskRunError)
    assert issubclass(contract.JsonTextError, TaskRunError)


def test_tone_values() -> None:
    assert [tone.value for tone in contract.Tone] == ["info", "success", "warning", "danger"]


def test_check_summary_keywords() -> None:
    parameters = inspect.signature(contract.check_summary).parameters

    assert list(parameters) == ["data", "task_key", "limits", "registry"]
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
               for name in ("task_key", "limits", "registry"))


def test_build_summary_keywords() -> None:
    parameters = inspect.signature(contract.build_summary).parameters

    assert list(parameters) == [
        "task_key", "metrics", "highlights", "skipped", "skip_reason", "scope_time",
        "scope_target", "inputs", "ext_data", "language", "registry", "limits",
    ]


def test_violation_to_dict_shape() -> None:
    violation = contract.Violation("$.a", "envelope.extra_field", "中文", "English")

    assert violation.to_dict("en") == {"path": "$.a", "rule": "envelope.extra_field",
                                       "message": "English"}
    assert violation.to_dict() == {"path": "$.a", "rule": "envelope.extra_field",
                                   "message": "中文"}


def test_rule_catalogue_matches_source() -> None:
    source = "\n".join(
        inspect.getsource(module)
        for module in (contract.validate, contract.structure, contract.capacity,
                       contract.normalize, contract.detectors, contract.sensitive,
                       contract.builders, contract.models)
    )
    written = set(re.findall(
        r'"((?:envelope|json|secret|personal_data|capacity|builder)\.[a-z_]+)"', source
    ))

    assert written - set(contract.RULES) == set()
    assert set(contract.RULES) - written == set()
