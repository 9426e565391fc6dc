"""Record real runs, serve the console and save screenshots for the docs and the README.

Run from the repository root: ``python -m tests.browser.take_screenshots``. It writes
``docs/screenshots/{runs,run-detail,tasks}{,.en}.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from taskrun_center.contract import build_summary
from taskrun_center.runners import run_task
from taskrun_center.runners.loading import load_builtin_tasks, load_task_modules
from taskrun_center.storage.engine import Database
from taskrun_center.storage.migrate import upgrade
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import Role, create_user
from tests.browser.live_server import CHROMIUM, CHROMIUM_ARGS, start_live_server
from tests.factories import base_summary, make_run

OUTPUT = Path("docs/screenshots")
PASSWORD = "screenshot-password"


def _record_runs(database: Database, folder: Path) -> str:
    """Record real runs of built-in and example tasks plus a few shaped ones; return a run_id."""
    load_builtin_tasks()
    load_task_modules(["examples.dbstats"])

    good = f"sqlite:///{folder / 'taskrun.db'}"
    broken = folder / "corrupt.db"
    broken.write_bytes(b"this is not a database")
    run_task("dbstats_collect", database=database, trigger_source="scheduled",
             arguments={"targets": [good, f"sqlite:///{broken}"]})
    run_task("dbstats_collect", database=database, trigger_source="manual",
             arguments={"targets": []})
    run_task("task_runs_audit", database=database, trigger_source="scheduled")
    run_task("task_runs_reap", database=database, trigger_source="scheduled")
    run_task("task_runs_purge", database=database, trigger_source="cli",
             arguments={"dry_run": True})

    exec_summary = base_summary("nightly_backup", runner="exec", command="pg_dump",
                                exit_code=0, signal=None)
    exec_summary["common"]["metrics"] = [
        {"key": "exit_code", "label": "退出码", "value": 0, "tone": "success"},
        {"key": "dumped_mb", "label": "导出大小", "value": 512.4, "unit": "MiB", "tone": "info"},
    ]
    make_run(database, task_key="nightly_backup", status="completed", summary_json=exec_summary,
             trigger_source="cli", items={"completed": 1})

    sync = build_summary("sync_accounts", metrics=[
        {"key": "synced", "label": "同步账号", "value": 1284, "tone": "success"},
        {"key": "disabled", "label": "停用", "value": 7, "tone": "warning"},
        {"key": "errors", "label": "失败", "value": 2, "tone": "danger"},
    ], highlights=["华东区 2 个账号同步失败：上游超时", "<img src=x onerror=alert(1)>"])
    run = make_run(database, task_key="sync_accounts", status="running", summary_json=sync,
                   items={"completed": 40, "failed": 2, "running": 1, "pending": 17},
                   task_category="sync")
    return run.run_id


def main() -> int:
    """Record the runs, then save the screenshots; return the exit status."""
    folder = Path(tempfile.mkdtemp(prefix="taskrun-shots-"))
    url = f"sqlite:///{folder / 'taskrun.db'}"
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        create_user(session, "admin", PASSWORD, Role.ADMIN)
    running_id = _record_runs(database, folder)
    server = start_live_server(create_app(database, secret_key="screenshots-secret-0123456789"))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for language, suffix in (("zh-CN", ""), ("en", ".en")):
                context = browser.new_context(locale=language,
                                              viewport={"width": 1440, "height": 900})
                page = context.new_page()
                page.goto(f"{server.url}/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{server.url}/runs")
                page.screenshot(path=str(OUTPUT / f"runs{suffix}.png"), full_page=True)
                page.goto(f"{server.url}/runs/{running_id}")
                page.screenshot(path=str(OUTPUT / f"run-detail{suffix}.png"), full_page=True)
                page.goto(f"{server.url}/tasks")
                page.screenshot(path=str(OUTPUT / f"tasks{suffix}.png"), full_page=True)
                context.close()
            browser.close()
    finally:
        server.stop()
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
