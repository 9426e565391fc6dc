"""Task types as the web layer shows them, and run-now through the runners' dispatcher."""

from __future__ import annotations

from typing import Any

import structlog

from taskrun_center.contract import default_registry
from taskrun_center.errors import InvalidQueryError, TaskRunError, UnknownTaskTypeError
from taskrun_center.i18n import Text
from taskrun_center.lifecycle.query_reasons import fill
from taskrun_center.web.api.schemas import MetricDefinitionData, TaskTypeData
from taskrun_center.web.auth.accounts import Principal
from taskrun_center.web.context import WebContext
from taskrun_center.web.errors import TaskNotRunnable

# The detail is Python's own message from binding the arguments, which is English only.
_ARGUMENTS_MISMATCH = Text("与任务 {task_key} 的函数签名不符（Python 提示：{detail}）",
                           "do not fit the signature of task {task_key}: {detail}")

log = structlog.get_logger(__name__)


def runnable_task_keys() -> set[str]:
    """Return the keys of tasks whose code is loaded in this process."""
    from taskrun_center.runners import all_tasks

    return {definition.key for definition in all_tasks()}


def list_task_types(language: str) -> list[TaskTypeData]:
    """Describe every registered task type in ``language``, sorted by category and key."""
    runnable = runnable_task_keys()
    english = language == "en"
    result = []
    for task_type in sorted(default_registry.all(), key=lambda t: (t.category, t.key)):
        metrics = [
            MetricDefinitionData(
                key=metric.key,
                label=metric.label_en if english else metric.label_zh,
                unit=metric.unit,
                tone=str(metric.tone) if metric.tone else None,
            )
            for metric in task_type.metrics
        ]
        result.append(
            TaskTypeData(
                key=task_type.key,
                name=task_type.name_en if english else task_type.name_zh,
                category=task_type.category,
                description=task_type.description_en if english else task_type.description_zh,
                metrics=metrics,
                runnable=task_type.key in runnable,
            )
        )
    return result


def task_display_names(language: str) -> dict[str, str]:
    """Map each registered task key to its name in ``language``."""
    english = language == "en"
    return {t.key: (t.name_en if english else t.name_zh) for t in default_registry.all()}


def registered_metric_labels(task_key: str, language: str) -> dict[str, str]:
    """Map each metric key the registered type ``task_key`` defines to its label in ``language``.

    An unknown task type gives an empty map, so callers fall back to the stored labels.
    """
    task_type = default_registry.get(task_key)
    if task_type is None:
        return {}
    return {metric.key: metric.label(language) for metric in task_type.metrics}


def localize_run(run: dict[str, Any], language: str) -> dict[str, Any]:
    """Add ``task_name_localized`` and ``metric_labels_localized`` to a serialized run.

    Both come from the task-type registry in ``language``. The stored ``task_name`` and the
    stored metric labels are the fallback for an unregistered type or metric key. Free text that
    the task stored (highlights, skip reason, error messages) is never translated.
    """
    names = task_display_names(language)
    labels = registered_metric_labels(str(run.get("task_key")), language)
    localized = {}
    for metric in _stored_metrics(run.get("summary_json")):
        key = str(metric["key"])
        localized[key] = labels.get(key) or str(metric.get("label") or key)
    return {
        **run,
        "task_name_localized": names.get(str(run.get("task_key")), run.get("task_name")),
        "metric_labels_localized": localized,
    }


def _stored_metrics(summary: Any) -> list[dict[str, Any]]:
    # Stored rows may come from a buggy writer, so every level is checked before use.
    common = summary.get("common") if isinstance(summary, dict) else None
    metrics = common.get("metrics") if isinstance(common, dict) else None
    if not isinstance(metrics, list):
        return []
    return [metric for metric in metrics if isinstance(metric, dict) and "key" in metric]


def start_run_now(
    context: WebContext,
    task_key: str,
    principal: Principal,
    arguments: dict[str, Any],
    *,
    trigger_source: str,
) -> str:
    """Create a pending run of a loaded task and submit it; return the new run_id.

    Raises:
        TaskNotRunnable: no task with this key is loaded in this server.
        InvalidQueryError: ``arguments`` do not fit the task's signature.
    """
    from taskrun_center.runners import TaskArgumentsError
    from taskrun_center.runners.dispatch import enqueue_run

    if task_key not in runnable_task_keys():
        raise TaskNotRunnable(task_key=task_key)
    try:
        run_id = enqueue_run(
            task_key,
            database=context.database,
            trigger_source=trigger_source,
            arguments=arguments,
            created_by=principal.username,
        )
    except UnknownTaskTypeError as error:
        raise TaskNotRunnable(task_key=task_key) from error
    except TaskArgumentsError as error:
        reason = error.reason_text or fill(
            _ARGUMENTS_MISMATCH, task_key=task_key, detail=error.reason
        )
        raise InvalidQueryError("arguments", reason) from error
    except TaskRunError as error:
        log.error("run_now_failed", task_key=task_key, username=principal.username,
                  error_code=error.code, error=str(error))
        raise
    log.info("run_now_queued", run_id=run_id, task_key=task_key, username=principal.username)
    return run_id
