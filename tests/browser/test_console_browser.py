"""The console in a real headless Chromium: what an operator does and sees."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from taskrun_center.lifecycle.write_service import TaskRunsWriteService
from tests.browser.conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, Site, sign_in
from tests.factories import make_run
from tests.web.summaries import XSS_HIGHLIGHT, rich_summary, skipped_summary, xss_summary

pytestmark = pytest.mark.browser


def test_login_lands_on_run_list(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/runs")
    expect(page).to_have_url(f"{site.url}/login?next=%2Fruns")

    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    expect(page.locator("h1")).to_have_text("任务运行中心")
    expect(page.get_by_test_id("empty-state")).to_be_visible()


def test_wrong_password_shows_message(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")

    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")


def test_filter_by_status(page: Page, site: Site) -> None:
    failed = make_run(site.database, status="failed")
    done = make_run(site.database, status="completed")
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    page.get_by_test_id("filter-status").select_option("failed")
    page.get_by_test_id("apply-filters").click()

    expect(page.locator(f'tr[data-run-id="{failed.run_id}"]')).to_be_visible()
    expect(page.locator(f'tr[data-run-id="{done.run_id}"]')).to_have_count(0)
    expect(page).to_have_url(f"{site.url}/runs?task_key=&task_category=&trigger_source="
                             "&status=failed&skipped=&started_from=&started_to=&search="
                             "&sort=started_at&order=desc&limit=20")


def test_search_shortcut_focuses_search(page: Page, site: Site) -> None:
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    page.keyboard.press("/")

    expect(page.get_by_test_id("filter-search")).to_be_focused()


def test_list_shows_chips_and_skip_reason(page: Page, site: Site) -> None:
    rich = make_run(site.database, status="completed", summary_json=rich_summary())
    skipped = make_run(site.database, status="completed",
                       summary_json=skipped_summary("今日无新账号"))
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    rich_row = page.locator(f'tr[data-run-id="{rich.run_id}"]')
    skipped_row = page.locator(f'tr[data-run-id="{skipped.run_id}"]')

    expect(rich_row.locator('[data-metric="rows"]')).to_have_text("行数1,200 行")
    expect(rich_row.locator('[data-metric="rows"]')).to_have_class("chip tone-success")
    expect(rich_row.locator('[data-metric="errors"]')).to_have_class("chip tone-danger")
    expect(skipped_row.get_by_test_id("skipped")).to_have_text("已跳过今日无新账号")


def test_open_detail_from_list(page: Page, site: Site) -> None:
    run = make_run(site.database, status="completed_with_errors", summary_json=rich_summary(),
                   items={"completed": 2, "failed": 1})
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    page.locator(f'tr[data-run-id="{run.run_id}"] a.task-name').click()

    expect(page).to_have_url(f"{site.url}/runs/{run.run_id}")
    expect(page.get_by_test_id("items-table").locator("tbody tr")).to_have_count(3)
    expect(page.locator("#errors")).to_contain_text("item 2 failed")


def test_admin_cancels_running_run(page: Page, site: Site) -> None:
    run = make_run(site.database, status="running", items={"running": 1, "pending": 1})
    sign_in(page, site, "admin", ADMIN_PASSWORD)
    page.goto(f"{site.url}/runs/{run.run_id}")
    page.once("dialog", lambda dialog: dialog.accept())

    page.get_by_test_id("cancel-run").click()

    expect(page.locator("#run-header .badge").first).to_have_text("已取消")
    expect(page.get_by_role("status")).to_have_text("运行已取消。")
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)


def test_viewer_sees_no_cancel_button(page: Page, site: Site) -> None:
    run = make_run(site.database, status="running")
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    page.goto(f"{site.url}/runs/{run.run_id}")

    expect(page.locator("#run-header")).to_be_visible()
    expect(page.get_by_test_id("cancel-run")).to_have_count(0)


def test_switch_to_english(page: Page, site: Site) -> None:
    make_run(site.database, status="failed")
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    page.get_by_test_id("switch-language").click()

    expect(page.locator("h1")).to_have_text("Task runs")
    expect(page.locator("tbody .badge").first).to_have_text("Failed")
    page.reload()
    expect(page.locator("h1")).to_have_text("Task runs")


def test_markup_in_highlight_shows_as_text(page: Page, site: Site) -> None:
    run = make_run(site.database, status="completed", summary_json=xss_summary())
    dialogs: list[Dialog] = []
    def record_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog)

    page.on("dialog", record_dialog)
    sign_in(page, site, "viewer", VIEWER_PASSWORD)

    row = page.locator(f'tr[data-run-id="{run.run_id}"]')

    expect(row.locator(".highlights li")).to_have_text(XSS_HIGHLIGHT)
    expect(row.locator("img")).to_have_count(0)
    page.goto(f"{site.url}/runs/{run.run_id}")
    expect(page.get_by_test_id("all-highlights")).to_have_text(XSS_HIGHLIGHT)
    assert dialogs == []


def test_running_row_updates_without_reload(page: Page, site: Site) -> None:
    run = make_run(site.database, status="running", items={"running": 1})
    sign_in(page, site, "viewer", VIEWER_PASSWORD)
    row = page.locator(f'tr[data-run-id="{run.run_id}"]')
    expect(row.locator(".badge")).to_have_text("运行中")
    page.evaluate("window.__marker = 'same page'")

    with site.database.transaction() as session:
        service = TaskRunsWriteService(session)
        service.complete_item(run.run_id, "step", "0")
        service.finalize_run(run.run_id)

    expect(row.locator(".badge")).to_have_text("已完成")
    assert page.evaluate("window.__marker") == "same page"


def test_detail_follows_running_run(page: Page, site: Site) -> None:
    run = make_run(site.database, status="running", items={"running": 2})
    sign_in(page, site, "viewer", VIEWER_PASSWORD)
    page.goto(f"{site.url}/runs/{run.run_id}")
    page.evaluate("window.__marker = 'same page'")

    with site.database.transaction() as session:
        TaskRunsWriteService(session).complete_item(run.run_id, "step", "0")

    expect(page.locator("[data-live-progress] .numbers")).to_have_text("1/2")
    assert page.evaluate("window.__marker") == "same page"

    with site.database.transaction() as session:
        service = TaskRunsWriteService(session)
        service.complete_item(run.run_id, "step", "1")
        service.finalize_run(run.run_id)

    expect(page.locator("#run-header .badge").first).to_have_text("已完成")
