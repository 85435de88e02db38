"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright's own browser downloads are impossible here, so we launch /usr/bin/chromium. The tests are
marked `e2e`; without Chromium on the machine they are reported as skipped with the reason, and .ci/run
installs Chromium so CI always runs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SALESFLOW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SALESFLOW_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts" / "e2e"))
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# The live server runs Django in a thread while Playwright's sync API runs an event loop in this one.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser(django_db_setup) -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium); .ci/run installs it")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # While Playwright's sync API is running, this thread has a running asyncio loop, so asgiref hands
    # Django a second, context-local set of connection objects. Those lack the snapshot taken when the
    # test database was created, and serialized_rollback (roles, default stages) would silently restore
    # nothing — in these tests and in every transactional test that runs after them in the session.
    snapshots = {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            if snapshot is not None:
                connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
        connections.close_all()  # the context-local connections: PostgreSQL could not drop the test database


@pytest.fixture(autouse=True)
def csp_violations(request) -> Iterator[list[str]]:
    """Fail the test on any Content-Security-Policy violation the browser reports in any of its pages:
    every script and style must come from our static files, so a violation is a broken feature."""
    violations: list[str] = []
    if "browser" not in request.fixturenames:
        yield violations
        return
    browser = request.getfixturevalue("browser")
    original = browser.new_context

    def new_context(*args, **kwargs):
        context = original(*args, **kwargs)
        context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        return context

    browser.new_context = new_context
    try:
        yield violations
    finally:
        browser.new_context = original
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot(page, request):
    """shot("step-name") saves a full-page screenshot under artifacts/e2e/<test>/ (CI keeps that folder; the
    README's "Browser tests" paragraph names it)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.png"):  # from an earlier run: the folder shows this run only
        stale.unlink()
    counter = iter(range(1, 1000))

    def take(name: str, target=None) -> Path:
        """`target`: another page (a customer's browser context) to capture instead of the test's own."""
        path = folder / f"{next(counter):02d}-{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take
