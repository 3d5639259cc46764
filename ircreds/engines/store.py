"""The case store: evidence of any size in one folder, written in one streaming pass.

``index(paths, out)`` reads the evidence in chunks of files through the loader's own readers (the
DuckDB JSON path, and the general path for files it declines). Each chunk becomes one Parquet part
(``out/events/part-NNNNNN.parquet``, zstd, sorted by access key id so that a key's rows sit in few
row groups), and its files (path, size, SHA-256, counts) are recorded in the catalog
(``out/case.duckdb``) once the part is safely on disk, so memory stays bounded by one chunk and an
interrupted run resumes where it stopped. Running it again with more paths reads only the files not
yet in the case (same path, size and hash); a file whose content changed is read again and its old
rows are retired.

Catalog tables (DuckDB): ``meta`` (format, load report, evidence summary), ``parts``, ``files``,
``rejects``, ``dups`` (the re-deliveries the in-memory loader drops), ``issuing`` (the issuing
events and console sign-ins, full rows), ``keys`` (the per-key call index: first and last call,
count, distinct source addresses and user agents), ``key_groups`` (which part and row group hold
each key, so a trace reads only those parts) and ``sessions`` (:func:`ircreds.sessions` of the whole case). Every connection made by
:func:`connect` also has the view ``events``: the live rows of every part, re-deliveries and retired
files excluded (the events-frame columns, categoricals as text, plus ``_f`` = file ordinal, ``_row``).

Example:
    >>> import tempfile, os
    >>> from ircreds.scenarios import walkthrough
    >>> folder = tempfile.mkdtemp()
    >>> _ = walkthrough().write(os.path.join(folder, "ev"))
    >>> summary = index([os.path.join(folder, "ev")], os.path.join(folder, "case"))
    >>> summary.files_new > 0, is_case(os.path.join(folder, "case"))
    (True, True)
    >>> index([os.path.join(folder, "ev")], os.path.join(folder, "case")).files_new
    0
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ircreds.errors import LogFormatError, SourceError
from ircreds.evidence.workers import process_context
from ircreds.schema import COLUMNS, JSON_COLUMNS

log = logging.getLogger(__name__)

#: What ``meta.format`` holds; bump when the layout changes.
FORMAT = "ircreds-case/1"
TABLES = ("meta", "parts", "files", "rejects", "dups", "issuing", "keys", "key_groups", "sessions")
CATALOG = "case.duckdb"
PARTS = "events"
#: Files read per chunk (one Parquet part); bounds memory together with the loader's batch size.
CHUNK_FILES = 600
#: Bytes of (compressed) input per chunk, whichever comes first.
CHUNK_BYTES = 4_000_000
#: Rows per Parquet row group (the unit DuckDB skips by min/max statistics).
ROW_GROUP = 16_384
#: Processes that read chunks side by side (each writes its own parts).
WORKERS = max(1, min(os.cpu_count() or 1, 2))
#: Decompressed JSON per DuckDB batch inside a worker (bounds each worker's memory).
BATCH_BYTES = 8_000_000
#: DuckDB's memory limit while indexing and querying.
MEMORY_LIMIT = "512MB"
ISSUING_NAMES = (
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "CreateAccessKey",
    "ConsoleLogin",
)
KEY = '"userIdentity.accessKeyId"'
#: The live rows of the parts: of a file still in the case (not retired), not a re-delivery.
LIVE = "_f IN (SELECT ord FROM files) AND _row NOT IN (SELECT _row FROM dups)"
#: The order of the events frame: time, then input order (file, record).
ORDER = '"eventTime", _f, "evidence.line"'

_DUCKDB_MAGIC = b"DUCK"


def q(name: str) -> str:
    """A quoted SQL identifier (column names hold dots).

    >>> q("userIdentity.arn")
    '"userIdentity.arn"'
    """
    return '"' + name.replace('"', '""') + '"'


def _catalog(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p if p.name == CATALOG and p.is_file() else p / CATALOG


def case_root(path: str | os.PathLike[str]) -> Path:
    """The case folder of a case path (the folder, or its ``case.duckdb``)."""
    return _catalog(path).parent


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> Any:
    """A DuckDB connection to a case's catalog, with bounded memory and the ``events`` view."""
    import duckdb

    con = duckdb.connect(os.fspath(_catalog(path)), read_only=read_only)
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    with suppress(Exception):
        con.execute(f"SET threads = {max(1, min(os.cpu_count() or 1, 4))}")
    if read_only:
        events_view(con, case_root(path))
        _sessions_view(con)
    return con


