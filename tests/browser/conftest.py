"""A real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, offline.

Every test in this folder is marked ``browser``. The browser is launched once per session with the
flags that work as root and without network (docs/stack-notes.md); playwright never downloads one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A launched Playwright Chromium browser; fails loudly when Debian's chromium is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own context (1400x1000)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def offline_page(chromium: Any) -> Iterator[Any]:
    """A page whose context refuses every network request except file:// and data: URLs."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    blocked: list[str] = []

    def _route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", _route)
    page = context.new_page()
    page.blocked_requests = blocked  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
