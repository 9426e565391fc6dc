"""Problems of a scheduler job file, worded in Chinese and English, and the error that lists them.

Each problem names the job (or the top level of the file), the field, the rule and the fix.
Values from the file are quoted with ``repr``, so a control character shows as an escape.
"""

from __future__ import annotations

from collections.abc import Sequence

from taskrun_center.i18n import Text
from taskrun_center.runners.errors import SchedulerConfigError

FILE_UNREADABLE = Text(
    "无法读取文件：{cause}；请检查 --config 或 TASKRUN_SCHEDULER_CONFIG 给出的路径和读取权限",
    "cannot read the file: {cause}; check the path given by --config or "
    "TASKRUN_SCHEDULER_CONFIG and that it is readable",
)
FILE_NOT_TOML = Text(
    "不是有效的 TOML：{cause}；请按提示的行列位置修正语法",
    "not valid TOML: {cause}; fix the syntax at the line and column given",
)
UNKNOWN_TOP_LEVEL_KEYS = Text(
    "顶层有未知的键 {keys}；顶层只允许 timezone、misfire_grace_seconds 和 [jobs.<ID>] 表，"
    "请删除或改正这些键",
    "unknown top-level keys {keys}; the top level allows only timezone, "
    "misfire_grace_seconds and [jobs.<id>] tables, so remove or rename them",
)
JOBS_NOT_TABLE = Text(
    "顶层的 jobs 必须是表；请把每个任务写成 [jobs.<ID>] 表",
    "the top-level 'jobs' must be a table; write each job as a [jobs.<id>] table",
)
TOP_LEVEL = Text("文件顶层：{problem}", "top level: {problem}")
JOB = Text("调度任务 {job}：{problems}", "job {job}: {problems}")

UNKNOWN_TIME_ZONE = Text(
    "timezone 的值 {value} 不是已知的时区；请使用 IANA 时区名，例如 Asia/Shanghai 或 UTC",
    "unknown time zone {value} in 'timezone'; use an IANA zone name such as "
    "Asia/Shanghai or UTC",
)
BAD_GRACE = Text(
    "misfire_grace_seconds 的值 {value} 无效：必须是不小于 1 的整数（秒），例如 300",
    "invalid 'misfire_grace_seconds' {value}: it must be a whole number of seconds, at "
    "least 1, such as 300",
)
BAD_JOB_ID = Text(
    "任务 ID 无效：只能包含字母、数字和 _ . -，最多 64 个字符；请重命名 [jobs.<ID>] 表",
    "invalid job id: use only letters, digits and _ . -, at most 64 characters; rename "
    "the [jobs.<id>] table",
)
JOB_NOT_TABLE = Text(
    "必须是表；请写成 [jobs.<ID>]，在其下写 task 以及 cron 或 interval",
    "must be a table; write it as [jobs.<id>] with task and cron or interval below it",
)
UNKNOWN_JOB_KEYS = Text(
    "未知的键 {keys}；允许的键为 task、cron、interval、enabled、arguments、"
    "misfire_grace_seconds、coalesce、timezone，请删除或改正",
    "unknown keys {keys}; the allowed keys are task, cron, interval, enabled, arguments, "
    "misfire_grace_seconds, coalesce and timezone, so remove or rename them",
)
ARGUMENTS_NOT_TABLE = Text(
    "arguments 必须是表，例如 arguments = {{ since = \"yesterday\" }}",
    "'arguments' must be a table, such as arguments = {{ since = \"yesterday\" }}",
)
MISSING_TASK = Text(
    "缺少 task：请写上已声明的任务键（taskrun tasks list 会列出它们）",
    "missing 'task': give a declared task key (taskrun tasks list shows them)",
)
UNKNOWN_TASK_KEY = Text(
    "task 的值 {task_key} 不是已声明的任务键（已声明的任务：{known}）；请改用其中之一，"
    "或用 TASKRUN_TASK_MODULES 或 --task-module 加载声明它的模块",
    "unknown task key {task_key} in 'task' (declared tasks: {known}); use one of them, or "
    "load the module that declares it with TASKRUN_TASK_MODULES or --task-module",
)
NO_TASKS = Text("无", "none")
BAD_ARGUMENTS = Text("arguments 无效：{reason}", "invalid 'arguments': {reason}")
NOT_TRUE_OR_FALSE = Text(
    "{field} 的值 {value} 无效：必须是 true 或 false",
    "invalid '{field}' {value}: it must be true or false",
)
CRON_OR_INTERVAL = Text(
    "cron 和 interval 必须写且只写一个：例如 cron = \"0 3 * * *\" 或 interval = \"15m\"",
    "give exactly one of 'cron' or 'interval', such as cron = \"0 3 * * *\" or "
    "interval = \"15m\"",
)
CRON_NOT_TEXT = Text(
    "cron 必须是字符串，例如 cron = \"0 3 * * *\"",
    "'cron' must be a string such as '0 3 * * *'",
)
BAD_CRON = Text(
    "cron 表达式 {cron} 无效：{cause}；请写五段式 crontab（分 时 日 月 星期），例如 \"0 3 * * *\"",
    "invalid cron expression {cron}: {cause}; write five fields (minute hour day month "
    "weekday), such as '0 3 * * *'",
)
BAD_INTERVAL = Text("interval 无效：{reason}", "invalid interval: {reason}")
INTERVAL_NOT_DURATION = Text(
    "{value} 既不是时长也不是秒数；请写整数加单位 s、m、h、d 或 w（例如 \"15m\"），"
    "或写正整数秒数（例如 900）",
    "{value} is neither a duration nor a number of seconds; write a whole number and a "
    "unit s, m, h, d or w (such as '15m'), or a positive whole number of seconds (such as "
    "900)",
)
INTERVAL_SECONDS_RANGE = Text(
    "秒数 {value} 超出范围：必须在 1 到 {maximum} 之间（100 年）",
    "{value} seconds is out of range: it must be from 1 to {maximum} (100 years)",
)


def fill(template: Text, **params: object) -> Text:
    """Return ``template`` with ``params`` filled in, in both languages.

    A ``Text`` parameter is filled in the matching language; anything else is formatted as is.
    """
    zh = {name: value.zh if isinstance(value, Text) else value for name, value in params.items()}
    en = {name: value.en if isinstance(value, Text) else value for name, value in params.items()}
    return Text(template.zh.format(**zh), template.en.format(**en))


def join_problems(problems: Sequence[Text]) -> Text:
    """Join several problems into one sentence per language."""
    return Text("；".join(problem.zh for problem in problems),
                "; ".join(problem.en for problem in problems))


class JobFileError(SchedulerConfigError):
    """Raised when a job file, or the list of jobs built from it, has problems.

    ``problems`` contains every problem found in one pass, each in both languages. ``reason_text``
    is the whole message (source and problems) in both languages, for the CLI. ``str()`` and
    ``reason`` are English, for logs.
    """

    def __init__(self, source: str, problems: Sequence[Text]) -> None:
        self.problems = list(problems)
        joined = join_problems(self.problems)
        super().__init__(source, None, joined.en)
        self.reason_text = Text(f"{source}：{joined.zh}", f"{source}: {joined.en}")

    def __reduce__(self) -> tuple[type[JobFileError], tuple[str, list[Text]]]:
        # Exception pickling would call the class with the message alone.
        return type(self), (self.source, self.problems)
