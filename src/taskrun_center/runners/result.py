"""Task results (the parts of a final summary) and run outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from taskrun_center.states import RunStatus

MetricValues = Mapping[str, Any] | Sequence[Mapping[str, Any]]


@dataclass
class TaskResult:
    """The final summary of a run, as the parts the contract's ``build_summary`` takes.

    ``metrics`` maps metric keys to values (labels, units and tones come from the task type's
    metric definitions) or lists whole metric objects. ``ext_data`` is a dict or an instance of
    the task type's ``data_model``. ``status`` overrides the status the runner derives from the
    items, for example ``completed_with_errors``; ``error_message`` is stored with the run.
    """

    metrics: MetricValues | None = None
    highlights: Sequence[str] = ()
    skipped: bool = False
    skip_reason: str | None = None
    ext_data: Mapping[str, Any] | BaseModel | None = None
    scope_time: Mapping[str, Any] | None = None
    scope_target: Mapping[str, Any] | None = None
    inputs: Mapping[str, Any] | None = None
    status: RunStatus | None = None
    error_message: str | None = None

    @classmethod
    def skip(cls, reason: str, **parts: Any) -> TaskResult:
        """Build the result of a run that did nothing on purpose, with the reason shown to users."""
        return cls(skipped=True, skip_reason=reason, **parts)

    def ext_data_dict(self) -> dict[str, Any] | None:
        """Return ``ext_data`` as a JSON-ready dict (a pydantic model is dumped in JSON mode)."""
        if self.ext_data is None:
            return None
        if isinstance(self.ext_data, BaseModel):
            return self.ext_data.model_dump(mode="json")
        return dict(self.ext_data)


@dataclass(frozen=True)
class RunOutcome:
    """The end of a run: its id, final status and the stored error message, if any."""

    run_id: str
    task_key: str
    status: RunStatus
    error_message: str | None = None
    items_completed: int = 0
    items_failed: int = 0
    skip_reason: str | None = None

    @property
    def succeeded(self) -> bool:
        """True when the run completed without failed items."""
        return self.status == RunStatus.COMPLETED
