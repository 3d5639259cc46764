"""``ircreds.load``: any CloudTrail evidence -> one events frame (see :mod:`ircreds.schema`).

Example:
    >>> import ircreds
    >>> df = ircreds.load([
    ...     {"eventTime": "2025-01-20T09:15:00Z", "eventName": "ListBuckets", "eventID": "b"},
    ...     {"eventTime": "2025-01-20T09:14:27Z", "eventName": "AssumeRole", "eventID": "a",
    ...      "responseElements": {"credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE",
    ...          "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Jan 20, 2025, 9:14:27 PM"}}},
    ...     {"eventTime": "2025-01-20T09:15:00Z", "eventName": "ListBuckets", "eventID": "b"},
    ... ])
    >>> list(df["eventName"]), df.loc[0, "issued.accessKeyId"]
    (['AssumeRole', 'ListBuckets'], 'ASIAIOSFODNN7EXAMPLE')
    >>> "IQoJ" in df.loc[0, "responseElements"]
    False
    >>> r = df.attrs["load_report"]
    >>> r["records_read"], r["events"], r["duplicates"], len(r["rejects"])
    (3, 2, 1, 0)

Every record is isolated. Evidence files are attacker-influenced, so nothing one record holds can
fail its file or the run: it becomes a reject with its reason (file and record in the report's
``rejects``), the same reason on every loading path (local files through the DuckDB, msgspec or
general readers, JSON Lines, single-record files, bytes, ``s3://``, record iterables, and the case
store's indexer, which uses these readers):

- a value kept as JSON text nested more than 254 levels deep (the document is cut into records from
  its bytes, so a record no parser takes cannot hide the others);
- bytes that are not UTF-8, or a record larger than ``max_record_bytes`` (default 64 MiB);
- an ``eventTime`` that the time rule says is not a time. The rule is one, in :mod:`ircreds.times`:
  ISO 8601, STS text dates and epoch numbers are times; ``now``, ``today``, ``yesterday`` (never read
  as the wall clock), days or hours that do not exist (``2025-02-30``: never rolled into March), leap
  seconds (``23:59:60``: never rolled into the next minute) and instants outside the frame's range
  (before 1677-09-21 or after 2262-04-11) are not, each with its own reason. A ``creationDate`` or an
  ``expiration`` that is not a time stays empty and its record stays.

A whole file that cannot be read (a truncated or corrupt gzip, more than ``max_decompressed_bytes``
once decompressed, default 2 GiB: the stream is counted, never expanded in memory) is one reject
naming the file (``record`` None). A path that is not a regular file (a FIFO, a device) is refused.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ircreds.errors import LogFormatError, SourceError
from ircreds.evidence import sources as _sources
from ircreds.evidence.sources import (
    CONTENT_COLUMNS,
    LIMIT_OPTIONS,
    SURROGATE_REASON,
    FileOutcome,
    Limits,
    RecordError,
    cloudtrail_files,
    columns_to_table,
    frame_to_table,
    normalize_record,
    parquet,
    read_bytes,
    table_to_frame,
    time_reason,
    unencodable_rows,
    unwrap,
)
from ircreds.schema import COLUMNS, EVIDENCE_COLUMNS, LoadReport, empty_events
from ircreds.times import iso_z

log = logging.getLogger(__name__)

#: Options ``load`` understands beyond those of the sources it reads (anything else is a TypeError,
#: so typos do not pass silently). A registered source adds its own through its ``OPTIONS``.
OPTIONS = frozenset(
    {
        "accounts",
        "regions",
        "start",
        "end",
        "session",
        "client",
        "lookup",
        "workers",
        "validate",
        *LIMIT_OPTIONS,
    }
)

#: Kept for callers of 0.1 (the text now lives beside the source that adds it).
LOOKUP_CAVEAT = (
    "LookupEvents (CloudTrail event history) covers only the last 90 days, only management events "
    "(no S3 object-level or other data events), and one region per call"
)

#: The cyclic GC's first-generation threshold while a load runs (restored after): parsing allocates
#: millions of short-lived containers, none in a cycle, and the default (700) would walk them again
#: and again.
GC_THRESHOLD0 = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadProgress:
    """What ``progress`` callbacks receive after each file (totals may grow while S3 is listed)."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[LoadProgress], None]


