"""Page layout in a real Chromium: phones, wide English tables, no failed requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response

from tests.browser.conftest import TIMEOUT_MS, VIEWER_PASSWORD, Site, sign_in
from tests.factories import make_run
from tests.web.summaries import rich_summary

pytestmark = pytest.mark.browser

# The page is wider than the viewport when the document scrolls sideways.
PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _open_page(browser: Browser, width: int, height: int, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 390 px wide page in English, the narrowest screen these tests check."""
    page = _open_page(browser, 390, 844, "en-US")
    yield page
    page.context.close()


@pytest.fixture
def wide_english(browser: Browser) -> Iterator[Page]:
    """A 1440 x 1000 page in English."""
    page = _open_page(browser, 1440, 1000, "en-US")
    yield page
    page.context.close()


def _seed_runs(site: Site) -> None:
    for status in ("completed", "failed", "running"):
        make_run(site.database, status=status, summary_json=rich_summary())


def test_phone_list_stays_within_screen(phone: Page, site: Site) -> None:
    _seed_runs(site)
    sign_in(phone, site, "viewer", VIEWER_PASSWORD)

    overflow = phone.evaluate(PAGE_OVERFLOW)
    nav_heights = phone.eval_on_selector_all(
        ".topbar nav a", "links => links.map(link => link.getBoundingClientRect().height)")
    filter_left = phone.eval_on_selector_all(
        ".filters label", "labels => labels.map(label => label.getBoundingClientRect().left)")
    scroller = phone.eval_on_selector(
        ".table-scroll",
        "box => [box.scrollWidth, box.clientWidth, getComputedStyle(box).overflowX]",
    )

    assert overflow == 0
    assert max(nav_heights) < 40, nav_heights
    assert len(set(round(left) for left in filter_left)) == 1, filter_left
    assert scroller[2] == "auto"
    assert scroller[0] > scroller[1], "the table scrolls inside its card"


def test_wide_english_list_shows_duration(wide_english: Page, site: Site) -> None:
    _seed_runs(site)
    sign_in(wide_english, site, "viewer", VIEWER_PASSWORD)

    header = wide_english.locator("[data-testid=runs-table] th").last
    header.scroll_into_view_if_needed()

    assert header.inner_text() == "Duration"
    assert header.is_visible()
    assert wide_english.evaluate(PAGE_OVERFLOW) == 0


def test_pages_load_without_failed_requests(wide_english: Page, site: Site) -> None:
    run = make_run(site.database, status="completed", summary_json=rich_summary())
    failed: list[str] = []

    def remember_failure(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    wide_english.on("response", remember_failure)
    sign_in(wide_english, site, "viewer", VIEWER_PASSWORD)
    for path in ("/runs", f"/runs/{run.run_id}", "/tasks"):
        wide_english.goto(f"{site.url}{path}")
        wide_english.wait_for_load_state("load")

    icon = wide_english.request.get(f"{site.url}/favicon.ico")

    assert failed == []
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


def test_english_detail_has_no_python_none(wide_english: Page, site: Site) -> None:
    run = make_run(site.database, status="completed", summary_json=rich_summary())
    sign_in(wide_english, site, "viewer", VIEWER_PASSWORD)

    wide_english.goto(f"{site.url}/runs/{run.run_id}")

    text = wide_english.locator("main").inner_text()
    assert "No target" in text
    assert "No inputs" in text
    assert "None" not in text
