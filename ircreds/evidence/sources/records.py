"""Iterables of CloudTrail record dicts (or EventBridge / LookupEvents wrappers of them).

``evidence.file`` is NA for these rows and ``evidence.line`` is the item's position in the
iterable (0-based).

Example:
    >>> from ircreds.evidence.sources.records import read
    >>> [i for i, _ in read(iter([{"eventTime": "2025-01-20T09:14:27Z"}, "junk"]))]
    [0, 1]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ircreds.evidence.sources import Sink
from ircreds.evidence.sources._normalize import normalize_record, unwrap

__all__ = ["OPTIONS", "accepts", "load_into", "normalize_record", "read", "unwrap"]

#: ``load()`` options this source takes.
OPTIONS: tuple[str, ...] = ()


def accepts(source: Any) -> bool:
    """Any iterable (asked last: paths, documents, frames and clients are taken before)."""
    return isinstance(source, Iterable)


def read(records: Iterable[Any]) -> Iterator[tuple[int, Any]]:
    """Each item with its position; the loader unwraps and normalizes (or rejects) it."""
    return enumerate(records)


def load_into(sink: Sink, source: Iterable[Any]) -> None:
    """Hand every item to the sink, numbered from 0."""
    sink.describe({"input": f"<{type(source).__name__}>", "kind": "records"})
    sink.add_items(None, read(source))
