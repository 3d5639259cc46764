"""What one file or one record may cost, and how a document is cut into records without trusting it.

Every loading path applies the same limits, so a bad record is the same reject everywhere:

- :data:`MAX_DEPTH`: a value kept as JSON text (``requestParameters``, ``responseElements``,
  ``extra``...) nested more than 254 levels deep makes its record a reject (:data:`DEPTH_REASON`).
  254 is the deepest value orjson writes; real CloudTrail nests a few dozen levels at most.
- :class:`Limits`: ``max_decompressed_bytes`` per file (2 GiB) and ``max_record_bytes`` per record
  (64 MiB), both ``load()`` options. AWS delivers files of a few MB.
- Bytes that are not UTF-8 in a record make that record a reject (:data:`UTF8_REASON`).

:func:`split_document` cuts a JSON document into its records from its bytes alone (no parser
recursion, no UTF-8 decoding), so one record that no parser takes cannot hide the others.

Example:
    >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
    3
    >>> kind, items = split_document(b'{"Records": [{"eventTime": "t"}, [[[]]]]}', Limits())
    >>> kind, [(i, type(o).__name__) for i, o in items]
    ('cloudtrail_s3', [(0, 'dict'), (1, 'list')])
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

#: The deepest value (levels of arrays and objects) a record may keep as JSON text.
MAX_DEPTH = 254
DEPTH_REASON = f"record holds a value nested more than {MAX_DEPTH} levels deep"
UTF8_REASON = "record holds bytes that are not valid utf-8 text"

#: Defaults: far above what CloudTrail delivers (files of a few MB, records of a few KB).
MAX_DECOMPRESSED_BYTES = 2 * 1024**3
MAX_RECORD_BYTES = 64 * 1024**2
#: ``load()`` options that set the limits.
OPTIONS = ("max_decompressed_bytes", "max_record_bytes")


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps one load applies (``load(..., max_decompressed_bytes=..., max_record_bytes=...)``)."""

    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES
    max_record_bytes: int = MAX_RECORD_BYTES

    @classmethod
    def of(cls, options: dict[str, Any]) -> Limits:
        """The limits named in load options (the others at their defaults).

        Raises:
            ValueError: for a limit that is not a positive integer.
        """
        values = {}
        for name in OPTIONS:
            value = options.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive number of bytes, got {value!r}")
            values[name] = value
        return cls(**values)

    def record_reason(self) -> str:
        """The reject reason of a record over ``max_record_bytes``."""
        return f"record is larger than max_record_bytes ({self.max_record_bytes:,} bytes)"

    def file_reason(self) -> str:
        """The reject reason of a file over ``max_decompressed_bytes``."""
        return (
            f"file is larger than max_decompressed_bytes ({self.max_decompressed_bytes:,} bytes) once "
            "decompressed; not read (raise the limit with max_decompressed_bytes= if it is real evidence)"
        )


DEFAULT = Limits()


def limits_of(sink: Any) -> Limits:
    """The limits a sink carries (the defaults for a sink written before limits)."""
    limits = getattr(sink, "limits", None)
    return limits if isinstance(limits, Limits) else DEFAULT


def passed(limits: Limits) -> dict[str, Limits]:
    """``{"limits": limits}``, or nothing for the defaults (so readers written before limits keep working)."""
    return {} if limits == DEFAULT else {"limits": limits}


class DepthError(ValueError):
    """JSON nested deeper than the parser goes (never handed to a recursive parser)."""


class EncodingError(ValueError):
    """JSON text with bytes that are not UTF-8."""


# ---------------------------------------------------------------------------------------------
# Structure from bytes

_KIND = np.zeros(256, dtype=np.int8)  # 1 open, -1 close, 2 comma
_KIND[ord("[")] = _KIND[ord("{")] = 1
_KIND[ord("]")] = _KIND[ord("}")] = -1
_KIND[ord(",")] = 2


