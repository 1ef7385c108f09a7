"""Browser fixtures: Debian's chromium driven by Playwright, signed into the admin of the live server.

Without playwright or chromium the browser tests skip, saying why; with ``REQUIRE_BROWSER=1`` (set
by .ci/run) they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN_PASSWORD = "admin password for the browser tests"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-test.txt)"
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"no chromium at {CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chromium)"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium per module (module scope: Playwright's event loop ends with the module)."""
    if why := browser_missing():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread while it runs, and Django then refuses
    # the (synchronous) ORM calls of the tests and of pytest-django's flush. Allowed for this module only.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def admin_user(transactional_db) -> Any:
    return get_user_model().objects.create_superuser("root", "root@example.com", ADMIN_PASSWORD)


@pytest.fixture
def admin_page(chromium, base_url, admin_user) -> Iterator[Any]:
    """A browser tab signed into /admin/ as a superuser."""
    context = chromium.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (gitignored) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def admin_client(db) -> Client:
    """Django's test client signed into the admin as a superuser (pytest-django's, with our user model)."""
    root = get_user_model().objects.create_superuser("root", "root@example.com", "root password")
    client = Client()
    client.force_login(root)
    return client