def _sessions_view(con: Any) -> None:
    """A case indexed before ``used_before_issued`` existed answers with it (a temporary view, computed)."""
    import duckdb

    try:
        columns = {row[0] for row in con.execute("DESCRIBE sessions").fetchall()}
    except duckdb.Error:  # no sessions table yet: nothing to complete
        return
    if "used_before_issued" not in columns:
        database = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(
            "CREATE OR REPLACE TEMP VIEW sessions AS SELECT *, coalesce(first_used < issued_at, false) "
            f"AS used_before_issued FROM {q(database)}.main.sessions"
        )


def events_view(con: Any, root: Path) -> None:
    """(Re)define the temporary views ``raw_events`` (every part) and ``events`` (the live rows)."""
    parts = [
        str(root / PARTS / name) for (name,) in con.execute("SELECT name FROM parts ORDER BY name").fetchall()
    ]
    if parts:
        listing = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in parts) + "]"
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw_events AS SELECT * FROM read_parquet({listing})")
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_events AS SELECT * FROM ({_empty_events_sql()})")
    con.execute(f"CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM raw_events WHERE {LIVE}")


def is_case(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a case store made by :func:`index` (told by content, not by name)."""
    catalog = _catalog(path)
    try:
        if not catalog.is_file():
            return False
        with open(catalog, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    if head[8:12] != _DUCKDB_MAGIC:
        return False
    import duckdb

    try:
        con = duckdb.connect(os.fspath(catalog), read_only=True)
    except Exception:  # locked by a writer: an index run is going on
        return True
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchall()
    except Exception:
        return False
    finally:
        con.close()
    return bool(rows) and str(rows[0][0]).startswith("ircreds-case/")


def part_schema() -> pa.Schema:
    """The Arrow schema of a Parquet part: the loader's chunk schema plus ``_f`` and ``_row``."""
    from ircreds.evidence.sources import SCHEMA

    return SCHEMA.append(pa.field("_f", pa.int32())).append(pa.field("_row", pa.int64()))


def _empty_events_sql() -> str:
    types = {pa.large_string(): "VARCHAR", pa.bool_(): "BOOLEAN", pa.int64(): "BIGINT", pa.int32(): "INTEGER"}
    cols = []
    for col in part_schema():
        sql_type = "TIMESTAMPTZ" if pa.types.is_timestamp(col.type) else types[col.type]
        cols.append(f"NULL::{sql_type} AS {q(col.name)}")
    return "SELECT " + ", ".join(cols) + " WHERE false"


def _create(con: Any) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS parts (name VARCHAR, seq BIGINT, rows BIGINT)")
    con.execute(
        "CREATE TABLE IF NOT EXISTS files (ord INTEGER, path VARCHAR, size BIGINT, sha256 VARCHAR, "
        "source VARCHAR, kind VARCHAR, reason VARCHAR, records_read BIGINT, rows BIGINT, part VARCHAR, "
        "declined VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS rejects (_f INTEGER, file VARCHAR, record BIGINT, reason VARCHAR)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS dups (_row BIGINT)")
    rows = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchall()
    if not rows:
        con.execute("INSERT INTO meta VALUES ('format', ?)", [FORMAT])
    elif rows[0][0] != FORMAT:
        raise LogFormatError(
            f"the case store is {rows[0][0]}, this ircreds writes {FORMAT}; index into a new folder"
        )
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'key_groups'").fetchall():
        con.execute("CREATE TABLE key_groups (key VARCHAR, part VARCHAR, rg INTEGER)")
        # complete only when every part is listed in it: a case indexed before it keeps scanning
        if not con.execute("SELECT count(*) FROM parts").fetchall()[0][0]:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('key_groups', 'complete')")


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexSummary:
    """What one ``index`` run did."""

    case: str
    files_seen: int
    files_new: int
    files_changed: int
    files_unchanged: int
    records_read: int
    events: int
    report: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexProgress:
    """What ``progress`` callbacks receive after each chunk."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file as stored (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def index(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    progress: Callable[[IndexProgress], None] | None = None,
    max_decompressed_bytes: int | None = None,
    max_record_bytes: int | None = None,
) -> IndexSummary:
    """Convert evidence (files, folders, globs) into the case store ``out`` (a folder), or add to it.

    One streaming pass: memory is bounded by a chunk of files, not by the trail. Files already
    in the case with the same path, size and SHA-256 are not read again. A file or record over
    ``max_decompressed_bytes`` / ``max_record_bytes`` (the caps of ``ircreds.load``) is a reject.

    Raises:
        SourceError: a missing path, or ``out`` exists and is not a case store.
    """
    from ircreds.evidence.sources import Limits, cloudtrail_files

    limits = Limits.of(
        {"max_decompressed_bytes": max_decompressed_bytes, "max_record_bytes": max_record_bytes}
    )

    root = Path(out)
    if root.exists() and not is_case(root) and (not root.is_dir() or any(root.iterdir())):
        raise SourceError(f"{root} exists and is not an ircreds case store; choose another --out")
    (root / PARTS).mkdir(parents=True, exist_ok=True)
    listed: list[tuple[str, Path]] = []
    inside = root.resolve()
    for spec in paths:
        for p in cloudtrail_files.expand(spec):
            if inside not in p.resolve().parents:
                listed.append((os.fspath(spec), p))
    con = connect(root)
    try:
        _create(con)
        _drop_orphan_parts(con, root)
        known = {
            path: (ord_, size, sha)
            for ord_, path, size, sha in con.execute("SELECT ord, path, size, sha256 FROM files").fetchall()
        }
        next_ord = int(con.execute("SELECT coalesce(max(ord) + 1, 0) FROM files").fetchall()[0][0])
        next_seq = int(con.execute("SELECT coalesce(max(seq) + 1, 0) FROM parts").fetchall()[0][0])
        todo: list[tuple[int, str, Path, int, str]] = []
        unchanged = changed = 0
        seen: set[str] = set()
        for spec, p in listed:
            name = str(p)
            if name in seen:
                continue
            seen.add(name)
            size = p.stat().st_size
            sha = sha256_file(p)
            hit = known.get(name)
            if hit is not None and hit[1] == size and hit[2] == sha:
                unchanged += 1
                continue
            if hit is not None:  # retire the old version's rows (the events view drops unknown ordinals)
                changed += 1
                con.execute("BEGIN")
                con.execute("DELETE FROM rejects WHERE _f = ?", [hit[0]])
                con.execute("DELETE FROM files WHERE ord = ?", [hit[0]])
                con.execute("COMMIT")
                log.info("%s changed since it was indexed: reading it again", name)
            todo.append((next_ord, spec, p, size, sha))
            next_ord += 1
        chunks: list[list[tuple[int, str, Path, int, str]]] = []
        chunk: list[tuple[int, str, Path, int, str]] = []
        chunk_bytes = 0
        for item in todo:
            chunk.append(item)
            chunk_bytes += item[3]
            if len(chunk) >= CHUNK_FILES or chunk_bytes >= CHUNK_BYTES:
                chunks.append(chunk)
                chunk, chunk_bytes = [], 0
        if chunk:
            chunks.append(chunk)
        total_bytes = sum(t[3] for t in todo)
        done = [0, 0]

        def commit(result: _ChunkResult) -> None:
            _commit(con, result)
            done[0] += len(result.files)
            done[1] += sum(f[2] for f in result.files)
            if progress is not None:
                progress(IndexProgress(files_done=done[0], files_total=len(todo),
                                       bytes_done=done[1], bytes_total=total_bytes))  # fmt: skip

        _run_chunks(root, chunks, next_seq, commit, limits)
        if todo or changed or _meta(con, "report") is None:
            report = finish(con, root)
        else:
            report = json.loads(_meta(con, "report") or "{}")
    finally:
        con.close()
    return IndexSummary(
        case=str(root),
        files_seen=len(seen),
        files_new=len(todo) - changed,
        files_changed=changed,
        files_unchanged=unchanged,
        records_read=int(report.get("records_read", 0)),
        events=int(report.get("events", 0)),
        report=report,
    )


def _drop_orphan_parts(con: Any, root: Path) -> None:
    """Parts written by an interrupted run but never recorded in the catalog."""
    known = {name for (name,) in con.execute("SELECT name FROM parts").fetchall()}
    for part in (root / PARTS).glob("*.parquet*"):
        if part.name not in known:
            log.info("removing %s, left by an interrupted index run", part)
            part.unlink()


def _meta(con: Any, key: str) -> str | None:
    row = next(iter(con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()), None)
    return None if row is None else str(row[0])


def _set_meta(con: Any, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


@dataclass(frozen=True, slots=True)
class _ChunkResult:
    """What a worker hands back for one chunk (the rows themselves stay in its Parquet part)."""

    part: str | None
    seq: int
    rows: int
    files: list[tuple[Any, ...]]
    rejects: list[tuple[Any, ...]]
    key_groups: list[tuple[Any, ...]] = field(default_factory=list)


def _run_chunks(
    root: Path,
    chunks: list[list[tuple[int, str, Path, int, str]]],
    first_seq: int,
    commit: Callable[[_ChunkResult], None],
    limits: Any = None,
) -> None:
    """Read chunks in worker processes (in order of commit), a few in flight to bound memory."""
    context = process_context() if WORKERS > 1 and len(chunks) > 1 else None
    if context is None:
        for i, chunk in enumerate(chunks):
            commit(_chunk_to_part(root, chunk, first_seq + i, limits))
        return
    from concurrent.futures import Future, ProcessPoolExecutor

    tuning = (ROW_GROUP, BATCH_BYTES)  # the parent's values: a fork server's workers never see a change
    log.debug("index: %d chunks in %d %s workers", len(chunks), WORKERS, context.get_start_method())
    pending: list[Future[_ChunkResult]] = []
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        try:
            for i, chunk in enumerate(chunks):
                pending.append(pool.submit(_chunk_to_part, root, chunk, first_seq + i, limits, tuning))
                while len(pending) > WORKERS:
                    commit(pending.pop(0).result())
            while pending:
                commit(pending.pop(0).result())
        finally:
            for future in pending:
                future.cancel()


def _read_chunk(
    chunk: list[tuple[int, str, Path, int, str]], limits: Any = None, batch_bytes: int | None = None
) -> tuple[list[tuple[int, Any]], dict[str, str]]:
    """(ordinal, outcome) per file: the loader's readers, in file order; and DuckDB's declines."""
    from ircreds.evidence.sources import (
        DEFAULT_LIMITS,
        FileOutcome,
        cloudtrail_files,
        files,
        frame_to_table,
        parquet,
        passed_limits,
        read_paths_duckdb,
    )

    declined: dict[str, str] = {}

    def on_decline(path: str, reason: str) -> None:
        declined[path] = reason

    is_parquet = [cloudtrail_files.sniff(p) == "parquet" for _, _, p, _, _ in chunk]
    outcomes = read_paths_duckdb(
        [str(p) for (_, _, p, _, _), pq in zip(chunk, is_parquet, strict=True) if not pq],
        files.PROCESSES if WORKERS <= 1 else 1,
        on_decline=on_decline,
        batch_bytes=batch_bytes or BATCH_BYTES,
        **passed_limits(limits or DEFAULT_LIMITS),
    )
    got: list[tuple[int, Any]] = []
    for (ord_, _, p, _, _), pq in zip(chunk, is_parquet, strict=True):
        if pq:
            try:
                frame = parquet.read(p)
            except LogFormatError as err:
                got.append((ord_, FileOutcome(name=str(p), kind="skip", reason=str(err))))
            else:
                table = frame_to_table(frame)
                got.append(
                    (
                        ord_,
                        FileOutcome(name=str(p), kind="parquet", records_read=len(frame), table=table),
                    )
                )
        else:
            got.append((ord_, next(outcomes)))
    return got, declined


def _chunk_to_part(
    root: Path,
    chunk: list[tuple[int, str, Path, int, str]],
    seq: int,
    limits: Any = None,
    tuning: tuple[int, int] | None = None,
) -> _ChunkResult:
    """Read a chunk of files and write their rows as one Parquet part (runs in a worker).

    ``tuning``: the row group size and DuckDB batch bytes (the module's when None).
    """
    import pyarrow.parquet as pq

    from ircreds.evidence.sources import SCHEMA

    row_group, batch_bytes = tuning or (ROW_GROUP, BATCH_BYTES)
    outcomes, declined = _read_chunk(chunk, limits, batch_bytes)
    by_ord = {item[0]: item for item in chunk}
    tables: list[pa.Table] = []
    names: list[str] = []
    ords: list[int] = []
    file_rows: list[list[Any]] = []
    reject_rows = []
    for ord_, outcome in outcomes:
        _, spec, p, size, sha = by_ord[ord_]
        names.append(outcome.name)
        ords.append(ord_)
        rows = 0
        if outcome.table is not None and outcome.table.num_rows:
            tables.append(outcome.table)
            rows = outcome.table.num_rows
        kind = outcome.kind
        read = outcome.records_read if kind != "skip" else 0
        file_rows.append(
            [ord_, str(p), size, sha, spec, kind, outcome.reason, read, rows, None, declined.get(str(p))]
        )
        for record, reason in outcome.rejects:
            reject_rows.append((ord_, outcome.name, record, reason))
    part_name = None
    n = 0
    key_groups: list[tuple[Any, ...]] = []
    if tables:
        table = pa.concat_tables(
            [t.cast(SCHEMA) if t.schema != SCHEMA else t for t in tables]
        ).combine_chunks()
        del tables
        n = table.num_rows
        # each row's file ordinal, from its evidence.file (a presorted batch spans several files)
        lookup = pa.array(names, type=pa.large_string())
        pos = pc.index_in(table.column("evidence.file"), value_set=lookup).to_numpy(zero_copy_only=False)
        f = np.asarray(ords, dtype=np.int32)[pos.astype(np.int64)]
        table = table.append_column("_f", pa.array(f, type=pa.int32()))
        table = table.append_column("_row", pa.array(np.arange(seq << 32, (seq << 32) + n, dtype=np.int64)))
        # clustered by key (then time): a key's rows sit in few row groups, which min/max statistics find
        order = pc.sort_indices(
            table, sort_keys=[("userIdentity.accessKeyId", "ascending"), ("eventTime", "ascending")]
        )
        table = table.take(order)
        part_name = f"part-{seq:08d}.parquet"
        tmp = root / PARTS / (part_name + ".tmp")
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group, write_statistics=True)
        meta = pq.read_metadata(tmp)
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        key_groups = [
            (k, part_name, rg) for k, rg in _key_groups(table.column("userIdentity.accessKeyId"), sizes)
        ]
        del table
        os.replace(tmp, root / PARTS / part_name)
        for row in file_rows:
            row[9] = part_name
    return _ChunkResult(
        part=part_name,
        seq=seq,
        rows=n,
        files=[tuple(r) for r in file_rows],
        rejects=reject_rows,
        key_groups=key_groups,
    )


def _key_groups(keys: pa.ChunkedArray, sizes: Sequence[int]) -> list[tuple[str, int]]:
    """(key, row group) for each key in each row group of a part (``sizes``: its row groups' row counts).

    Example:
        >>> _key_groups(pa.chunked_array([["A", "A", "A", "B", None]]), [2, 3])
        [('A', 0), ('A', 1), ('B', 1)]
    """
    if sum(sizes) != len(keys):
        raise SourceError(f"a part's row groups hold {sum(sizes)} rows, its table {len(keys)}")
    groups = pa.array(np.repeat(np.arange(len(sizes), dtype=np.int32), sizes))
    pairs = pa.table({"key": keys.combine_chunks().cast(pa.string()), "rg": groups})
    pairs = pairs.filter(pc.is_valid(pairs.column("key"))).group_by(["key", "rg"]).aggregate([])
    pairs = pairs.sort_by([("key", "ascending"), ("rg", "ascending")])
    return list(zip(pairs.column("key").to_pylist(), pairs.column("rg").to_pylist(), strict=True))


def _insert(con: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows through Arrow (``executemany`` runs one statement per row)."""
    if not rows:
        return
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    con.register("_rows", pa.table(data))
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _rows")
    finally:
        con.unregister("_rows")


def _commit(con: Any, result: _ChunkResult) -> None:
    """Record a chunk's part, files and rejects in one transaction (after the part is on disk)."""
    con.execute("BEGIN")
    try:
        if result.part is not None:
            con.execute("INSERT INTO parts VALUES (?, ?, ?)", [result.part, result.seq, result.rows])
        _insert(con, "rejects", ["_f", "file", "record", "reason"], result.rejects)
        _insert(con, "key_groups", ["key", "part", "rg"], result.key_groups)
        _insert(con, "files",
                ["ord", "path", "size", "sha256", "source", "kind", "reason", "records_read", "rows", "part",
                 "declined"], result.files)  # fmt: skip
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------------------------------------
# After the rows are in: re-deliveries, the small tables, the load report


def finish(con: Any, root: Path) -> dict[str, Any]:
    """Mark re-deliveries, rebuild the issuing/keys/sessions tables and the load report."""
    events_view(con, root)
    duplicates, collisions = _mark_redeliveries(con)
    names = ", ".join(f"'{n}'" for n in ISSUING_NAMES)
    con.execute("BEGIN")
    con.execute("DROP TABLE IF EXISTS issuing")
    con.execute(f'CREATE TABLE issuing AS SELECT * FROM events WHERE "eventName" IN ({names})')
    con.execute("DROP TABLE IF EXISTS keys")
    con.execute(
        f'CREATE TABLE keys AS SELECT {KEY} AS key, min("eventTime") AS first_used, '
        'max("eventTime") AS last_used, count(*) AS calls, '
        'arg_min(_row, ("eventTime", _f, "evidence.line")) AS first_row, '
        # each key's addresses and clients: what a trace compares a credential's peers against
        'list(DISTINCT "sourceIPAddress") AS ips, list(DISTINCT "userAgent") AS agents '
        f"FROM events WHERE {KEY} IS NOT NULL GROUP BY {KEY}"
    )
    con.execute("COMMIT")
    sessions = _sessions(con)
    con.execute("BEGIN")
    con.execute("DROP TABLE IF EXISTS sessions")
    con.register("_sessions", _sessions_table(sessions))
    con.execute("CREATE TABLE sessions AS SELECT * FROM _sessions")
    con.unregister("_sessions")
    report = _report(con, duplicates, collisions)
    _set_meta(con, "report", json.dumps(report))
    _set_meta(con, "evidence", json.dumps(_evidence(con)))
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    return report


def _mark_redeliveries(con: Any) -> tuple[int, list[dict[str, Any]]]:
    """Record the rows the in-memory loader drops (same eventID, same content, later in input order)."""
    from ircreds.evidence.loader import find_redeliveries
    from ircreds.evidence.sources import SCHEMA

    con.execute("DELETE FROM dups")
    con.execute(
        'CREATE OR REPLACE TEMP TABLE _ids AS SELECT "eventID" AS id FROM events '
        'WHERE "eventID" IS NOT NULL GROUP BY "eventID" HAVING count(*) > 1'
    )
    n = con.execute("SELECT count(*) FROM _ids").fetchall()[0][0]
    if not n:
        return 0, []
    cols = ", ".join(q(c) for c in COLUMNS)
    table = con.sql(
        f'SELECT {cols}, _row FROM events SEMI JOIN _ids ON events."eventID" = _ids.id '
        'ORDER BY _f, "evidence.line", _row'
    ).to_arrow_table()
    rows = table.column("_row").to_numpy()
    table = table.drop_columns(["_row"]).cast(SCHEMA)
    drop, collisions = find_redeliveries(table)
    if drop.any():
        con.register("_dups", pa.table({"_row": pa.array(rows[drop], type=pa.int64())}))
        con.execute("INSERT INTO dups SELECT _row FROM _dups")
        con.unregister("_dups")
    return int(drop.sum()), collisions


def frame_from_arrow(table: pa.Table, line: str = "evidence.line") -> pd.DataFrame:
    """Rows of the ``events`` table (any order) -> the events frame, in frame order (``line``: the record column)."""
    from ircreds.evidence.sources import SCHEMA, table_to_frame

    if table.num_rows == 0:
        from ircreds.schema import empty_events

        return empty_events()
    times = table.column("eventTime").cast(pa.int64()).to_numpy(zero_copy_only=False)
    f = table.column("_f").to_numpy(zero_copy_only=False)
    line = table.column(line).fill_null(-1).to_numpy(zero_copy_only=False)
    order = np.lexsort((line, f, times))
    table = table.select(list(COLUMNS)).cast(SCHEMA)
    return table_to_frame([table], order=order)


#: Access key ids written into SQL as literals: printable ASCII, no quote (anything else is joined).
_LITERAL_KEY = re.compile(r"^[A-Za-z0-9+/=_.:@-]{1,128}$")
#: Most keys written as one literal list (more are joined).
LITERAL_KEYS = 2_000


def key_filter(keys: Iterable[str]) -> str | None:
    """``"userIdentity.accessKeyId" IN ('K1', ...)`` when every key is safe as a literal, else None.

    A constant list is pushed into the Parquet scan (row groups whose key range misses are skipped); a
    semi-join with a registered table is not, and reads every part of a big case. Keys come from
    evidence (attacker-written): only plain key-shaped text is inlined, never a quote or a control byte.

    Example:
        >>> print(key_filter(["ASIAIOSFODNN7EXAMPLE"]))
        "userIdentity.accessKeyId" IN ('ASIAIOSFODNN7EXAMPLE')
        >>> key_filter(["x' OR 1=1 --"]) is None
        True
    """
    keys = sorted(set(keys))
    if not keys or len(keys) > LITERAL_KEYS or not all(_LITERAL_KEY.match(k) for k in keys):
        return None
    return f"{KEY} IN ({', '.join(repr(k) for k in keys)})"


@contextmanager
def rows_of_keys(con: Any, root: Path, keys: Iterable[str]) -> Iterator[str | None]:
    """``FROM ... WHERE ...`` of the live rows signed by ``keys``, over only the parts that hold them.

    ``key_groups`` says which parts hold each key; DuckDB scans those alone, skipping the row groups
    whose key range misses and decoding the other columns only where a key matched. None when the
    case was indexed before ``key_groups`` existed (scan ``events`` instead). Use the clause inside
    the ``with`` block.
    """
    if _meta(con, "key_groups") != "complete":
        yield None
        return
    keys = sorted(set(keys))
    con.register("_kg", pa.table({"k": pa.array(keys, type=pa.string())}))
    try:
        parts = [
            str(root / PARTS / name)
            for (name,) in con.execute(
                "SELECT DISTINCT part FROM key_groups WHERE key IN (SELECT k FROM _kg) ORDER BY part"
            ).fetchall()
        ]
        if not parts:
            yield "FROM raw_events WHERE false"
            return
        listing = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in parts) + "]"
        literal = key_filter(keys)
        match = literal if literal is not None else f"{KEY} IN (SELECT k FROM _kg)"
        yield f"FROM read_parquet({listing}) WHERE {match} AND {LIVE}"
    finally:
        con.unregister("_kg")


def select_events(con: Any, where: str = "true", params: Sequence[Any] = ()) -> pd.DataFrame:
    """The events frame of the rows matching ``where`` (re-deliveries excluded), in frame order."""
    cols = ", ".join(q(c) for c in COLUMNS)
    table = con.sql(
        f"SELECT {cols}, _f FROM events WHERE {where}", params=list(params) or None
    ).to_arrow_table()
    return frame_from_arrow(table)


#: Columns the scope's expansion never reads on a call that issues nothing (JSON text, error text,
#: request ids, where the row came from, identity details the sessions table takes only from issuing
#: events): read back empty there, so a whole-case scope moves a
#: fraction of the bytes. The issuing events and console sign-ins keep every column.
THIN_COLUMNS = (
    *JSON_COLUMNS,
    "errorMessage",
    "requestID",
    "evidence.file",
    "evidence.line",
    "sharedEventID",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.inScopeOf.credentialsIssuedTo",
    "userIdentity.sessionContext.webIdFederationData.federatedProvider",
    "userIdentity.identityProvider",
)


def select_scope_events(con: Any) -> pd.DataFrame:
    """Every row of the case in frame order, with :data:`THIN_COLUMNS` empty outside the issuing events.

    The issuing events and console sign-ins come whole from the catalog's ``issuing`` table; the other
    rows never have their thin columns read from the parts (the JSON text is most of a part's bytes).
    """
    issuing = ", ".join(f"'{name}'" for name in ISSUING_NAMES)
    thin = ", ".join(
        f"CASE WHEN false THEN {q(c)} END AS {q(c)}" if c in THIN_COLUMNS else q(c) for c in COLUMNS
    )
    full = ", ".join(q(c) for c in COLUMNS)
    # frame order needs each row's file and record: read them apart from the emptied columns
    table = con.sql(
        f'SELECT {thin}, _f, "evidence.line" AS _line FROM events WHERE NOT ("eventName" IN ({issuing})) '
        f'UNION ALL SELECT {full}, _f, "evidence.line" AS _line FROM issuing'
    ).to_arrow_table()
    return frame_from_arrow(table, line="_line")


def _sessions(con: Any) -> pd.DataFrame:
    """The sessions frame of the whole case, from its small tables only.

    ``sessions()`` of the issuing events, console sign-ins and each key's first call (a frame of
    those rows in frame order gives each key the same first call and the same issuing rows as the
    whole frame), then every key's first/last use and call count from the ``keys`` table.
    """
    from ircreds.lineage import sessions as build_sessions
    from ircreds.lineage.index import with_call_stats

    cols = ", ".join(q(c) for c in COLUMNS)
    table = con.sql(
        f"SELECT {cols}, _f FROM issuing UNION ALL "
        f"SELECT {cols}, _f FROM events WHERE _row IN (SELECT first_row FROM keys) "
        f'AND NOT ("eventName" IN ({", ".join(repr(n) for n in ISSUING_NAMES)}))'
    ).to_arrow_table()
    small = frame_from_arrow(table)
    frame = build_sessions(small)
    stats = con.sql("SELECT key, first_used, last_used, calls FROM keys").to_arrow_table().to_pandas()
    return with_call_stats(frame, stats.set_index("key"))


def _sessions_table(frame: pd.DataFrame) -> pa.Table:
    data = {}
    for name in frame.columns:
        col = frame[name]
        if name == "issuing_event_ids":
            data[name] = pa.array([list(v) if v is not None else [] for v in col], type=pa.list_(pa.string()))
        elif name in ("observed_only", "used_before_issued"):
            data[name] = pa.array(col.to_numpy(dtype=bool))
        elif name == "call_count":
            data[name] = pa.array(col.to_numpy(dtype="int64"))
        elif name == "mfa_authenticated":
            data[name] = pa.array(col.astype("boolean"), from_pandas=True, type=pa.bool_())
        elif isinstance(col.dtype, pd.DatetimeTZDtype):
            data[name] = pa.array(col, from_pandas=True).cast(pa.timestamp("us", tz="UTC"))
        else:
            data[name] = pa.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v)
                                   for v in col], type=pa.string())  # fmt: skip
    data["_pos"] = pa.array(np.arange(len(frame), dtype=np.int64))
    return pa.table(data)


