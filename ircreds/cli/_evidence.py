"""What a command's ``PATH...`` names: evidence to load, or one case store (told by content)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from ircreds.errors import SourceError

_SIZE = re.compile(r"^\s*(\d+)\s*(|b|kb|mb|gb|kib|mib|gib)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_size(text: str) -> int:
    """A byte count as written on a command line: ``67108864``, ``64MiB``, ``500MB``, ``2GiB``.

    Example:
        >>> parse_size("64MiB"), parse_size("500 MB"), parse_size("1024")
        (67108864, 500000000, 1024)

    Raises:
        argparse.ArgumentTypeError: not a positive size.
    """
    match = _SIZE.match(text)
    if not match or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (write e.g. 64MiB, 500MB or 1048576)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``--max-record-bytes`` and ``--max-decompressed-bytes``: the loader's caps on hostile evidence."""
    p.add_argument(
        "--max-record-bytes",
        type=parse_size,
        metavar="SIZE",
        help="a record larger than this is a reject (default 64MiB); a delivery file over it is split record by "
        "record, more slowly",
    )
    p.add_argument(
        "--max-decompressed-bytes",
        type=parse_size,
        metavar="SIZE",
        help="a file larger than this once decompressed is a reject, not read (default 2GiB)",
    )


def limit_options(args: argparse.Namespace) -> dict[str, int]:
    """The caps given on the command line, as ``load``/``index`` keyword arguments."""
    return {
        name: getattr(args, name)
        for name in ("max_record_bytes", "max_decompressed_bytes")
        if getattr(args, name, None) is not None
    }


def case_of(paths: Sequence[str]) -> Any:
    """The opened case store when ``paths`` is one, else None (evidence to load in memory).

    Raises:
        SourceError: a case store given together with other paths.
    """
    from ircreds.engines import is_case, open_case

    cases = [p for p in paths if "://" not in str(p) and is_case(p)]
    if not cases:
        return None
    if len(paths) > 1:
        raise SourceError(
            f"{cases[0]} is a case store: pass it alone (add more evidence to it with `ircreds index PATH... --out {cases[0]}`)"
        )
    return open_case(cases[0])


def load_events(paths: Sequence[str], **options: Any) -> Any:
    """The whole events frame: loaded from the evidence, or read back from a case store."""
    import ircreds

    case = case_of(paths)
    if case is None:
        return ircreds.load(*paths, **options)
    with case:
        return case.events()
