"""Evidence integrity: hashes of every file loaded and CloudTrail-Digest validation, offline.

Two questions an auditor asks about a report, answered from the files alone:

* which files exactly was it built from? (:func:`evidence_files`: SHA-256 of the bytes as stored,
  SHA-256 of the uncompressed content, size, and the time range of the events each file holds);
* were the CloudTrail files changed or deleted since AWS delivered them? (:func:`validate_digests`:
  each log file's hex SHA-256 of its UNCOMPRESSED content against ``logFiles[].hashValue`` of the
  digests present, digest chain continuity through ``previousDigestS3Object`` /
  ``previousDigestHashValue``, and gaps in the chain; aws-facts §4.2).

This module holds the evidence files and the one-call :func:`check`; digest parsing and chain
validation live in :mod:`ircreds.evidence.digests`, whose public names are re-exported here.

The RSA signatures (``SHA256withRSA``) are checked by :func:`validate_logs`
(:mod:`ircreds.evidence.validation`, re-exported here), which also judges every file and digest; this
module's :func:`check` says in every result that it does not.

Pure core: reads only the local files it is given, never the network or the clock.

Example:
    >>> result = check([])
    >>> result.status, result.signatures_verified
    ('no-digests', False)
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ircreds.evidence.digests import (
    SIGNATURE_NOTE,
    ChainGap,
    DigestCheck,
    LogFileCheck,
    Status,
    is_digest,
    read_json,
    validate_chain,
)
from ircreds.times import iso_z, parse_iso

try:  # isal's gzip is several times faster and byte-identical; stdlib gzip is the fallback.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a core dependency of the loader
    _gzip = gzip  # type: ignore[assignment]

__all__ = [
    "SIGNATURE_NOTE",
    "ChainGap",
    "DigestCheck",
    "EvidenceFile",
    "IntegrityResult",
    "LogFileCheck",
    "Status",
    "check",
    "evidence_files",
    "hash_file",
    "is_digest",
    "iter_evidence_paths",
    "validate_digests",
]

log = logging.getLogger(__name__)

_EVIDENCE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".gz", ".parquet")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceFile:
    """One file of evidence: where it is, what it hashes to, what it covers.

    ``sha256`` hashes the bytes as stored (what ``sha256sum`` prints); ``sha256_uncompressed`` hashes
    the gunzipped content (what CloudTrail digests list), equal to ``sha256`` for uncompressed files.
    ``first_event``/``last_event`` are the file's event time range (for a digest: its delivery window).
    """

    path: str
    kind: str
    size: int
    sha256: str
    sha256_uncompressed: str | None
    records: int | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("first_event", "last_event"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (times ISO 8601 UTC with ``Z``)."""
        return {
            "path": self.path,
            "kind": self.kind,
            "size": self.size,
            "sha256": self.sha256,
            "sha256_uncompressed": self.sha256_uncompressed,
            "records": self.records,
            "first_event": iso_z(self.first_event),
            "last_event": iso_z(self.last_event),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrityResult:
    """Everything :func:`check` found; ``status`` sums it up in one word.

    ``status`` is ``valid`` (every digest link and log-file hash checks and every log file present is
    listed by a digest), ``incomplete`` (nothing contradicts the digests, but some files or links are
    missing or unlisted), ``invalid`` (a hash differs: a file changed since delivery) or ``no-digests``.
    """

    files: tuple[EvidenceFile, ...]
    digests: tuple[DigestCheck, ...]
    gaps: tuple[ChainGap, ...]
    unlisted: tuple[str, ...]
    signatures_verified: bool = False
    signature_note: str = SIGNATURE_NOTE
    errors: tuple[str, ...] = field(default=())
    skipped: tuple[tuple[str, str], ...] = field(default=())

    @property
    def log_checks(self) -> tuple[LogFileCheck, ...]:
        """Every log-file check of every digest."""
        return tuple(c for d in self.digests for c in d.log_files)

    @property
    def counts(self) -> dict[str, int]:
        """How many log-file checks and digest links ended in each status, plus the totals."""
        out: dict[str, int] = {
            "files": len(self.files),
            "digests": len(self.digests),
            "log_files_listed": len(self.log_checks),
            "gaps": len(self.gaps),
            "unlisted": len(self.unlisted),
        }
        for status in Status:
            out[f"log_{status}"] = sum(1 for c in self.log_checks if c.status is status)
            out[f"link_{status}"] = sum(1 for d in self.digests if d.previous_status is status)
        return out

    @property
    def status(self) -> str:
        """``valid``, ``incomplete``, ``invalid`` or ``no-digests`` (see the class docstring)."""
        if not self.digests:
            return "no-digests"
        bad = (Status.MISMATCH, Status.UNREADABLE)
        if any(c.status in bad for c in self.log_checks) or any(
            d.previous_status in bad for d in self.digests
        ):
            return "invalid"
        if (
            self.gaps
            or self.unlisted
            or self.errors
            or any(c.status is Status.MISSING for c in self.log_checks)
            or any(d.previous_status is Status.MISSING for d in self.digests)
        ):
            return "incomplete"
        return "valid"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's evidence appendix)."""
        return {
            "status": self.status,
            "counts": self.counts,
            "signatures_verified": self.signatures_verified,
            "signature_note": self.signature_note,
            "files": [f.to_dict() for f in self.files],
            "digests": [d.to_dict() for d in self.digests],
            "gaps": [g.to_dict() for g in self.gaps],
            "unlisted": list(self.unlisted),
            "errors": list(self.errors),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


# --------------------------------------------------------------------------------------------- files


def iter_evidence_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every evidence file under ``paths`` (files as given, folders walked in sorted order).

    Example:
        >>> list(iter_evidence_paths([]))
        []
    """
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _is_evidence_name(p.name) and p.is_file())
        elif path.is_file():
            found = [path]
        else:
            log.warning("evidence path %s does not exist; skipped", path)
            continue
        root = os.path.realpath(path)
        prefix = len(str(path))
        for p in found:
            key = root + str(p)[prefix:]  # resolve the root once, not every file (symlinks inside stay)
            if key not in seen:
                seen.add(key)
                yield p


def _is_evidence_name(name: str) -> bool:
    return name.endswith(_EVIDENCE_SUFFIXES) and not name.startswith(".")


def hash_file(path: str | os.PathLike[str]) -> tuple[int, str, str | None]:
    """Size, SHA-256 of the stored bytes, and SHA-256 of the gunzipped content (None if it fails).

    For a file that is not gzip the two hashes are equal.
    """
    path = Path(path)
    raw = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        while chunk := fh.read(_CHUNK):
            raw.update(chunk)
            size += len(chunk)
    if head != b"\x1f\x8b":
        return size, raw.hexdigest(), raw.hexdigest()
    plain = hashlib.sha256()
    try:
        with _gzip.open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                plain.update(chunk)
    except (OSError, EOFError) as err:
        log.warning("cannot gunzip %s to hash its content: %s", path, err)
        return size, raw.hexdigest(), None
    return size, raw.hexdigest(), plain.hexdigest()


def evidence_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    events: Any = None,
    exclude: Iterable[str] = (),
    errors: list[str] | None = None,
    _docs: dict[str, Any] | None = None,
    ranges: Mapping[str, tuple[int, datetime, datetime]] | None = None,
) -> tuple[EvidenceFile, ...]:
    """Hash every evidence file under ``paths``; take each file's time range from ``events``.

    ``events`` is the events frame of :func:`ircreds.load` (``evidence.file`` and ``eventTime``
    columns); without it, log files have no record count or time range. Digest files get their
    ``digestStartTime``..``digestEndTime`` window. ``exclude`` names files that are not evidence
    (e.g. the ones the loader skipped as not CloudTrail). A file that cannot be read (removed or
    unreadable since it was listed) is left out with a warning, and its message appended to ``errors``.
    ``ranges`` (``{file: (records, first, last)}``) replaces ``events`` when the rows are not in
    memory (a case store computes it in SQL).
    """
    ranges = _ranges_by_file(events) if ranges is None else ranges
    excluded = {os.path.abspath(p) for p in exclude}
    out = []
    for path in iter_evidence_paths(paths):
        if excluded and os.path.abspath(path) in excluded:
            continue
        try:
            size, sha, plain = hash_file(path)
        except OSError as err:
            log.warning("cannot read evidence file %s: %s", path, err.strerror or err)
            if errors is not None:
                errors.append(f"{path}: cannot be read ({err.strerror or err}); not hashed")
            continue
        first = last = None
        records = None
        if is_digest(path):
            kind = "digest"
            doc = read_json(path)
            if _docs is not None:  # parsed once, reused by validate_digests
                _docs[str(path)] = doc
            if isinstance(doc, Mapping):
                first, last = parse_iso(doc.get("digestStartTime")), parse_iso(doc.get("digestEndTime"))
        else:
            kind = "log"
            hit = _lookup_range(ranges, path)
            if hit is not None:
                records, first, last = hit
        out.append(
            EvidenceFile(
                path=str(path),
                kind=kind,
                size=size,
                sha256=sha,
                sha256_uncompressed=plain,
                records=records,
                first_event=first,
                last_event=last,
            )
        )
    return tuple(out)


def _ranges_by_file(events: Any) -> dict[str, tuple[int, datetime, datetime]]:
    if events is None or len(events) == 0 or "evidence.file" not in getattr(events, "columns", ()):
        return {}
    grouped = events.groupby("evidence.file", observed=True, sort=False)["eventTime"].agg(
        ["size", "min", "max"]
    )
    out: dict[str, tuple[int, datetime, datetime]] = {}
    for name, row in grouped.iterrows():
        first, last = row["min"], row["max"]
        out[str(name)] = (
            int(row["size"]),
            first.to_pydatetime() if hasattr(first, "to_pydatetime") else first,
            last.to_pydatetime() if hasattr(last, "to_pydatetime") else last,
        )
    return out


def _lookup_range(ranges: Mapping[str, tuple[int, datetime, datetime]], path: Path) -> Any:
    if not ranges:
        return None
    if str(path) in ranges:
        return ranges[str(path)]
    resolved = path.resolve()
    if str(resolved) in ranges:
        return ranges[str(resolved)]
    for name, value in ranges.items():  # evidence.file may be relative, or an s3:// key
        other = Path(name)
        if other.name == path.name and (
            str(resolved).endswith(other.as_posix().lstrip("./")) or name.endswith(path.as_posix())
        ):
            return value
    return None


# ------------------------------------------------------------------------------------------- digests


def validate_digests(
    paths: Iterable[str | os.PathLike[str]],
    *,
    files: Sequence[EvidenceFile] | None = None,
    skipped: Sequence[tuple[str, str]] = (),
    errors: Sequence[str] = (),
    _docs: Mapping[str, Any] | None = None,
) -> IntegrityResult:
    """Check the CloudTrail-Digest files under ``paths`` against the log files there.

    Every log file listed by a digest present is looked up by its S3 key (matched on the local
    path's tail, so a downloaded ``AWSLogs/...`` tree works from any folder) and its uncompressed
    SHA-256 compared with ``hashValue``. Each digest's ``previousDigestHashValue`` is compared with the
    previous digest's uncompressed SHA-256, when that digest is present. Pass ``files`` (from
    :func:`evidence_files`) to reuse hashes already computed. The checks themselves are
    :func:`ircreds.evidence.digests.validate_chain`.
    """
    if files is None:
        files = evidence_files(paths)
    chain = validate_chain(files, docs=_docs)
    return IntegrityResult(
        files=tuple(files),
        digests=chain.digests,
        gaps=chain.gaps,
        unlisted=chain.unlisted,
        errors=(*errors, *chain.errors),
        skipped=tuple(skipped),
    )


def check(
    paths: Iterable[str | os.PathLike[str]],
    *,
    events: Any = None,
    ranges: Mapping[str, tuple[int, datetime, datetime]] | None = None,
) -> IntegrityResult:
    """Hash every evidence file under ``paths`` and validate the digests among them (one call).

    With ``events`` from :func:`ircreds.load`, the files its load report skipped as not CloudTrail
    (other than digests) are left out of the evidence and listed in ``skipped`` with the reason.
    ``ranges`` gives each log file's record count and time range when ``events`` holds only some rows.

    Example:
        >>> check([]).to_dict()["status"]
        'no-digests'
    """
    paths = list(paths)
    report = getattr(events, "attrs", {}).get("load_report") or {}
    skipped = [
        (str(item.get("file") or item.get("path")), str(item.get("reason", "")))
        for item in report.get("files_skipped") or ()
        if isinstance(item, Mapping) and item.get("reason") != "digest"
    ]
    errors: list[str] = []
    docs: dict[str, Any] = {}
    files = evidence_files(
        paths, events=events, exclude=[p for p, _ in skipped], errors=errors, _docs=docs, ranges=ranges
    )
    return validate_digests(paths, files=files, skipped=skipped, errors=errors, _docs=docs)


_VALIDATION_NAMES = frozenset(
    {"DigestVerdict", "FileStatus", "FileVerdict", "IntegrityReport", "SignatureStatus", "validate_logs"}
)


def __getattr__(name: str) -> Any:
    """``validate_logs`` and its records live in :mod:`ircreds.evidence.validation` (which imports this module)."""
    if name in _VALIDATION_NAMES:
        from ircreds.evidence import validation

        return getattr(validation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
