"""Evidence sources: one module per kind, detected by content, registered by one line each.

``SOURCES`` maps a source name to the module that reads it, in the order :func:`detect` asks
them (the first whose ``accepts`` says yes reads the source). Modules are imported lazily, and
the edge ones (``s3``, ``lookup_api``) import boto3 only when they read.

A source module holds:

- ``OPTIONS``: the ``load()`` keyword options it takes (a tuple of names);
- ``accepts(source) -> bool``: cheap, imports nothing heavy;
- ``load_into(sink, source, **options) -> None``: reads ``source`` and hands what it finds to
  ``sink`` (a :class:`Sink`: the loader's collector), never touching the loader's counters itself;
- optionally ``prepare(sink, source, **options) -> object``: called for every source before any
  is read (check paths, announce progress totals); what it returns is what ``load_into`` reads.

A new source is one module plus one line in ``SOURCES``.

Example:
    >>> detect("s3://my-trail-bucket/AWSLogs/")
    's3'
    >>> detect([{"eventTime": "2025-01-20T09:14:27Z"}])
    'records'
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from ircreds.errors import SourceError

if TYPE_CHECKING:
    import pandas as pd

    from ircreds.evidence.sources._limits import Limits

#: name -> module, in the order detection asks them. Add one line per new source.
SOURCES: dict[str, str] = {
    "s3": "ircreds.evidence.sources.s3",
    "files": "ircreds.evidence.sources.files",
    "document": "ircreds.evidence.sources.document",
    "frame": "ircreds.evidence.sources.frame",
    "lookup_api": "ircreds.evidence.sources.lookup_api",
    "records": "ircreds.evidence.sources.records",
}


class Sink(Protocol):
    """What a source hands its findings to (the loader's ``Collector``); the sink keeps the counts.

    ``limits`` are the caps of this load (:class:`~ircreds.evidence.sources._limits.Limits`): a
    source that reads files itself passes them on; ``add_bytes`` applies them.
    """

    limits: Limits

    def expect(self, files: int, nbytes: int) -> None:
        """Announce files (and their bytes) about to be read, for progress totals."""

    def advance(self, nbytes: int) -> None:
        """One file (or one region's history) done."""

    def add_bytes(self, name: str, data: bytes) -> None:
        """One file's content (gzip or not), detected by content."""

    def add_items(self, name: str | None, items: Iterable[tuple[int, Any]]) -> None:
        """Records as ``(index, object)``; the sink unwraps, normalizes or rejects each."""

    def add_document(self, name: str | None, doc: Any) -> None:
        """One already parsed JSON document (such as ``{"Records": [...]}``)."""

    def add_frame(self, frame: pd.DataFrame) -> None:
        """An already typed events frame."""

    def apply(self, outcome: Any) -> None:
        """One file read by a reader (a ``FileOutcome``): its format, rows and rejects."""

    def skip(self, name: str, reason: str) -> None:
        """A file that is not CloudTrail evidence (a digest, other JSON, not JSON)."""

    def reject(self, name: str | None, index: int | None, reason: str) -> None:
        """One record (or, with ``index=None``, a whole file already counted as read) not loaded."""

    def unreadable(self, name: str, reason: str) -> None:
        """A whole file that could not be read at all: one record read, one reject."""

    def count_format(self, kind: str, *, file: bool = True) -> None:
        """One input of format ``kind`` read (``file=True``: a whole evidence file)."""

    def describe(self, entry: Mapping[str, Any]) -> None:
        """What one source was, for the load report's ``sources`` list."""

    def caveat(self, text: str) -> None:
        """A limit of the evidence the analyst must know (once per text)."""

    def declined(self, name: str, reason: str) -> None:
        """A file the DuckDB path handed to the general path, and why."""


def module(name: str) -> ModuleType:
    """The module that reads source ``name``.

    Raises:
        SourceError: for an unknown name, listing the valid ones.
    """
    try:
        return importlib.import_module(SOURCES[name])
    except KeyError:
        raise SourceError(f"unknown source {name!r}; valid sources: {', '.join(SOURCES)}") from None


def detect(source: Any) -> str:
    """Which registered source reads ``source``: the first in ``SOURCES`` whose ``accepts`` is true.

    Paths are told apart by their content later (``files`` covers parquet too); ``document``
    is one already-parsed JSON document (a dict such as ``{"Records": [...]}``) or raw bytes.

    Raises:
        SourceError: when no registered source takes ``source``.
    """
    for name in SOURCES:
        if module(name).accepts(source):
            return name
    raise SourceError(
        f"cannot load a {type(source).__name__}: pass paths, s3:// URLs, a boto3 CloudTrail client "
        "or an iterable of CloudTrail record dicts"
    )


#: The readers' building blocks the loader and the case store use: public name -> (module, attribute).
#: Resolved lazily (``from ircreds.evidence.sources import read_bytes`` imports the reader then).
_FACADE: dict[str, tuple[str, str]] = {
    # records and their columns (_normalize)
    "CONTENT_COLUMNS": ("_normalize", "CONTENT_COLUMNS"),
    "RecordError": ("_normalize", "RecordError"),
    "normalize_record": ("_normalize", "normalize_record"),
    "unwrap": ("_normalize", "unwrap"),
    # the Arrow form of the events frame (_arrow)
    "SCHEMA": ("_arrow", "SCHEMA"),
    "columns_to_table": ("_arrow", "columns_to_table"),
    "frame_to_table": ("_arrow", "frame_to_table"),
    "table_to_frame": ("_arrow", "table_to_frame"),
    # reading one delivery file (_reader) and many with DuckDB (_duckdb)
    "FileOutcome": ("_reader", "FileOutcome"),
    "SURROGATE_REASON": ("_reader", "SURROGATE_REASON"),
    "read_bytes": ("_reader", "read_bytes"),
    "unencodable_rows": ("_reader", "unencodable_rows"),
    "read_paths_duckdb": ("_duckdb", "read_paths"),
    # what one file or record may cost (_limits) and the evidence time rule's reject reason (_arrow)
    "Limits": ("_limits", "Limits"),
    "DEFAULT_LIMITS": ("_limits", "DEFAULT"),
    "LIMIT_OPTIONS": ("_limits", "OPTIONS"),
    "passed_limits": ("_limits", "passed"),
    "time_reason": ("_arrow", "time_reason"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _FACADE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), attr)
    globals()[name] = value
    return value


__all__ = ["SOURCES", "Sink", "detect", "module", *_FACADE]
