"""Output helpers shared by the command modules (the only place that writes to stdout)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any


def echo(text: str = "") -> None:
    """Write one line to stdout."""
    sys.stdout.write(text + "\n")


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


def iso_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the form every JSON output uses."""
    if value.tzinfo is None:
        raise ValueError(f"refusing to print a naive datetime {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def echo_json(obj: Any) -> None:
    """Write one JSON document to stdout (datetimes as ISO 8601 UTC with Z)."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_default, ensure_ascii=False) + "\n")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain aligned text table."""
    rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)