class Collector:
    """Accumulates rows, rejects and the load report while sources are read: the sources' :class:`~ircreds.evidence.sources.Sink`.

    Sources call :meth:`add_bytes` (one file's content), :meth:`add_items` (parsed records),
    :meth:`add_frame` (an already typed frame), :meth:`apply` (a file a reader read),
    :meth:`skip`, :meth:`reject`, :meth:`unreadable`, :meth:`count_format`, :meth:`describe`,
    :meth:`caveat` and :meth:`declined`; only the collector changes its counters.
    """

    def __init__(
        self,
        *,
        strict: bool = False,
        progress: ProgressCallback | None = None,
        fast: bool = True,
        limits: Limits | None = None,
    ) -> None:
        self.strict = strict
        self.fast = fast
        self.limits = limits or Limits()
        self.progress = progress
        self.rows: list[tuple] = []
        self.files: list[str | None] = []
        self.lines: list[int | None] = []
        self.tables: list[pa.Table] = []
        self.frames: dict[int, pd.DataFrame] = {}  # saved frames, by their place in ``tables``
        self.records_read = 0
        self.files_read = 0
        self.formats: dict[str, int] = {}
        self.files_skipped: list[dict[str, Any]] = []
        self.rejects: list[dict[str, Any]] = []
        self.sources: list[dict[str, Any]] = []
        self.caveats: list[str] = []
        self.files_total = 0
        self.bytes_total = 0
        self.files_done = 0
        self.bytes_done = 0
        self.duckdb_declined: dict[str, int] = {}
        self.history_files: set[str] = set()  # event-history (lookup-events) inputs, set against the trail

    # -- progress ------------------------------------------------------------------------------
    def expect(self, files: int, nbytes: int) -> None:
        """Announce files (and their bytes) about to be read, for progress totals."""
        self.files_total += files
        self.bytes_total += nbytes

    def advance(self, nbytes: int) -> None:
        """One file done."""
        self.files_done += 1
        self.bytes_done += nbytes
        if self.progress is not None:
            self.progress(
                LoadProgress(
                    files_done=self.files_done,
                    files_total=max(self.files_total, self.files_done),
                    bytes_done=self.bytes_done,
                    bytes_total=max(self.bytes_total, self.bytes_done),
                )
            )

    # -- input -----------------------------------------------------------------------------------
    def reject(self, file: str | None, index: int | None, reason: str) -> None:
        """Record that one record (or, with ``index=None``, a whole file) could not be loaded."""
        where = f"{file or '<records>'}" + (f", record {index}" if index is not None else "")
        if self.strict:
            raise LogFormatError(f"{where}: {reason}; load without strict=True to skip it and go on")
        log.info("rejected %s: %s", where, reason)
        self.rejects.append({"file": file, "record": index, "reason": reason})

    def skip(self, file: str, reason: str) -> None:
        """A file that is not CloudTrail evidence (digest, other JSON, not JSON)."""
        log.info("skipped %s: %s", file, reason)
        self.files_skipped.append({"file": file, "reason": reason})

    def unreadable(self, file: str, reason: str) -> None:
        """A whole file that could not be read at all (a failed download): one record read, one reject."""
        self.records_read += 1
        self.reject(file, None, reason)

    def count_format(self, kind: str, *, file: bool = True) -> None:
        """One input of format ``kind`` read (``file=True``: a whole evidence file)."""
        if file:
            self.files_read += 1
        self.formats[kind] = self.formats.get(kind, 0) + 1

    def describe(self, entry: Mapping[str, Any]) -> None:
        """What one source was (the report's ``sources`` list)."""
        self.sources.append(dict(entry))

    def caveat(self, text: str) -> None:
        """A limit of the evidence (the report's ``caveats``, each text once)."""
        if text not in self.caveats:
            self.caveats.append(text)

    def declined(self, file: str, reason: str) -> None:
        """A file the DuckDB path left to the general path (counted by reason in the report)."""
        log.debug("DuckDB path declined %s (%s)", file, reason)
        self.duckdb_declined[reason] = self.duckdb_declined.get(reason, 0) + 1

    def add_items(self, file: str | None, items: Iterable[tuple[int, Any]]) -> None:
        """Records as ``(index, object)``; objects may be wrappers or a per-line parse error."""
        rows, files, lines = self.rows, self.files, self.lines
        for index, obj in items:
            self.records_read += 1
            if isinstance(obj, cloudtrail_files.FileError):
                self.reject(file, index, str(obj))
                continue
            try:
                row = normalize_record(unwrap(obj))
            except RecordError as err:
                self.reject(file, index, str(err))
                continue
            rows.append(row)
            files.append(file)
            lines.append(index)

    def add_bytes(self, file: str, data: bytes) -> None:
        """One file's content (gzip or not), detected by content."""
        self.apply(read_bytes(file, data, self.fast, self.limits))

    def apply(self, outcome: FileOutcome) -> None:
        """Take in one file's outcome (read here or in a worker process)."""
        if outcome.kind == "skip":
            self.skip(outcome.name, outcome.reason or "")
            return
        self.records_read += outcome.records_read
        for index, reason in outcome.rejects:
            self.reject(outcome.name, index, reason)
        if outcome.kind == "error":
            return
        if outcome.kind == "lookup_events":
            self.history_files.add(outcome.name)
        self.count_format(outcome.kind)
        if outcome.table is not None and outcome.table.num_rows:
            self._flush()
            self.tables.append(outcome.table)

    def add_document(self, name: str | None, doc: Any) -> None:
        """One already parsed JSON document (a dict such as ``{"Records": [...]}``)."""
        kind, items = cloudtrail_files.classify(doc)
        if kind == "skip":
            self.skip(name or "<document>", items)
            return
        self.count_format(kind, file=False)
        if kind == "lookup_events" and name:
            self.history_files.add(name)
        self.add_items(name, items)

    def add_frame(self, frame: pd.DataFrame) -> None:
        """An already typed events frame (a saved parquet)."""
        self._flush()
        self.records_read += len(frame)
        self.frames[len(self.tables)] = frame
        self.tables.append(pa.table({}))  # its place in input order; converted only if needed

    # -- output ----------------------------------------------------------------------------------
    def _flush(self) -> None:
        """Turn the pending general-path rows into a chunk (keeps input order across paths)."""
        if not self.rows:
            return
        bad = unencodable_rows(self.rows)
        if bad is not None:
            for file, line, b in zip(self.files, self.lines, bad, strict=True):
                if b:
                    self.reject(file, line, SURROGATE_REASON)
            keep = [i for i, b in enumerate(bad) if not b]
            self.rows = [self.rows[i] for i in keep]
            self.files = [self.files[i] for i in keep]
            self.lines = [self.lines[i] for i in keep]
            if not self.rows:
                return
        columns = dict(zip(CONTENT_COLUMNS, zip(*self.rows, strict=True), strict=True))
        table, bad_time = columns_to_table(columns, files=self.files, lines=self.lines)
        if bad_time.any():
            for i in np.flatnonzero(bad_time):
                self.reject(self.files[i], self.lines[i], time_reason(self.rows[i][0]))
            table = table.filter(pa.array(~bad_time))
        self.rows, self.files, self.lines = [], [], []
        self.tables.append(table)

    def finish(self) -> pd.DataFrame:
        """Concatenate, drop re-deliveries, sort, convert once, and attach the load report."""
        self._flush()
        alone = self._frame_as_is()
        if alone is not None:  # one saved frame and nothing else, already in frame order: no round trip
            self.tables, self.frames = [], {}
            alone.attrs = {}
            alone.attrs["load_report"] = LoadReport(self.report(alone, 0, []))
            return alone
        for place, saved in self.frames.items():
            self.tables[place] = frame_to_table(saved)
        self.frames = {}
        tables, self.tables = self.tables, []
        if not tables:
            frame, duplicates, collisions = empty_events(), 0, []
        else:
            table = pa.concat_tables(tables)  # zero-copy: one chunk per file
            del tables
            self._history_against_trail(table)
            drop, collisions = _redeliveries(table)
            keep = np.flatnonzero(~drop)
            times = table.column("eventTime").cast(pa.int64()).to_numpy()
            order = keep[np.argsort(times[keep], kind="stable")]
            duplicates = int(drop.sum())
            holder = [table]
            del table, times, keep, drop
            frame = table_to_frame(holder, order=order)
        frame.attrs["load_report"] = LoadReport(self.report(frame, duplicates, collisions))
        return frame

    def _frame_as_is(self) -> pd.DataFrame | None:
        """The one saved frame read, when it is all the input and needs no sort and no de-duplication."""
        if len(self.tables) != 1 or 0 not in self.frames:
            return None
        frame = self.frames[0]
        if not len(frame):
            return None
        stamps = frame["eventTime"].to_numpy(dtype="datetime64[ns]").view("int64")
        if (np.diff(stamps) < 0).any() or frame["eventTime"].isna().any():
            return None
        ids = frame["eventID"]
        if (ids.duplicated(keep=False) & ids.notna()).any():
            return None
        files = pa.array(frame["evidence.file"].array, from_pandas=True)
        if pc.any(pc.fill_null(pc.starts_with(files, "cloudtrail:lookup_events/"), False)).as_py():
            return None  # event-history rows: the caveat against the trail is computed on the general way
        return frame.reset_index(drop=True)

    def _history_against_trail(self, table: pa.Table) -> None:
        """Caveat: how many event-history (lookup-events) events the trail also holds, and which it lacks."""
        files = table.column("evidence.file").cast(pa.string())
        history = pc.fill_null(
            pc.or_(
                pc.is_in(files, value_set=pa.array(sorted(self.history_files), pa.string())),
                pc.starts_with(files, "cloudtrail:lookup_events/"),
            ),
            False,
        )
        n_history = pc.sum(history).as_py() or 0
        if not n_history or n_history == table.num_rows:
            return
        ids = table.column("eventID").cast(pa.string())
        trail_ids = pc.unique(pc.drop_null(pc.filter(ids, pc.invert(history))))
        history_ids = pc.filter(ids, history)
        in_trail = pc.fill_null(pc.is_in(history_ids, value_set=trail_ids), False)
        same = pc.sum(in_trail).as_py() or 0
        lacking = pc.filter(history_ids, pc.invert(in_trail)).to_pylist()
        text = f"{same} of {n_history} event-history (lookup-events) events duplicate the trail's" + (
            f"; {len(lacking)} do not, evidence the trail lacks (eventID "
            + ", ".join(str(i) for i in lacking[:10])
            + (", ..." if len(lacking) > 10 else "")
            + ")"
            if lacking
            else ""
        )
        self.caveat(text)

    def report(
        self, frame: pd.DataFrame, duplicates: int, collisions: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """The JSON-serialisable load report."""
        times = frame["eventTime"]
        accounts = _values(frame["recipientAccountId"])
        no_recipient = frame["recipientAccountId"].isna()
        if no_recipient.any():
            accounts |= _values(frame.loc[no_recipient, "userIdentity.accountId"])
        report = {
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            "formats": self.formats,
            "records_read": self.records_read,
            "events": len(frame),
            "duplicates": duplicates,
            "rejects": self.rejects,
            "id_collisions": collisions,
            "time_range": (
                {"start": iso_z(times.iloc[0], fraction=True), "end": iso_z(times.iloc[-1], fraction=True)}
                if len(frame)
                else None
            ),
            "accounts": sorted(accounts),
            "regions": sorted(_values(frame["awsRegion"])),
            "sources": self.sources,
            "caveats": self.caveats,
            "duckdb_declined": {
                "files": sum(self.duckdb_declined.values()),
                "reasons": dict(sorted(self.duckdb_declined.items())),
            },
        }
        if report["records_read"] != report["events"] + duplicates + len(self.rejects):
            raise AssertionError(f"load report does not reconcile: {report}")  # pragma: no cover
        return report


def _values(column: pd.Series) -> set[str]:
    """The distinct non-missing values of a (categorical) column, without walking every row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        used = np.unique(column.cat.codes.to_numpy())
        return {str(column.cat.categories[c]) for c in used if c >= 0}
    return {str(v) for v in column.dropna().unique()}


def _redeliveries(table: pa.Table) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Rows to drop (same eventID, same content as an earlier row) and same-id-different-content collisions."""
    drop = np.zeros(table.num_rows, dtype=bool)
    ids = pd.Series(pd.arrays.ArrowStringArray(table.column("eventID")))
    candidates = np.flatnonzero((ids.duplicated(keep=False) & ids.notna()).to_numpy())
    if not len(candidates):
        return drop, []
    sub = table_to_frame(table.take(pa.array(candidates)))
    content = [c for c in COLUMNS if c not in EVIDENCE_COLUMNS]
    digest = pd.util.hash_pandas_object(sub[content], index=False).to_numpy()
    keyed = pd.DataFrame({"id": sub["eventID"].to_numpy(dtype=object), "h": digest})
    repeat = keyed.duplicated(keep="first").to_numpy()
    drop[candidates[repeat]] = True
    collisions = []
    kept = keyed.loc[~repeat]
    for event_id, group in kept.groupby("id", sort=True):
        if len(group) > 1:
            where = sub.loc[group.index, list(EVIDENCE_COLUMNS)]
            collisions.append(
                {
                    "eventID": str(event_id),
                    "versions": len(group),
                    "evidence": [
                        {"file": None if pd.isna(f) else str(f), "record": None if pd.isna(n) else int(n)}
                        for f, n in where.itertuples(index=False)
                    ][:20],
                }
            )
    return drop, collisions


def _progress_callback(progress: Any) -> tuple[ProgressCallback | None, Callable[[], None]]:
    """``None``/``False``: silent; ``True``: a tqdm.auto bar; a callable: called after each file."""
    if progress is None or progress is False:
        return None, lambda: None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=0, unit="file", desc="loading CloudTrail", leave=False)

        def update(p: LoadProgress) -> None:
            bar.total = p.files_total
            bar.n = p.files_done
            bar.set_postfix_str(f"{p.bytes_done / 1e6:.0f} MB", refresh=False)
            bar.refresh()

        return update, bar.close
    if callable(progress):
        return progress, lambda: None
    raise TypeError("progress must be None, True (a tqdm bar) or a callable taking a LoadProgress")


