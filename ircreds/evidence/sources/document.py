"""One JSON document already in memory: raw bytes (gzip or not) or a parsed dict such as ``{"Records": [...]}``.

Example:
    >>> accepts({"Records": []}), accepts(b"{}"), accepts("f.json")
    (True, True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ircreds.evidence.sources import Sink

#: ``load()`` options this source takes.
OPTIONS: tuple[str, ...] = ()


def accepts(source: Any) -> bool:
    """Bytes, or a mapping (one parsed JSON document)."""
    return isinstance(source, bytes | bytearray | memoryview | Mapping)


def load_into(sink: Sink, source: Any) -> None:
    """Hand the document to the sink: bytes are detected by content like a file's."""
    sink.describe({"input": "<document>", "kind": "document"})
    if isinstance(source, bytes | bytearray | memoryview):
        sink.add_bytes("<bytes>", bytes(source))
    else:
        sink.add_document(None, source)
