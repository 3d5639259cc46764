"""CloudTrail evidence files, detected by content, not by name.

One reader covers every file layout seen in practice:

- S3 delivery files ``{"Records": [...]}`` (``.json`` or gzipped), in the
  ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` layout or anywhere else;
- JSON Lines / NDJSON (one record a line: CloudTrail Lake and other exports);
- a plain JSON array of records;
- EventBridge envelopes (``"detail-type": "AWS API Call via CloudTrail"``), one, an array
  of them, or one a line;
- LookupEvents output (``{"Events": [{..., "CloudTrailEvent": "<json string>"}]}``).

CloudTrail-Digest files and JSON that is not CloudTrail are skipped with a reason.

Example:
    >>> kind, items = parse_document(b'{"Records": [{"eventTime": "2025-01-20T09:14:27Z"}]}')
    >>> kind, [i for i, _ in items]
    ('cloudtrail_s3', [0])
    >>> parse_document(b'{"digestStartTime": "2025-01-20T09:00:00Z", "logFiles": []}')
    ('skip', 'digest')
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ircreds.errors import SourceError
from ircreds.evidence.sources._normalize import loads, looks_like_record

try:  # isal's gunzip is about twice as fast as zlib's
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a dependency, this is a fallback
    import gzip as _gzip

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
_GLOB_CHARS = set("*?[")


class FileError(ValueError):
    """A whole file that cannot be read (the message is the reject reason)."""


def expand(spec: str | os.PathLike[str]) -> list[Path]:
    """Files named by a path, a folder (recursive, hidden files skipped) or a glob, sorted.

    Raises:
        SourceError: when nothing exists there.
    """
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise SourceError(f"the folder {text} holds no files; point at the folder that holds the logs")
        return files
    if _GLOB_CHARS & set(text):
        files = sorted(
            Path(p) for p in glob.glob(os.path.expanduser(text), recursive=True) if Path(p).is_file()
        )
        if not files:
            raise SourceError(f"no file matches {text}; check the pattern (use ** for sub-folders)")
        return files
    raise SourceError(f"no such file or folder: {text}; check the path")


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes, gunzipped when they are gzip."""
    with open(path, "rb") as fh:
        data = fh.read()
    return gunzip(data)


def gunzip(data: bytes) -> bytes:
    """Decompress gzip data (every member); leave other data as it is.

    Raises:
        FileError: when the gzip stream is truncated or corrupt.
    """
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return _gzip.decompress(data)
    except (OSError, EOFError, ValueError) as err:
        raise FileError(f"gzip data is truncated or corrupt ({err})") from None


def _first_char(data: bytes) -> bytes:
    stripped = data.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
        stripped = stripped[3:].lstrip()
    return stripped[:1]


def parse_document(data: bytes) -> tuple[str, Any]:
    """Detect what a (decompressed) JSON document holds.

    Returns:
        ``(kind, items)`` where items iterates ``(index, object)``: the index is the record's
        position in the file (0-based) or, for JSON Lines, its line number (1-based); or
        ``("skip", reason)`` for a file that is not CloudTrail. In JSON Lines, a line that is
        not valid JSON comes back as a ``(line, FileError)`` item.

    Raises:
        FileError: when the document is not valid JSON at all.
    """
    first = _first_char(data)
    if not first:
        return "skip", "empty file"
    if first not in (b"{", b"["):
        return "skip", "not JSON"
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        doc = loads(data)
    except ValueError as err:
        lines = data.split(b"\n")
        head = next((ln for ln in lines if ln.strip()), b"")
        try:
            head_obj = loads(head)
        except ValueError:
            head_obj = None
        if isinstance(head_obj, dict):
            return "jsonl", _iter_lines(lines)
        raise FileError(f"invalid JSON ({err})") from None
    return classify(doc)


def classify(doc: Any) -> tuple[str, Any]:
    """Like :func:`parse_document` for an already parsed document."""
    if isinstance(doc, dict):
        records = doc.get("Records")
        if isinstance(records, list):
            return "cloudtrail_s3", enumerate(records)
        events = doc.get("Events")
        if isinstance(events, list) and (not events or looks_like_record(events[0])):
            return "lookup_events", enumerate(events)
        if "digestStartTime" in doc or "digestS3Object" in doc or "logFiles" in doc:
            return "skip", "digest"
        if "detail-type" in doc and isinstance(doc.get("detail"), dict):
            if not looks_like_record(doc["detail"]):
                return "skip", f"EventBridge event that is not from CloudTrail ({doc['detail-type']!r})"
            return "eventbridge", enumerate([doc])
        if looks_like_record(doc):
            return "record", enumerate([doc])
        keys = ", ".join(list(doc)[:5])
        return "skip", f"not CloudTrail (a JSON object with keys {keys})"
    if isinstance(doc, list):
        if (
            doc
            and not any(looks_like_record(x) for x in doc[:100])
            and not any(looks_like_record(x) for x in doc)
        ):
            return "skip", "not CloudTrail (a JSON array with no CloudTrail records)"
        kind = "eventbridge" if doc and isinstance(doc[0], dict) and "detail-type" in doc[0] else "json_array"
        return kind, enumerate(doc)
    return "skip", "not CloudTrail (a JSON scalar)"


def _iter_lines(lines: list[bytes]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except ValueError as err:
            yield number, FileError(f"invalid JSON on line {number} ({err})")


def sniff(path: str | os.PathLike[str]) -> str:
    """``"parquet"``, ``"gzip"`` or ``"file"``: what the first bytes of a file say."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:  # vanished or unreadable: the reader reports it as a rejected file
        return "file"
    if head == PARQUET_MAGIC:
        return "parquet"
    if head[:2] == GZIP_MAGIC:
        return "gzip"
    return "file"
