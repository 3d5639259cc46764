"""The HTML report opens in a real headless Chromium with the network off, and its plots draw."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import ircreds
from ircreds.containment import plan
from ircreds.evidence import integrity
from ircreds.report import render

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "data" / "samples" / "walkthrough"
NOW = datetime(2025, 1, 21, tzinfo=UTC)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    events = ircreds.load(WALKTHROUGH)
    trace = ircreds.trace(events, key)
    cutoff = datetime(2025, 1, 20, 12, tzinfo=UTC)
    report = render(
        trace,
        plan=plan(trace, cutoff, now=NOW, events=events),
        events=events,
        integrity=integrity.check([WALKTHROUGH], events=events),
        fmt="html",
        now=NOW,
        command="pytest tests/browser/test_report_html.py",
        stem="walkthrough",
    )
    out = tmp_path_factory.mktemp("report") / "walkthrough.html"
    report.save(out)
    return out


def _open(page: Any, path: Path) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_selector("#figure-timeline .main-svg", timeout=30_000)
    page.wait_for_selector("#figure-lineage .main-svg", timeout=30_000)
    return errors


def test_report_html_opens_offline_with_drawn_plots_and_every_section(
    offline_page: Any, report_file: Path
) -> None:
    from plotly.offline import get_plotlyjs

    assert report_file.read_text().count(get_plotlyjs()[:300]) == 1  # plotly.js inlined once
    errors = _open(offline_page, report_file)
    assert offline_page.evaluate("typeof window.Plotly") == "object"
    assert offline_page.evaluate("document.querySelectorAll('script[src], link[href]').length") == 0
    # each figure is a drawn plotly graph: SVG layers plus its traces' data, at a readable size
    for fig in ("timeline", "lineage"):
        drawn = offline_page.evaluate(
            f"() => {{ const g = document.getElementById('figure-{fig}');"
            " return {svg: g.querySelectorAll('.main-svg').length, traces: (g.data || []).length,"
            " width: g.getBoundingClientRect().width}; }"
        )
        assert drawn["svg"] >= 1, fig
        assert drawn["traces"] >= 1, fig
        assert drawn["width"] > 300, fig
    assert "issued" in (offline_page.text_content("#figure-timeline .legend") or "")
    assert "DevUser" in (offline_page.text_content("#figure-lineage") or "")

    headings = offline_page.eval_on_selector_all("section > h2", "els => els.map(e => e.textContent)")
    assert headings == [
        "1. Summary",
        "2. Timeline",
        "3. Lineage",
        "4. Indicators",
        "5. Findings",
        "6. Key calls",
        "7. Containment",
        "8. Evidence",
        "9. Method and caveats",
    ]
    rows = offline_page.eval_on_selector_all("#indicators-table tbody tr", "els => els.length")
    appendix = offline_page.evaluate("JSON.parse(document.getElementById('indicators-json').textContent)")
    assert rows > 5
    assert len(appendix["indicators"]) == rows
    assert offline_page.blocked_requests == []
    assert errors == []


def test_report_html_prints_to_pdf(offline_page: Any, report_file: Path) -> None:
    _open(offline_page, report_file)
    offline_page.emulate_media(media="print")
    assert offline_page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    pdf = offline_page.pdf(format="A4", landscape=True, print_background=True)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page") > 1
    assert offline_page.blocked_requests == []