def _evidence(con: Any) -> dict[str, Any]:
    """What a trace's ``Evidence`` says about the whole case (as ``lineage_index`` computes it)."""
    n, start, end, data, not_mgmt = con.execute(
        'SELECT count(*), min("eventTime"), max("eventTime"), count(*) FILTER ("eventCategory" = \'Data\'), '
        'count(*) FILTER ("managementEvent" = false) FROM events'
    ).fetchall()[0]

    def distinct(column: str) -> list[str]:
        rows = con.execute(
            f"SELECT DISTINCT {q(column)} FROM events WHERE {q(column)} <> '' ORDER BY 1"
        ).fetchall()
        return [str(r[0]) for r in rows]

    return {
        "events_len": int(n),
        "start": None if start is None else pd.Timestamp(start).tz_convert("UTC").isoformat(),
        "end": None if end is None else pd.Timestamp(end).tz_convert("UTC").isoformat(),
        "accounts": distinct("recipientAccountId"),
        "regions": distinct("awsRegion"),
        "data_event_count": int(data or not_mgmt or 0),
    }


def _report(con: Any, duplicates: int, collisions: list[dict[str, Any]]) -> dict[str, Any]:
    files = con.execute(
        "SELECT ord, path, source, kind, reason, records_read, declined FROM files ORDER BY ord"
    ).fetchall()
    declined: dict[str, int] = {}
    for *_, why in files:
        if why is not None:
            declined[why] = declined.get(why, 0) + 1
    formats: dict[str, int] = {}
    skipped = []
    sources: dict[str, dict[str, Any]] = {}
    files_read = 0
    records_read = 0
    for _, path, source, kind, reason, read, _ in files:
        src = sources.setdefault(source, {"input": source, "kind": "files", "files": 0, "formats": {}})
        src["files"] += 1
        if kind == "skip":
            skipped.append({"file": path, "reason": reason})
            continue
        records_read += int(read or 0)
        if kind == "error":
            continue
        files_read += 1
        formats[kind] = formats.get(kind, 0) + 1
        src["formats"][kind] = src["formats"].get(kind, 0) + 1
    rejects = [
        {"file": f, "record": None if r is None else int(r), "reason": reason}
        for f, r, reason in con.execute(
            "SELECT file, record, reason FROM rejects ORDER BY _f, record NULLS FIRST"
        ).fetchall()
    ]
    events, start, end = con.execute(
        'SELECT count(*), min("eventTime"), max("eventTime") FROM events'
    ).fetchall()[0]
    accounts = [
        r[0]
        for r in con.execute(
            'SELECT DISTINCT coalesce("recipientAccountId", "userIdentity.accountId") AS a FROM events '
            "WHERE a IS NOT NULL ORDER BY a"
        ).fetchall()
    ]
    regions = [
        r[0]
        for r in con.execute(
            'SELECT DISTINCT "awsRegion" FROM events WHERE "awsRegion" IS NOT NULL ORDER BY 1'
        ).fetchall()
    ]

    def iso(t: Any) -> str:
        return pd.Timestamp(t).tz_convert("UTC").isoformat().replace("+00:00", "Z")

    report = {
        "files_read": files_read,
        "files_skipped": skipped,
        "formats": formats,
        "records_read": records_read,
        "events": int(events),
        "duplicates": duplicates,
        "rejects": rejects,
        "id_collisions": collisions,
        "time_range": {"start": iso(start), "end": iso(end)} if events else None,
        "accounts": accounts,
        "regions": regions,
        "sources": list(sources.values()),
        "caveats": [],
        "duckdb_declined": {"files": sum(declined.values()), "reasons": dict(sorted(declined.items()))},
    }
    if report["records_read"] != report["events"] + duplicates + len(rejects):
        raise LogFormatError(f"the case store's counts do not reconcile: {report['records_read']} records read, "
                             f"{events} events + {duplicates} duplicates + {len(rejects)} rejects")  # fmt: skip
    return report


__all__ = [
    "FORMAT",
    "IndexProgress",
    "IndexSummary",
    "connect",
    "frame_from_arrow",
    "index",
    "is_case",
    "select_events",
]