def load(*sources: Any, strict: bool = False, progress: Any = None, **options: Any) -> pd.DataFrame:
    """Load CloudTrail evidence from any number of sources into one events frame.

    Sources are detected by content, not by name:

    - paths to files, folders (recursive) or globs: S3 delivery files (``{"Records": [...]}``,
      ``.json`` or gzipped, any layout incl. organisation trails), JSON Lines, JSON arrays,
      EventBridge envelopes, LookupEvents output, and ``.parquet`` frames saved by ``--save``;
    - ``s3://bucket/prefix`` URLs (boto3), narrowed by the key layout before any download
      with ``accounts=``, ``regions=``, ``start=``, ``end=``; ``session=`` or ``client=``
      choose the credentials; files download in parallel (``workers=``, default 8);
    - a boto3 CloudTrail client (or ``lookup=`` with ``session=``): the live event history
      through ``lookup_events``. It covers only the last 90 days, only management events,
      one region per call; the load report repeats these limits. ``lookup={"AccessKeyId":
      "ASIA..."}`` narrows the history to one attribute, ``regions=`` lists the regions;
    - an iterable of record dicts (or of their wrappers), or one parsed JSON document.

    Args:
        *sources: what to load (see above).
        strict: raise :class:`~ircreds.errors.LogFormatError` at the first bad file or record
            instead of rejecting it and going on.
        progress: ``None`` (silent), ``True`` (a ``tqdm.auto`` bar) or a callable that gets a
            :class:`LoadProgress` after each file.
        **options: ``accounts``, ``regions``, ``start``, ``end``, ``session``, ``client``,
            ``lookup``, ``workers``; ``max_decompressed_bytes`` (per file, default 2 GiB) and
            ``max_record_bytes`` (per record, default 64 MiB): a file or record over its cap is a reject.

    Returns:
        The events frame (:mod:`ircreds.schema`): one row per record, re-deliveries dropped,
        sorted by ``eventTime`` (ties keep input order). ``evidence.file`` is the file path
        or ``s3://`` URL; ``evidence.line`` is the 1-based line number for JSON Lines and the
        0-based record index within the file (or iterable) otherwise.
        ``df.attrs["load_report"]`` holds the load report; ``records_read == events +
        duplicates + len(rejects)`` always. A whole file that cannot be read counts as one
        record read and one reject (``record`` None).

    Raises:
        SourceError: a missing path, an empty folder, nothing to load, an S3 or API access error.
        LogFormatError: with ``strict=True``, the first bad file or record.
    """
    if not sources and options.get("lookup") is None:
        raise SourceError(
            "nothing to load: pass paths, s3:// URLs, a boto3 CloudTrail client, lookup=..., or records"
        )
    plans = [(_sources.detect(source), source) for source in sources]
    if not sources:
        plans = [("lookup_api", None)]
    modules = {name: _sources.module(name) for name, _ in plans}
    valid = OPTIONS.union(*(m.OPTIONS for m in modules.values()))
    unknown = set(options) - valid
    if unknown:
        raise TypeError(
            f"unknown load option(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(valid))}"
        )
    limits = Limits.of(options)
    callback, close = _progress_callback(progress)
    collector = Collector(strict=strict, progress=callback, limits=limits)
    try:
        with _few_gc_passes():
            prepared = []
            for name, source in plans:
                prepare = getattr(modules[name], "prepare", None)
                picked = _pick(options, modules[name].OPTIONS)
                prepared.append(source if prepare is None else prepare(collector, source, **picked))
            for (name, _), source in zip(plans, prepared, strict=True):
                modules[name].load_into(collector, source, **_pick(options, modules[name].OPTIONS))
            frame = collector.finish()
    finally:
        close()
    if options.get("validate"):
        _add_integrity(frame, [s for s in sources if isinstance(s, str | os.PathLike)])
    return frame


