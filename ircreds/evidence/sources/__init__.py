"""Evidence sources: one module per kind, detected by content, registered by one line each.

``SOURCES`` maps a source name to the module that reads it. Modules are imported lazily,
so the edge ones (``s3``, ``lookup_api``: boto3) load only when used.

Example:
    >>> detect("s3://my-trail-bucket/AWSLogs/")
    's3'
    >>> detect([{"eventTime": "2025-01-20T09:14:27Z"}])
    'records'
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from ircreds.errors import SourceError

#: name -> module. Add one line per new source.
SOURCES: dict[str, str] = {
    "files": "ircreds.evidence.sources.cloudtrail_files",
    "parquet": "ircreds.evidence.sources.parquet",
    "records": "ircreds.evidence.sources.records",
    "s3": "ircreds.evidence.sources.s3",
    "lookup_api": "ircreds.evidence.sources.lookup_api",
}


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
    """Which source reads ``source``: ``files``, ``s3``, ``lookup_api``, ``records``, ``document`` or ``frame``.

    Paths are told apart by their content later (``files`` covers parquet too); ``document``
    is one already-parsed JSON document (a dict such as ``{"Records": [...]}``) or raw bytes.

    Raises:
        SourceError: when ``source`` is none of those.
    """
    if isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        if text.startswith("s3://"):
            return "s3"
        return "files"
    if isinstance(source, bytes | bytearray | memoryview | Mapping):
        return "document"
    if hasattr(source, "columns") and hasattr(source, "dtypes"):  # a pandas DataFrame
        return "frame"
    if callable(getattr(source, "lookup_events", None)):
        return "lookup_api"
    if isinstance(source, Iterable):
        return "records"
    raise SourceError(
        f"cannot load a {type(source).__name__}: pass paths, s3:// URLs, a boto3 CloudTrail client "
        "or an iterable of CloudTrail record dicts"
    )
