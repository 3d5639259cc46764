"""Read one evidence file (bytes) into an Arrow chunk: the unit of work, in-process or in a worker.

Example:
    >>> out = read_bytes("f.json", b'{"Records": [{"eventTime": "2025-01-20T09:14:27Z"}, 7]}')
    >>> out.kind, out.records_read, out.rejects, out.table.num_rows
    ('cloudtrail_s3', 2, [(1, 'record is not a JSON object (got int)')], 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ircreds.evidence.sources import _fast
from ircreds.evidence.sources._arrow import columns_to_table, time_reason
from ircreds.evidence.sources._limits import DEFAULT, Limits
from ircreds.evidence.sources._normalize import CONTENT_COLUMNS, RecordError, normalize_record, unwrap
from ircreds.evidence.sources.cloudtrail_files import (
    PARQUET_MAGIC,
    FileError,
    gunzip,
    parse_document,
    read_file,
)


@dataclass(slots=True)
class FileOutcome:
    """What reading one file gave: a format kind, ``"skip"`` or ``"error"``, and the rows."""

    name: str
    kind: str
    reason: str | None = None
    records_read: int = 0
    rejects: list[tuple[int | None, str]] = field(default_factory=list)
    table: pa.Table | None = None
    nbytes: int = 0


def _error(name: str, reason: str) -> FileOutcome:
    return FileOutcome(name=name, kind="error", reason=reason, records_read=1, rejects=[(None, reason)])


def read_bytes(name: str, data: bytes, fast: bool = True, limits: Limits = DEFAULT) -> FileOutcome:
    """Detect and read one file's content (gzip or not), within ``limits``."""
    try:
        data = gunzip(data, limits)
        if data[:4] == PARQUET_MAGIC:
            raise FileError("parquet content is only read from a local file")
        # the fast path takes files whose records are all within max_record_bytes (smaller files)
        result = _fast.read_delivery(data, name) if fast and len(data) <= limits.max_record_bytes else None
        if result is not None:
            return FileOutcome(
                name=name,
                kind="cloudtrail_s3",
                records_read=result.records_read,
                rejects=list(result.rejects),
                table=result.table,
            )
        kind, items = parse_document(data, limits)
    except FileError as err:
        return _error(name, str(err))
    if kind == "skip":
        return FileOutcome(name=name, kind="skip", reason=items)
    rows: list[tuple] = []
    lines: list[int] = []
    rejects: list[tuple[int | None, str]] = []
    count = 0
    for index, obj in items:
        count += 1
        if isinstance(obj, FileError):
            rejects.append((index, str(obj)))
            continue
        try:
            rows.append(normalize_record(unwrap(obj)))
        except RecordError as err:
            rejects.append((index, str(err)))
            continue
        lines.append(index)
    table = None
    if rows:
        rows, lines = _drop_unencodable(rows, lines, rejects)
    if rows:
        columns = dict(zip(CONTENT_COLUMNS, zip(*rows, strict=True), strict=True))
        table, bad_time = columns_to_table(columns, files=name, lines=lines)
        if bad_time.any():
            for i in np.flatnonzero(bad_time):
                rejects.append((lines[i], time_reason(rows[i][0])))
            table = table.filter(pa.array(~bad_time))
    rejects.sort(key=lambda r: -1 if r[0] is None else r[0])
    return FileOutcome(name=name, kind=kind, records_read=count, rejects=rejects, table=table)


SURROGATE_REASON = "a string holds a lone surrogate escape (\\ud800-\\udfff), not valid Unicode"


def _encodable(row: tuple) -> bool:
    try:
        for value in row:
            if isinstance(value, str):
                value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unencodable_rows(rows: list[tuple]) -> list[bool] | None:
    """Which rows hold text Arrow cannot store (a lone surrogate escape such as ``\\ud800``), or None.

    JSON allows such escapes, Unicode text does not. One joined encode answers the common case.
    """
    try:
        "".join(v for row in rows for v in row if isinstance(v, str)).encode("utf-8")
    except UnicodeEncodeError:
        return [not _encodable(row) for row in rows]
    return None


def _drop_unencodable(
    rows: list[tuple], lines: list[int], rejects: list[tuple[int | None, str]]
) -> tuple[list[tuple], list[int]]:
    bad = unencodable_rows(rows)
    if bad is None:
        return rows, lines
    rejects.extend((line, SURROGATE_REASON) for line, b in zip(lines, bad, strict=True) if b)
    keep = [i for i, b in enumerate(bad) if not b]
    return [rows[i] for i in keep], [lines[i] for i in keep]


def read_path(path: str, fast: bool = True, limits: Limits = DEFAULT) -> FileOutcome:
    """Read a local file (the function worker processes run)."""
    try:
        data = read_file(path, limits)
    except FileError as err:
        return _error(path, str(err))
    except OSError as err:
        return _error(path, f"cannot read the file ({err.strerror})")
    outcome = read_bytes(path, data, fast, limits)
    outcome.nbytes = len(data)
    return outcome
