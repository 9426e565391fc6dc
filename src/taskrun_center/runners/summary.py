"""Build a run's final summary from what the task returned, or from the items it recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskrun_center.contract import SummaryValidationError, build_summary, validate_summary
from taskrun_center.i18n import Text
from taskrun_center.runners.result import TaskResult

# Metrics of the summary made for a task that returns no result.
ITEMS_COMPLETED_LABEL = Text("完成项", "Items completed")
ITEMS_FAILED_LABEL = Text("失败项", "Items failed")
SUMMARY_REJECTED = Text(
    "运行摘要未通过契约校验，已保留上一个有效摘要：{rules}",
    "The run's summary was rejected by the contract; the last valid summary is kept: {rules}",
)
ITEMS_FAILED = Text(
    "{failed} 个子项失败，{completed} 个完成",
    "{failed} items failed, {completed} completed",
)
ITEMS_DROPPED = Text(
    "{dropped} 个子项变更未能记录（原因见日志 item_batch_dropped 或 item_event_dropped）",
    "{dropped} item changes could not be recorded (the log lines item_batch_dropped and "
    "item_event_dropped give the reason)",
)
ITEM_UNRECORDED = Text(
    "这个子项的最终状态未能记录（原因见日志 item_batch_dropped 或 item_event_dropped）",
    "The final status of this item could not be recorded (the log lines item_batch_dropped "
    "and item_event_dropped give the reason)",
)
INVALID_RESULT_STATUS = Text(
    "任务返回的 TaskResult.status 为 {status}，它不是结束状态；请用 completed、"
    "completed_with_errors、failed 或 cancelled。",
    "The task returned TaskResult.status {status}, which is no final status; use completed, "
    "completed_with_errors, failed or cancelled.",
)
RUN_END_NOT_RECORDED = Text(
    "运行 {run_id} 的结束状态未能写入：重试 {seconds} 秒后数据库仍拒绝写入（{cause}）。"
    "该运行会一直显示为“运行中”，直到回收器在它静默 {reap_timeout} 秒"
    "（TASKRUN_REAP_TIMEOUT_SECONDS）后将其标记为失败。数据库恢复写入后，管理员也可以在控制台"
    "或通过 POST /api/v1/task-runs/{run_id}/actions/cancel 提前取消它。",
    "The end of run {run_id} could not be recorded: the database still rejected the write "
    "after {seconds} s of retries ({cause}). The run shows as running until the reaper marks "
    "it failed after {reap_timeout} s of silence (TASKRUN_REAP_TIMEOUT_SECONDS). Once the "
    "database accepts writes again, an admin can cancel it sooner in the console or through "
    "POST /api/v1/task-runs/{run_id}/actions/cancel.",
)
DATABASE_LOCKED = Text("SQLite 数据库被另一个写入进程锁定",
                       "the SQLite database was locked by another writer")
CONNECTION_LOST = Text("数据库连接已断开", "the database connection was lost")
DATABASE_UNREACHABLE = Text("无法连接数据库", "no connection to the database could be opened")
UNSUPPORTED_RESULT = Text(
    "任务返回了 {kind}；请返回 TaskResult、摘要字典或 None。",
    "The task returned {kind}; return a TaskResult, a summary dict or None.",
)


def summary_from_result(task_key: str, result: TaskResult | Mapping[str, Any]) -> dict[str, Any]:
    """Build the envelope for ``result``: a ``TaskResult`` or a whole summary dict.

    Raises:
        SummaryValidationError: the contract rejects the summary.
    """
    if isinstance(result, TaskResult):
        return build_summary(
            task_key,
            metrics=result.metrics,
            highlights=tuple(result.highlights),
            skipped=result.skipped,
            skip_reason=result.skip_reason,
            scope_time=dict(result.scope_time) if result.scope_time is not None else None,
            scope_target=dict(result.scope_target) if result.scope_target is not None else None,
            inputs=dict(result.inputs) if result.inputs is not None else None,
            ext_data=result.ext_data_dict(),
        )
    return validate_summary(dict(result), task_key=task_key)


def summary_from_counts(
    task_key: str, completed: int, failed: int, language: str
) -> dict[str, Any]:
    """Build the envelope of a task that returned nothing: its item counts as metrics.

    Raises:
        SummaryValidationError: the contract rejects it (the task type's ``ext.data`` model
            has required fields, for example).
    """
    metrics: list[dict[str, Any]] = [
        {
            "key": "items_completed",
            "label": ITEMS_COMPLETED_LABEL.render(language),
            "value": completed,
            "tone": "success",
        },
        {
            "key": "items_failed",
            "label": ITEMS_FAILED_LABEL.render(language),
            "value": failed,
            "tone": "danger" if failed else "info",
        },
    ]
    return build_summary(task_key, metrics=metrics)


def rejection_message(error: SummaryValidationError, language: str) -> str:
    """Describe a rejected summary by its rules and paths, never by its values."""
    rules = "; ".join(
        f"{violation.rule} at {violation.path}" for violation in error.violations[:10]
    )
    if len(error.violations) > 10:
        rules += f"; +{len(error.violations) - 10}"
    return SUMMARY_REJECTED.render(language, rules=rules)


def unsupported_result_message(result: object, language: str) -> str:
    """Describe a task's return value that is neither a ``TaskResult``, a dict nor None."""
    return UNSUPPORTED_RESULT.render(language, kind=type(result).__name__)


def invalid_result_status_message(status: object, language: str) -> str:
    """Describe a ``TaskResult.status`` that cannot end a run."""
    return INVALID_RESULT_STATUS.render(language, status=repr(str(status))[:80])


def items_dropped_message(dropped: int, language: str) -> str:
    """Describe item changes that the write service rejected, for the run's ``error_message``."""
    return ITEMS_DROPPED.render(language, dropped=dropped)


def items_unrecorded_message(language: str) -> str:
    """Describe, on an item, why a runner failed it when ending its run."""
    return ITEM_UNRECORDED.render(language)


def items_failed_message(completed: int, failed: int, language: str) -> str:
    """Describe a run in which some items failed, for its ``error_message``."""
    return ITEMS_FAILED.render(language, failed=failed, completed=completed)


def run_end_not_recorded_text(
    run_id: str, seconds: float, reap_timeout_seconds: int, cause: Text
) -> Text:
    """Describe, in both languages, a run's end that could not be written to the database."""
    params = {"run_id": run_id, "seconds": round(seconds), "reap_timeout": reap_timeout_seconds}
    return Text(
        RUN_END_NOT_RECORDED.render("zh-CN", cause=cause.zh, **params),
        RUN_END_NOT_RECORDED.render("en", cause=cause.en, **params),
    )
