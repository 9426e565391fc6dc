"""Database errors worded for the CLI in the CLI language.

The storage layer names the failed operation in English (``"create a user"``, ``"start_run"``)
because the same text goes to the logs. A user in Chinese mode reads the Chinese name from
``OPERATION_NAMES`` instead; an operation missing from the table is shown as it is.
"""

from __future__ import annotations

import re

from taskrun_center.errors import StorageError
from taskrun_center.i18n import Language, Text

# Operation names passed to ``Database.transaction``, ``translate_errors`` and the write
# service, with the Chinese a user reads.
OPERATION_NAMES: dict[str, str] = {
    "reading runs": "读取运行记录",
    "read run": "读取运行",
    "read run status": "读取运行状态",
    "read run counters": "读取运行计数",
    "read the schema revision": "读取表结构版本",
    "read scheduler leader": "读取主调度器记录",
    "record scheduler leader": "记录主调度器",
    "renew scheduler leader": "续期主调度器",
    "release scheduler leader": "释放主调度器",
    "list users": "列出用户",
    "list API tokens": "列出 API 令牌",
    "create a user": "创建用户",
    "change a password": "修改密码",
    "create an API token": "创建 API 令牌",
    "revoke an API token": "吊销 API 令牌",
    "create the initial admin": "创建初始管理员账号",
    "maintenance": "维护",
    "purge batch": "分批清理",
    "reap run": "回收运行",
    "cancel a run from the console": "从控制台取消运行",
    "cancel interrupted run": "取消被中断的运行",
    "create pending run": "创建等待中的运行",
    "create pending item run": "创建等待中的子项运行",
    "claim run of a Celery message": "认领 Celery 消息的运行",
    "fail run of an unknown task": "把未知任务的运行标记为失败",
    "mark run failed": "把运行标记为失败",
    "fail unfinished items": "把未结束的子项标记为失败",
    "cancel interrupted scheduled run": "取消被中断的定时运行",
    "mark undispatched run failed": "把未发送的运行标记为失败",
    "mark unsent item run failed": "把未发送的子项运行标记为失败",
    "start run": "开始运行",
    "start item": "开始子项",
    "end item": "结束子项",
    "declare items": "声明子项",
    "record items": "记录子项",
    "record heartbeat": "记录心跳",
    "write summary": "写入摘要",
    "finalize run": "结束运行",
    "finalize item run": "结束子项运行",
    "start_run": "开始运行",
    "resolve_or_start_run": "查找或开始运行",
    "claim_run": "认领运行",
    "heartbeat": "记录心跳",
    "init_items": "声明子项",
    "start_item": "开始子项",
    "complete_item": "完成子项",
    "complete_items": "完成子项",
    "fail_item": "记录子项失败",
    "cancel_item": "取消子项",
    "cancel_run": "取消运行",
    "write_summary": "写入摘要",
    "finalize_run": "结束运行",
    "finalize_run_with_summary": "结束运行并写入摘要",
    "mark_run_failed": "把运行标记为失败",
}

_LOCKED_FOR = Text(
    "{operation}失败：SQLite 数据库被另一个写入进程锁定，等待 {milliseconds} 毫秒后仍未释放。"
    "请稍后重试，或调大 TASKRUN_SQLITE_BUSY_TIMEOUT_MS。",
    "{operation} failed: the SQLite database was locked by another writer for longer than "
    "{milliseconds} ms; retry later, or raise TASKRUN_SQLITE_BUSY_TIMEOUT_MS.",
)
_LOCKED = Text(
    "{operation}失败：SQLite 数据库被另一个写入进程锁定，超过等待时限后仍未释放。"
    "请稍后重试，或调大 TASKRUN_SQLITE_BUSY_TIMEOUT_MS。",
    "{operation} failed: the SQLite database was locked by another writer for longer than "
    "the busy timeout; retry later, or raise TASKRUN_SQLITE_BUSY_TIMEOUT_MS.",
)
_SCHEMA_MISSING = Text(
    "数据库中没有表 {table}：表结构尚未创建或不是最新版本。"
    "请运行 taskrun db upgrade（或 scripts/start）后重试。（操作：{operation}）",
    "{operation} failed: the database has no table {table}, so its schema was never created "
    "or is out of date; run taskrun db upgrade (or scripts/start) and retry.",
)
_CONNECTION_LOST = Text(
    "{operation}失败：数据库连接已断开，事务已回滚；下一次操作会重新连接。",
    "{operation} failed: the database connection was lost and the transaction was rolled "
    "back; the next operation opens a new connection.",
)
_OTHER = Text("{operation}失败：{detail}", "{operation} failed: {detail}")
_UNNAMED = Text("数据库操作失败：{detail}", "Database operation failed: {detail}")

# ``to_storage_error`` words any other driver failure as "<operation> failed: <detail>".
_FAILED_PREFIX = re.compile(r"^(?P<operation>[^:]+?) failed: (?P<detail>.*)$", re.DOTALL)


# ``taskrun_center.storage.migrate`` names a migration with its target revision.
_MIGRATION_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("upgrade to revision ", "升级到版本 "),
    ("downgrade to revision ", "降级到版本 "),
)


def operation_name(operation: str, language: Language) -> str:
    """Return the name of a storage operation as a user reads it in ``language``."""
    if language == "en":
        return operation
    for prefix, chinese in _MIGRATION_OPERATIONS:
        if operation.startswith(prefix):
            return chinese + operation.removeprefix(prefix)
    return OPERATION_NAMES.get(operation, operation)


def storage_error_text(error: StorageError, language: Language) -> str:
    """Return the message of a database error in ``language``, naming the failed operation."""
    from taskrun_center.storage.errors import (
        ConnectionLostError,
        DatabaseFileInvalidError,
        DatabaseLockedError,
        DatabaseUnreachableError,
        SchemaMissingError,
    )

    if isinstance(error, DatabaseUnreachableError | DatabaseFileInvalidError):
        return error.render(language, operation=operation_name(error.operation, language))
    if isinstance(error, DatabaseLockedError):
        operation = operation_name(error.operation, language)
        if error.busy_timeout_ms is None:
            return _LOCKED.render(language, operation=operation)
        return _LOCKED_FOR.render(
            language, operation=operation, milliseconds=error.busy_timeout_ms
        )
    if isinstance(error, SchemaMissingError):
        return _SCHEMA_MISSING.render(
            language, operation=operation_name(error.operation, language), table=error.table or "?"
        )
    if isinstance(error, ConnectionLostError):
        return _CONNECTION_LOST.render(
            language, operation=operation_name(error.operation, language)
        )
    return _other_error_text(error, language)


def _other_error_text(error: StorageError, language: Language) -> str:
    # An error that carries its message in both languages, such as a migration that stops.
    own_text = getattr(error, "text", None)
    if isinstance(own_text, Text):
        return own_text.render(language)
    message = str(error)
    match = _FAILED_PREFIX.match(message)
    if match is None:
        return _UNNAMED.render(language, detail=message)
    operation = operation_name(match.group("operation"), language)
    return _OTHER.render(language, operation=operation, detail=match.group("detail"))
