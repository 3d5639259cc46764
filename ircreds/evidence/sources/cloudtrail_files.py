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

Nothing in a file is trusted (:mod:`ircreds.evidence.sources._limits`): a file is decompressed as a
stream and given up past ``max_decompressed_bytes`` (a reject naming the file: a gzip bomb never
expands in memory); a document that cannot be parsed whole because of one record (nested too deep,
bytes that are not UTF-8) or that is larger than ``max_record_bytes`` is cut into its records from
its bytes, so that only the bad record is a reject. Only regular files are read (never a FIFO).

Example:
    >>> kind, items = parse_document(b'{"Records": [{"eventTime": "2025-01-20T09:14:27Z"}]}')
    >>> kind, [i for i, _ in items]
    ('cloudtrail_s3', [0])
    >>> parse_document(b'{"digestStartTime": "2025-01-20T09:00:00Z", "logFiles": []}')
    ('skip', 'digest')
"""

from __future__ import annotations

import glob
import io
import os
import re
import reprlib
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ircreds.errors import SourceError
from ircreds.evidence.sources._limits import (
    DEFAULT,
    DEPTH_REASON,
    UTF8_REASON,
    DepthError,
    EncodingError,
    Limits,
    split_document,
)
from ircreds.evidence.sources._normalize import loads, looks_like_record

try:  # isal's gunzip is about twice as fast as zlib's
    from isal import igzip as _gzip
    from isal.igzip_lib import IsalError as _IsalError
except ImportError:  # pragma: no cover - isal is a dependency, this is a fallback
    import gzip as _gzip

    _IsalError = OSError  # type: ignore[assignment,misc]

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
_GLOB_CHARS = set("*?[")
_GZIP_ERRORS = (OSError, EOFError, ValueError, _IsalError)
#: Deflate writes at most 1,032 bytes per compressed byte: smaller input cannot pass the cap.
_MAX_RATIO = 1032
#: Decompressed bytes kept while streaming; past this the stream is only counted, then read again.
_SPOOL = 256 * 1024**2
_CHUNK = 8 * 1024**2
_NON_SPACE = re.compile(rb"\S")


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
    if path.exists() and not path.is_dir():
        raise SourceError(
            f"{text} is not a regular file (a FIFO, a device or a socket); copy the evidence to a file"
        )
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


def read_bytes(path: str | os.PathLike[str], limits: Limits = DEFAULT) -> bytes:
    """The file's bytes, gunzipped when they are gzip (within ``limits``).

    Raises:
        FileError: not a regular file, over ``max_decompressed_bytes``, or a truncated gzip.
        OSError: the file cannot be opened or read.
    """
    return gunzip(read_file(path, limits), limits)


def read_file(path: str | os.PathLike[str], limits: Limits = DEFAULT) -> bytes:
    """A regular file's raw bytes (never blocks on a FIFO; a file over the cap is not read).

    Raises:
        FileError: not a regular file, or larger than ``max_decompressed_bytes``.
        OSError: the file cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileError("not a regular file (a FIFO, a device or a socket); not read")
        if info.st_size > limits.max_decompressed_bytes:
            raise FileError(limits.file_reason())
        data = fh.read(info.st_size + 1)
        if len(data) > limits.max_decompressed_bytes:
            raise FileError(limits.file_reason())
        return data


def gunzip(data: bytes, limits: Limits = DEFAULT) -> bytes:
    """Decompress gzip data (every member), as a stream capped at ``max_decompressed_bytes``; leave other data as it is.

    Memory stays bounded whatever the data claims: past a few hundred MB the stream is only counted
    (and read again when it ends within the cap), so a gzip bomb is a reject, not a ``MemoryError``.

    Raises:
        FileError: when the gzip stream is truncated or corrupt, or expands past the cap.
    """
    cap = limits.max_decompressed_bytes
    if data[:2] != GZIP_MAGIC:
        if len(data) > cap:
            raise FileError(limits.file_reason())
        return data
    try:
        if len(data) * _MAX_RATIO <= cap:
            return _gzip.decompress(data)
        chunks: list[bytes] | None = []
        total = 0
        with _gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise FileError(limits.file_reason())
                if chunks is not None:
                    chunks.append(chunk)
                    if total > _SPOOL:
                        chunks = None  # keep counting only; read again below
        return b"".join(chunks) if chunks is not None else _gzip.decompress(data)
    except _GZIP_ERRORS as err:
        if isinstance(err, FileError):
            raise
        raise FileError(f"gzip data is truncated or corrupt ({err})") from None


def _first_char(data: bytes) -> bytes:
    stripped = data.lstrip()
    if stripped.startswith(b"\xef\xbb\xbf"):  # UTF-8 byte-order mark
        stripped = stripped[3:].lstrip()
    return stripped[:1]


def parse_document(data: bytes, limits: Limits = DEFAULT) -> tuple[str, Any]:
    """Detect what a (decompressed) JSON document holds.

    Returns:
        ``(kind, items)`` where items iterates ``(index, object)``: the index is the record's
        position in the file (0-based) or, for JSON Lines, its line number (1-based); or
        ``("skip", reason)`` for a file that is not CloudTrail. A record that cannot be read
        (invalid JSON on its line, nested too deep, not UTF-8, over ``max_record_bytes``) comes
        back as an ``(index, FileError)`` item whose message is its reject reason.

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
    error: ValueError | None = None
    if len(data) <= limits.max_record_bytes:  # then no record in it can be over the cap
        try:
            return classify(loads(data))
        except ValueError as err:
            error = err
    if _json_lines(data, limits):
        return "jsonl", _iter_lines(data, limits)
    if error is not None and not isinstance(error, DepthError | EncodingError):
        raise FileError(f"invalid JSON ({error})") from None
    try:
        return split_document(data, limits)
    except ValueError as err:
        raise FileError(f"invalid JSON ({error or err})") from None


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
                return (
                    "skip",
                    f"EventBridge event that is not from CloudTrail ({reprlib.repr(doc['detail-type'])})",
                )
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


def _lines(data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(number, start, end)`` of each line (1-based numbers), without copying the data."""
    number, pos, size = 0, 0, len(data)
    while pos <= size:
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
        number += 1
        yield number, pos, end
        pos = end + 1


def _json_lines(data: bytes, limits: Limits) -> bool:
    """True when the document is JSON Lines: its first line is a JSON object on its own.

    A first line that cannot be read because of what it holds (too deep, not UTF-8, too large)
    counts when more lines follow.
    """
    for _, start, end in _lines(data):
        if _NON_SPACE.search(data, start, end) is None:
            continue
        more = _NON_SPACE.search(data, end) is not None
        if end - start > limits.max_record_bytes:
            return more
        try:
            return isinstance(loads(data[start:end]), dict)
        except (DepthError, EncodingError):
            return more
        except ValueError:
            return False
    return False


def _iter_lines(data: bytes, limits: Limits = DEFAULT) -> Iterator[tuple[int, Any]]:
    for number, start, end in _lines(data):
        if _NON_SPACE.search(data, start, end) is None:
            continue
        if end - start > limits.max_record_bytes and len(data[start:end].strip()) > limits.max_record_bytes:
            yield number, FileError(limits.record_reason())
            continue
        try:
            yield number, loads(data[start:end])
        except DepthError:
            yield number, FileError(DEPTH_REASON)
        except EncodingError:
            yield number, FileError(UTF8_REASON)
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
