"""Bilingual reasons for rejecting a value given to the write service (``InvalidValueError``).

The CLI shows them in the reader's language, and logs get the English text. Fill a reason with
``query_reasons.fill`` when raising, so that braces in a quoted value stay text.
"""

from __future__ import annotations

from taskrun_center.i18n import Text

NOT_TRIGGER_SOURCE = Text("{value} 不是可选值，可选值为：{allowed}",
                          "{value} is not one of {allowed}")
NOT_STARTING_STATUS = Text("运行开始时的状态只能是 running 或 pending，不能是 {status}",
                           "a run starts running or pending, not {status}")
NOT_TERMINAL_STATUS = Text(
    "运行只能以 completed、completed_with_errors、failed 或 cancelled 结束，不能是 {status}",
    "a run ends completed, completed_with_errors, failed or cancelled, not {status}",
)
NOT_UUID = Text("{value} 不是 UUID", "{value} is not a UUID")
EMPTY = Text("不能为空", "must not be empty")
TOO_LONG = Text("共 {length} 个字符，最多允许 {maximum} 个",
                "{length} characters, at most {maximum} allowed")
NUL_CHARACTER = Text("含有 NUL 字符", "contains a NUL character")
CONTROL_CHARACTER = Text("含有控制字符（如制表符或 ESC）；请只用可见字符",
                         "contains a control character (such as a tab or ESC); use visible "
                         "characters only")
CONTAINS_SECRET = Text("含有密钥（{rules}）；请改用 ID 或哈希值",
                       "contains a secret ({rules}); use an id or a hash instead")
RUN_ID_TAKEN = Text("run_id 为 {run_id} 的运行已存在", "a run with run_id {run_id} already exists")
OTHER_TASK = Text("运行 {run_id} 属于任务 {actual}，不是 {expected}",
                  "run {run_id} belongs to task {actual}, not {expected}")
COMPLETION_NOT_DECLARED = Text(
    "子项 {item} 不在本次调用声明的子项中，或被完成了两次；每个声明的子项只能完成一次",
    "item {item} is not in the items of this call or is completed twice; complete each "
    "declared item once",
)
NO_ITEMS = Text("由多个 worker 处理的运行至少需要一个子项",
                "a run processed by many workers needs at least one item")