def _add_integrity(frame: pd.DataFrame, paths: list[Any]) -> None:
    """``validate=True``: the digest validation of the local paths in the load report (``integrity``)."""
    add_integrity(frame.attrs["load_report"], paths)


def add_integrity(report: dict[str, Any], paths: list[Any]) -> None:
    """Validate the digests of the local ``paths`` into a load report (``integrity`` and a caveat)."""
    from ircreds.evidence.validation import validate_logs

    local = [p for p in paths if not str(p).startswith("s3://") and Path(p).exists()]
    if not local:
        report["integrity"] = None
        report["caveats"].append("the digest files were not validated (no local files; use ircreds acquire)")
        return
    result = validate_logs(local)
    report["integrity"] = result.summary()
    if result.status == "no-digests":
        report["caveats"].append("no CloudTrail-Digest files: the log files' integrity could not be checked")
    elif not result.ok:
        report["caveats"].append(
            f"digest validation: {result.status}, {len(result.problems)} problem(s) (ircreds validate-logs)"
        )


@contextlib.contextmanager
def _few_gc_passes() -> Iterator[None]:
    """Raise the cyclic GC's first threshold while loading, and put the caller's thresholds back."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_THRESHOLD0), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _pick(options: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in names}


def save(df: pd.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write an events frame to parquet; ``load(path)`` reads it back with identical dtypes.

    An existing file is never replaced by accident: ``overwrite=True`` replaces an earlier saved frame,
    and nothing replaces a file that is not one (a CloudTrail log, any other evidence).

    Args:
        df: the events frame.
        path: the parquet file to write (its folder is created when missing).
        overwrite: replace an existing saved frame at ``path``.

    Raises:
        SourceError: ``path`` exists, and ``overwrite`` is false or it is not a saved frame.

    Example:
        >>> import tempfile
        >>> frame = empty_events()
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     first = save(frame, Path(folder) / "events.parquet")
        ...     try:
        ...         save(frame, first)
        ...     except SourceError as err:
        ...         print("refused:", "exists" in str(err))
        refused: True
    """
    out = Path(path)
    if out.exists():
        is_frame = out.is_file() and parquet.detect(out)
        if not is_frame:
            raise SourceError(
                f"{out} exists and is not a saved events frame (evidence or another file): it is never "
                "replaced; save the frame to a new file"
            )
        if not overwrite:
            raise SourceError(f"{out} exists; save to a new file, or pass overwrite=True to replace it")
        return parquet.save(df, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:  # exclusive create: a file that appeared since the check is not replaced either
        with open(out, "xb") as fh:
            parquet.write(df, fh)
    except FileExistsError:
        raise SourceError(f"{out} exists; save to a new file, or pass overwrite=True to replace it") from None
    return out


__all__ = ["Collector", "LoadProgress", "empty_events", "load", "save"]


def find_redeliveries(table: pa.Table) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Re-deliveries to drop and eventID collisions of rows in input order (``SCHEMA`` table).

    The rule ``load`` applies, for stores that hold rows outside memory (the case store).
    """
    return _redeliveries(table)
