"""The report with attacker-written evidence: nothing they write can hide, run, leak or blow it up."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from findings.records import ATTACKER_IP, ATTACKER_UA, K1, leak_story

import ircreds
from ircreds import escape
from ircreds.report import render

SECTIONS = (
    "summary",
    "timeline",
    "lineage",
    "indicators",
    "findings",
    "key-calls",
    "containment",
    "evidence",
    "method",
)


def _replace(value: Any, swap: dict[str, str]) -> Any:
    if isinstance(value, str):
        return swap.get(value, value)
    if isinstance(value, dict):
        return {k: _replace(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, swap) for v in value]
    return value


def _report(fmt: str, **swap: str) -> Any:
    names = {"ua": ATTACKER_UA, "ip": ATTACKER_IP, "user": "backup-svc"}
    records = _replace(leak_story(), {names[k]: v for k, v in swap.items()})
    events = ircreds.load(records)
    return render(ircreds.trace(events, K1), events=events, fmt=fmt, figures=False, integrity=False)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.script: dict[str, str] = {}
        self.text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs).get("id")
        if found:
            self.ids.append(found)
        self._in = found if tag == "script" else None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in:
            self.script[self._in] = self.script.get(self._in, "") + data

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def test_user_agent_comment_opener_cannot_swallow_the_html_page() -> None:
    ua = '<!--<script>"</script>-->'
    html_text = _report("html", ua=ua).text
    start = html_text.index('id="indicators-json">') + len('id="indicators-json">')
    body = html_text[start : html_text.index("</script>", start)]
    # a browser's script-data state changes on "<!--" and "<script": no "<" may appear in the body
    assert "<" not in body
    assert ua in json.dumps(json.loads(body)) or any(i["value"] == ua for i in json.loads(body)["indicators"])
    page = _Page()
    page.feed(html_text)
    assert all(section in page.ids for section in SECTIONS)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ip", "<script>alert(1)</script>"),
        ("ua", "<img src=x onerror=alert(1)>"),
        ("user", "svc`<img src=x onerror=alert(1)>`"),
        ("user", "backup`svc`**bold**[link](javascript:alert(1))"),
    ],
)
def test_markdown_report_renders_attacker_fields_as_text(field: str, value: str) -> None:
    mistune = pytest.importorskip("mistune")
    text = _report("md", **{field: value}).text
    rendered = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])(text)
    page = _Page()
    page.feed(rendered)
    assert not {"script", "img"} & set(page.tags)
    assert 'href="javascript' not in rendered
    assert value in "".join(page.text)  # shown as written, whole (no code span broken open)


@pytest.mark.parametrize(
    "ua", ['=HYPERLINK("http://203.0.113.9/x","open")', "-2+3+cmd|' /C calc'!A0", "@SUM(1)"]
)
def test_indicator_csv_cells_never_start_a_formula(ua: str) -> None:
    report = _report("md", ua=ua)
    rows = list(csv.DictReader(io.StringIO(report.assets["report-indicators.csv"].decode())))
    assert rows
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(escape.CSV_RISKY), cell
    assert ua in [escape.csv_uncell(r["value"]) for r in rows]


def test_html_scrub_finds_a_token_the_template_escaped() -> None:
    token = "FwoGZXIvYXdzEXAMPLEHOSTILETOKEN0000000000"
    report = _report("html", ua=f'aws-cli/2.15 {{"sessionToken": "{token}"}}')
    assert token not in report.text
    for blob in report.assets.values():
        assert token.encode() not in blob


def test_a_huge_user_agent_is_cut_in_displays_and_kept_once_in_the_json_appendix() -> None:
    ua = "Mozilla/5.0 " + "A" * 5_000_000
    report = _report("html", ua=ua)
    assert len(report.text) < len(ua) * 1.2  # was ~7 copies (data: URIs, tables, summary)
    assert report.text.count(ua) == 1  # the inline JSON appendix
    md = _report("md", ua=ua)
    assert len(md.text) < 500_000
    assert re.search(r"\+[\d,]+ chars", md.text)