def _structure(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of ``[ ] { } ,`` outside strings, their kinds, and the nesting depth after each.

    Works on bytes (invalid UTF-8 is fine: no structural byte is part of a multi-byte sequence).
    A quote preceded by an odd run of backslashes is escaped and does not end a string.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    positions = np.flatnonzero(_KIND[arr])
    quotes = np.flatnonzero(arr == 0x22)
    if len(quotes):
        after = quotes[quotes > 0]
        maybe = after[arr[after - 1] == 0x5C]
        if len(maybe):
            slashes = np.flatnonzero(arr == 0x5C)
            starts = np.ones(len(slashes), dtype=bool)
            starts[1:] = np.diff(slashes) != 1
            run_start = np.maximum.accumulate(np.where(starts, np.arange(len(slashes)), 0))
            j = np.searchsorted(slashes, maybe - 1)
            escaped = maybe[(j - run_start[j] + 1) % 2 == 1]
            quotes = np.setdiff1d(quotes, escaped, assume_unique=True)
        positions = positions[np.searchsorted(quotes, positions) % 2 == 0]
    kinds = _KIND[arr[positions]]
    depth = np.cumsum(np.where(kinds == 2, 0, kinds), dtype=np.int64)
    return positions, kinds, depth


def json_depth(text: bytes | str) -> int:
    """How deeply a JSON text nests (``[]`` is 1, a scalar 0), read from its bytes without parsing.

    Example:
        >>> json_depth("[[1], {}]"), json_depth('"[[["')
        (2, 0)
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") == 0:
        return 0
    _, _, depth = _structure(data)
    return int(depth.max()) if len(depth) else 0


def too_deep(text: bytes | str | None) -> bool:
    """True when a JSON text nests more than :data:`MAX_DEPTH` levels (cheap for short or flat text)."""
    if text is None or len(text) <= 2 * MAX_DEPTH:
        return False
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    return json_depth(data) > MAX_DEPTH


def value_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (iterative: any depth is safe).

    Example:
        >>> value_depth({"a": [1, [2]]}), value_depth("x")
        (3, 0)
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list | tuple):
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in node if isinstance(child, dict | list | tuple))
    return deepest


# ---------------------------------------------------------------------------------------------
# Cutting a document into records


def split_document(data: bytes, limits: Limits) -> tuple[str, Any]:
    """Cut one JSON document into its records without parsing it whole (``parse_document``'s fallback).

    Used when the whole document cannot be parsed because of one record (too deep, not UTF-8) or is
    larger than ``max_record_bytes`` (so that each record's size is known). The elements of a
    top-level array, or of the ``Records`` / ``Events`` array of a top-level object, are parsed one
    by one; one that cannot be is a ``FileError`` item whose message is its reject reason. Any
    other document is one record: a reject at index 0 when it is too deep, not UTF-8 or too large.

    Returns:
        ``(kind, items)`` like :func:`ircreds.evidence.sources.cloudtrail_files.parse_document`.

    Raises:
        ValueError: when the document itself (outside its records) is not valid JSON.
    """
    from ircreds.evidence.sources._normalize import loads
    from ircreds.evidence.sources.cloudtrail_files import FileError, classify

    positions, kinds, depth = _structure(data)
    start = len(data) - len(data.lstrip())
    if not len(positions) or positions[0] != start or kinds[0] != 1:
        raise ValueError("not one JSON array or object")
    ends = np.flatnonzero(depth == 0)
    if not len(ends) or data[positions[ends[0]] + 1 :].strip():
        raise ValueError("not one JSON document")
    end = int(ends[0])

    def elements(i: int, j: int, level: int) -> list[Any]:
        """The parsed elements of the array opened at structure index i and closed at j."""
        commas = np.flatnonzero((kinds[i + 1 : j] == 2) & (depth[i + 1 : j] == level)) + i + 1
        bounds = [int(positions[i]), *(int(positions[c]) for c in commas), int(positions[j])]
        out: list[Any] = []
        for a, b in pairwise(bounds):
            text = data[a + 1 : b]
            if len(text) > limits.max_record_bytes and len(text.strip()) > limits.max_record_bytes:
                out.append(FileError(limits.record_reason()))
                continue
            if len(bounds) == 2 and not text.strip():
                break  # []
            try:
                out.append(loads(text))
            except (DepthError, EncodingError) as err:
                out.append(FileError(_reason(err)))
            except ValueError as err:
                out.append(FileError(f"invalid JSON ({err})"))
        return out

    if data[start : start + 1] == b"[":
        records = elements(0, end, 1)
        kind, items = classify(records)
        if kind == "skip" and any(isinstance(x, FileError) for x in records):
            return "json_array", enumerate(records)
        return kind, items
    # an object: its Records / Events array holds the records; any other object is one record
    opens = [int(i) for i in np.flatnonzero((kinds == 1) & (depth == 2)) if data[positions[i]] == 0x5B]
    closes = np.flatnonzero(depth == 1)
    nonce = secrets.token_hex(8)
    skeleton: list[bytes] = []
    last = 0
    arrays: list[tuple[int, int]] = []
    for n, i in enumerate(opens):
        j = int(closes[np.searchsorted(closes, i + 1)])
        arrays.append((i, j))
        skeleton += [data[last : positions[i]], f'"{nonce}:{n}"'.encode()]
        last = int(positions[j]) + 1
    skeleton.append(data[last:])
    try:
        doc = loads(b"".join(skeleton))
    except (DepthError, EncodingError) as err:
        return "record", enumerate([FileError(_reason(err))])
    if not isinstance(doc, dict):
        raise ValueError("not one JSON object")
    marker = f"{nonce}:"
    placed = {k: int(v[len(marker) :]) for k, v in doc.items() if isinstance(v, str) and v.startswith(marker)}
    holds_records = {"Records", "Events"} & set(placed)
    if not holds_records and len(data) > limits.max_record_bytes:
        return "record", enumerate([FileError(limits.record_reason())])
    for key, n in placed.items():
        i, j = arrays[n]
        if key in holds_records:
            doc[key] = elements(i, j, 2)
            continue
        try:
            doc[key] = loads(data[positions[i] : positions[j] + 1])
        except (DepthError, EncodingError) as err:
            if not holds_records:
                return "record", enumerate([FileError(_reason(err))])
            doc[key] = None  # not a record: only the records are read from this document
    kind, items = classify(doc)
    if kind == "skip":
        for key in ("Records", "Events"):
            if key in holds_records and any(isinstance(x, FileError) for x in doc[key]):
                return ("cloudtrail_s3" if key == "Records" else "lookup_events"), enumerate(doc[key])
    return kind, items


def _reason(err: Exception) -> str:
    return UTF8_REASON if isinstance(err, EncodingError) else DEPTH_REASON
