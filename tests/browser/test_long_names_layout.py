"""A 255-character task name without spaces wraps in real Chromium instead of widening the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import TIMEOUT_MS, VIEWER_PASSWORD, Site, sign_in
from tests.factories import make_run

pytestmark = pytest.mark.browser

LONG_NAME = "N" * 255
LONG_KEY = "k" * 128


@pytest.fixture
def wide_page(browser: Browser) -> Iterator[Page]:
    """A 1440 x 1000 page in English."""
    context = browser.new_context(locale="en-US", viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def test_run_list_keeps_columns_in_view(wide_page: Page, site: Site) -> None:
    make_run(site.database, task_key=LONG_KEY, task_name=LONG_NAME, status="completed")
    sign_in(wide_page, site, "viewer", VIEWER_PASSWORD)

    scroller = wide_page.eval_on_selector(
        ".table-scroll", "box => [box.scrollWidth, box.clientWidth]")
    last_header = wide_page.locator("[data-testid=runs-table] th").last.bounding_box()

    assert scroller[0] <= scroller[1], scroller
    assert last_header is not None
    assert last_header["x"] + last_header["width"] <= 1440


def test_run_detail_heading_stays_in_card(wide_page: Page, site: Site) -> None:
    run = make_run(site.database, task_key=LONG_KEY, task_name=LONG_NAME, status="completed")
    sign_in(wide_page, site, "viewer", VIEWER_PASSWORD)

    wide_page.goto(f"{site.url}/runs/{run.run_id}")
    card = wide_page.locator("#run-header").bounding_box()
    heading = wide_page.locator("#run-header h1").bounding_box()
    ids = wide_page.locator("#run-header .task-key").bounding_box()
    overflow = wide_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")

    assert card is not None
    assert heading is not None
    assert ids is not None
    assert heading["x"] + heading["width"] <= card["x"] + card["width"]
    assert ids["x"] + ids["width"] <= card["x"] + card["width"]
    assert overflow == 0
