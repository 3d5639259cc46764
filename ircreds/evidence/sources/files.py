"""Local evidence: files, folders (recursive) and globs, each file's format detected by content.

Saved events frames (``.parquet``) are read back as frames; every other file goes to the DuckDB
path (compact S3 delivery files) or the general path (:mod:`ircreds.evidence.sources.cloudtrail_files`
says which formats), in worker processes when there are many.

Example:
    >>> accepts("data/samples/walkthrough"), accepts("s3://trail-bucket/AWSLogs/")
    (True, False)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ircreds.errors import LogFormatError
from ircreds.evidence.sources import Sink, _duckdb, cloudtrail_files, parquet
from ircreds.evidence.sources._limits import limits_of, passed

#: ``load()`` options this source takes.
OPTIONS: tuple[str, ...] = ()

#: Worker processes that read local files in parallel (large loads only).
PROCESSES = max(1, min(os.cpu_count() or 1, 4))


def accepts(source: Any) -> bool:
    """A path, folder or glob (a ``str`` or ``os.PathLike`` that is not an ``s3://`` URL)."""
    return isinstance(source, str | os.PathLike) and not os.fspath(source).startswith("s3://")


def prepare(sink: Sink, source: Any) -> tuple[str, list[Path]]:
    """Expand the path into its files and announce them (a missing path fails before anything is read).

    Raises:
        SourceError: when nothing exists there.
    """
    files = cloudtrail_files.expand(source)
    sink.expect(len(files), sum(_size(p) for p in files))
    return os.fspath(source), files


def load_into(sink: Sink, prepared: tuple[str, list[Path]]) -> None:
    """Read every file, in order, and hand each outcome to the sink."""
    source, files = prepared
    counts: dict[str, int] = {}
    is_parquet = [cloudtrail_files.sniff(p) == "parquet" for p in files]
    outcomes = _duckdb.read_paths(
        [str(p) for p, pq in zip(files, is_parquet, strict=True) if not pq],
        PROCESSES,
        on_decline=sink.declined,
        **passed(limits_of(sink)),
    )
    for path, pq in zip(files, is_parquet, strict=True):
        name = str(path)
        if pq:
            try:
                frame = parquet.read(path)
            except LogFormatError as err:
                sink.skip(name, str(err))
            else:
                sink.count_format("parquet")
                counts["parquet"] = counts.get("parquet", 0) + 1
                sink.add_frame(frame)
        else:
            outcome = next(outcomes)
            sink.apply(outcome)
            if outcome.kind not in ("skip", "error"):
                counts[outcome.kind] = counts.get(outcome.kind, 0) + 1
        sink.advance(_size(path))
    sink.describe({"input": source, "kind": "files", "files": len(files), "formats": counts})


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
