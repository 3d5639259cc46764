"""The browser harness itself works: Chromium starts offline and renders a local page."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_offline_page_renders_local_file_and_blocks_network(offline_page: Any, tmp_path: Path) -> None:
    html = tmp_path / "x.html"
    html.write_text('<html><body><h1 id="t">ircreds</h1><img src="https://example.com/a.png"></body></html>')
    offline_page.goto(html.as_uri())
    assert offline_page.text_content("#t") == "ircreds"
    assert any("example.com" in url for url in offline_page.blocked_requests)
