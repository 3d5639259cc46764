"""Output helpers shared by the command modules (the only place that writes to stdout)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ircreds.escape import DISPLAY_LIMIT, term
from ircreds.times import iso_z


def echo(text: str = "") -> None:
    """Write one line (or several) to stdout; control characters and ANSI sequences are shown escaped.

    Evidence is attacker-written: a ``sourceIPAddress`` holding ``\\x1b]0;...`` must not retitle, clear
    or recolour the analyst's terminal (:func:`ircreds.escape.term`). Line feeds the caller wrote stay.
    """
    sys.stdout.write(term(text, multiline=True, reversible=False) + "\n")


def warn(text: str) -> None:
    """Write one warning line to stderr (so ``--json`` output on stdout stays clean)."""
    sys.stderr.write(f"warning: {text}\n")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


# JSON escapes C0 controls itself; these it writes raw (DEL, C1 controls such as the one-byte CSI, bidi
# overrides, line separators). They only occur inside JSON strings, where \\uXXXX means the same.
_JSON_TERM_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def echo_json(obj: Any) -> None:
    """Write one JSON document to stdout (datetimes as ISO 8601 UTC with Z); no raw terminal controls."""
    text = json.dumps(obj, indent=2, default=_default, ensure_ascii=False)
    sys.stdout.write(_JSON_TERM_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table; each cell escaped for the terminal and cut to a display length."""
    rows = [["" if v is None else term(v, DISPLAY_LIMIT) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)
