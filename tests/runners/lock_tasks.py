"""Tasks that take SQLite's write lock in a second process before they return.

Subprocesses import this module through ``TASKRUN_TASK_MODULES=tests.runners.lock_tasks``.
The lock holder is a separate Python process in ``BEGIN IMMEDIATE``. It keeps the lock until
``release_locks`` writes a line to its stdin, or until its stdin closes, which happens when the
process that started it exits.
"""

from __future__ import annotations

import subprocess
import sys
import time

from taskrun_center.runners import RunContext, task

_HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""

#: Lock holders started in this process and not released yet.
HOLDERS: list[subprocess.Popen[str]] = []


def hold_write_lock(database_url: str) -> subprocess.Popen[str]:
    """Start a process that holds the write lock of the SQLite file of ``database_url``."""
    path = database_url.removeprefix("sqlite:///")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline().strip()
    if line != "locked":
        holder.kill()
        raise RuntimeError(f"the lock holder did not take the lock: {line!r}")
    HOLDERS.append(holder)
    return holder


def release_locks() -> None:
    """Make every lock holder of this process roll back and exit."""
    while HOLDERS:
        holder = HOLDERS.pop()
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("release\n")
            holder.stdin.close()
        holder.wait(timeout=60)


@task(key="sample_lock_at_end", name_zh="结束前加锁", name_en="Lock at end", category="sample")
def sample_lock_at_end(ctx: RunContext, *, items: int = 0, fail: bool = False) -> None:
    """Record ``items`` items, then lock the database; raise afterwards when ``fail`` is set."""
    for index in range(items):
        with ctx.item("step", str(index)):
            pass
    ctx.flush_items()
    hold_write_lock(ctx.database.url)
    if fail:
        raise RuntimeError("the task failed after the lock was taken")


@task(key="sample_lock_before_items", name_zh="加锁后记录条目", name_en="Lock before items",
      category="sample")
def sample_lock_before_items(ctx: RunContext, *, items: int = 2, pause: float = 0.5,
                             fail: bool = False) -> None:
    """Lock the database, record ``items`` items, wait ``pause`` seconds, then return or raise.

    The pause lets the item writer start its batch, so the batch is in flight and retrying
    on the lock when the run's end begins.
    """
    hold_write_lock(ctx.database.url)
    for index in range(items):
        with ctx.item("step", str(index)):
            pass
    time.sleep(pause)
    if fail:
        raise RuntimeError("the task failed with its items still queued")
