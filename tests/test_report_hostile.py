"""The report with attacker-written evidence: nothing they write can hide, run, leak or blow it up."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
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
    assert len(report.text) < 1_000_000  # was ~7 copies (data: URIs, tables, summary), then 1
    assert ua not in report.text
    appendix = report.assets["report-indicators.json"].decode()
    assert appendix.count(ua) == 1  # whole, once: in the JSON appendix file
    page = _Page()
    page.feed(report.text)
    inline = json.loads(page.script["indicators-json"])
    assert inline["full_values"] == "report-indicators.json"
    (cut,) = [i for i in inline["indicators"] if i.get("truncated")]
    assert cut["value"].startswith("Mozilla/5.0 AAA")
    assert len(cut["value"]) <= escape.TEXT_LIMIT + 30
    (csv_row,) = [r for r in csv.DictReader(io.StringIO(report.assets["report-indicators.csv"].decode()))
                  if r["value"].startswith("Mozilla/5.0")]  # fmt: skip
    assert len(csv_row["value"]) < 32_767  # what a spreadsheet cell holds
    assert re.search(r"\+[\d,]+ chars", csv_row["value"])
    md = _report("md", ua=ua)
    assert len(md.text) < 500_000
    assert re.search(r"\+[\d,]+ chars", md.text)


_HUGE_AGENT_SCRIPT = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from findings.records import ATTACKER_UA, K1, leak_story
import ircreds
from ircreds.report import render

size, out = int(sys.argv[1]), sys.argv[2]
ua = "Mozilla/5.0 " + "A" * size
records = leak_story()
first = next(r for r in records if r["userAgent"] == ATTACKER_UA and r["userIdentity"].get("accessKeyId") == K1)
first["userAgent"] = ua
events = ircreds.load(records)
del records, first
loaded = int((events["userAgent"].str.len() > size).sum())
report = render(ircreds.trace(events, K1), events=events, fmt="html", integrity=False)
written = report.save(out)
blob = written[0].read_bytes()
appendix = (written[0].parent / "report-indicators.json").read_bytes()
print(json.dumps({"loaded": loaded, "html": len(blob), "in_html": blob.count(ua.encode()),
                  "in_appendix": appendix.count(ua.encode())}))
"""


@pytest.mark.slow
def test_a_200_mb_user_agent_gives_a_small_report_in_3_gib(tmp_path: Path) -> None:
    """One record with a 200 MB user agent (the issue's size): load, trace and render fit in 3 GiB of
    address space, and the page stays small.

    Before, the page carried the agent (55 MB for 50 MB), rendering a 100 MB one needed 3.6 GiB of
    address space (copies in the data, the CSV writer, the JSON, sorts of the whole frame), and a 200 MB
    one ran out in the new_user_agent finding (numpy copied the agent to UCS-4 to compare it).
    """
    size = 200_000_000
    run = subprocess.run(
        [sys.executable, "-c", _HUGE_AGENT_SCRIPT, str(size), str(tmp_path / "report.html")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["loaded"] == 1  # the record is evidence, not a reject
    assert result["html"] < 10_000_000  # plotly.js and the page: the agent is cut in every display
    assert result["in_html"] == 0
    assert result["in_appendix"] == 1  # whole, once, in the JSON appendix beside the page


def test_the_figures_drawn_from_the_drawn_columns_alone_are_the_same() -> None:
    from ircreds import plots
    from ircreds.report.layout import _drawn

    events = ircreds.load(leak_story())
    trace = ircreds.trace(events, K1)
    narrow = _drawn(trace)
    assert "userAgent" not in narrow.calls.columns
    assert plots.timeline(narrow).to_json() == plots.timeline(trace).to_json()
    assert plots.lineage(narrow).to_json() == plots.lineage(trace).to_json()
