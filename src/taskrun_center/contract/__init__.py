"""The summary contract: the envelope every run stores in ``task_runs.summary_json``.

Layer 2 of the package: it imports only ``errors``, ``i18n`` and ``config``. Storage, the write
service, the runners, the API and the CLI all check summaries through ``check_summary``.

Modules, one concern each:

- ``models``: pydantic models of the envelope (``TaskRunSummaryV1``).
- ``registry``: task types, their ``ext.data`` models and metric definitions.
- ``normalize``: Python values to plain JSON.
- ``structure``, ``sensitive`` (with ``secret_keys``, ``detectors`` and ``credential_text``),
  ``capacity``: the rules.
- ``validate``: ``check_summary``, which runs them all.
- ``builders``: the easy path to a valid envelope.
- ``masking``: masking secrets in text and item JSON stored outside the summary.
- ``schema``, ``json_text``: JSON Schema export and bounded parsing of JSON text.
"""

from taskrun_center.contract.builders import build_base_summary, build_summary, date_scope
from taskrun_center.contract.detectors import MASK
from taskrun_center.contract.json_text import JsonTextError, parse_json_text
from taskrun_center.contract.masking import MaskResult, mask_json, mask_text
from taskrun_center.contract.models import (
    SUMMARY_VERSION,
    Common,
    DateScope,
    Ext,
    Flags,
    Metric,
    Scope,
    TaskRunSummaryV1,
    Tone,
)
from taskrun_center.contract.normalize import normalize_json
from taskrun_center.contract.registry import (
    MetricDefinition,
    TaskType,
    TaskTypeRegistry,
    default_registry,
    register_task_type,
)
from taskrun_center.contract.rules import RULES, RuleInfo
from taskrun_center.contract.schema import envelope_json_schema
from taskrun_center.contract.sensitive import find_sensitive
from taskrun_center.contract.validate import CheckedSummary, check_summary, validate_summary
from taskrun_center.contract.violations import SummaryValidationError, Violation

__all__ = [
    "MASK",
    "RULES",
    "SUMMARY_VERSION",
    "CheckedSummary",
    "Common",
    "DateScope",
    "Ext",
    "Flags",
    "JsonTextError",
    "MaskResult",
    "Metric",
    "MetricDefinition",
    "RuleInfo",
    "Scope",
    "SummaryValidationError",
    "TaskRunSummaryV1",
    "TaskType",
    "TaskTypeRegistry",
    "Tone",
    "Violation",
    "build_base_summary",
    "build_summary",
    "check_summary",
    "date_scope",
    "default_registry",
    "envelope_json_schema",
    "find_sensitive",
    "mask_json",
    "mask_text",
    "normalize_json",
    "parse_json_text",
    "register_task_type",
    "validate_summary",
]
