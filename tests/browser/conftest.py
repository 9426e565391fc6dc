"""A live server on loopback with seeded runs, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from taskrun_center.storage.engine import Database
from taskrun_center.web.app import create_app
from taskrun_center.web.auth.accounts import Role, create_user
from tests.browser.live_server import CHROMIUM, CHROMIUM_ARGS, LiveServer, start_live_server

# Generous bounds for a CI machine shared with other work; waits end as soon as they succeed.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)

ADMIN_PASSWORD = "admin-password-1"
VIEWER_PASSWORD = "viewer-password-1"


@dataclass
class Site:
    """The server under test and its database."""

    url: str
    database: Database


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session (per xdist worker)."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def site(sqlite_url: str) -> Iterator[Site]:
    """A fresh database with an admin and a viewer, served on a free loopback port."""
    database = Database(sqlite_url)
    with database.transaction() as session:
        create_user(session, "admin", ADMIN_PASSWORD, Role.ADMIN)
        create_user(session, "viewer", VIEWER_PASSWORD, Role.VIEWER)
    app = create_app(database, secret_key="browser-test-secret-key-0123456789")
    app.state.web.poll_interval_ms = 300
    server: LiveServer = start_live_server(app)
    try:
        yield Site(server.url, database)
    finally:
        server.stop()
        database.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new browser context (no cookies) with Chinese as the browser language."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    new_page = context.new_page()
    yield new_page
    context.close()


def sign_in(page: Page, site: Site, username: str, password: str) -> None:
    """Sign in through the login form and wait for the run list."""
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/runs")
