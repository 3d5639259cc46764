"""Evidence integrity: hashes of every file loaded and CloudTrail-Digest validation, offline.

Two questions an auditor asks about a report, answered from the files alone:

* which files exactly was it built from? (:func:`evidence_files`: SHA-256 of the bytes as stored,
  SHA-256 of the uncompressed content, size, and the time range of the events each file holds);
* were the CloudTrail files changed or deleted since AWS delivered them? (:func:`validate_digests`:
  each log file's hex SHA-256 of its UNCOMPRESSED content against ``logFiles[].hashValue`` of the
  digests present, digest chain continuity through ``previousDigestS3Object`` /
  ``previousDigestHashValue``, and gaps in the chain; aws-facts §4.2).

What this module cannot do offline, and says so in every result: check the RSA signatures
(``SHA256withRSA``). The newest digest's signature lives only in the S3 object metadata
(``x-amz-meta-signature``, lost on download) and the public keys come from CloudTrail's
``ListPublicKeys``; use ``aws cloudtrail validate-logs`` while the files are still in S3.

Pure core: reads only the local files it is given, never the network or the clock.

Example:
    >>> result = check([])
    >>> result.status, result.signatures_verified
    ('no-digests', False)
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

try:  # isal's gzip is several times faster and byte-identical; stdlib gzip is the fallback.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a core dependency of the loader
    _gzip = gzip  # type: ignore[assignment]

log = logging.getLogger(__name__)

SIGNATURE_NOTE = (
    "RSA signatures (SHA256withRSA) were not checked: offline validation needs each digest's "
    "x-amz-meta-signature S3 metadata (lost when a file is downloaded) and CloudTrail's public keys "
    "(ListPublicKeys); run `aws cloudtrail validate-logs` while the files are still in S3, or keep the "
    "metadata when collecting. Hashes and chain links below are checked; they prove the files match the "
    "digests present, not that the digests themselves are AWS's."
)
_EVIDENCE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".gz", ".parquet")
_DIGEST_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail-Digest_(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<trail>.+)_"
    r"(?P<home>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<end>\d{8}T\d{6}Z)\.json(?:\.gz)?$"
)
_CHUNK = 1 << 20


class Status(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    START = "start"


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
            "first_event": _iso(self.first_event),
            "last_event": _iso(self.last_event),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFileCheck:
    """One ``logFiles[]`` entry of a digest compared with the local copy (``path`` None: not present)."""

    s3_object: str
    path: str | None
    expected: str
    actual: str | None
    status: Status
    digest: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "s3_object": self.s3_object,
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "status": str(self.status),
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestCheck:
    """One digest file: its window, its log files, and its link to the previous digest.

    ``previous_status`` is ``start`` for a chain start (null ``previous*`` fields), ``ok`` when the
    previous digest is present and hashes to ``previousDigestHashValue``, ``mismatch`` when it does not,
    ``missing`` when it is not among the evidence.
    """

    path: str
    s3_object: str
    chain: str
    start: datetime | None
    end: datetime | None
    log_files: tuple[LogFileCheck, ...]
    previous_s3_object: str | None
    previous_status: Status
    previous_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "s3_object": self.s3_object,
            "chain": self.chain,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "log_files": [c.to_dict() for c in self.log_files],
            "previous_s3_object": self.previous_s3_object,
            "previous_status": str(self.previous_status),
            "previous_path": self.previous_path,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainGap:
    """A stretch of time no digest present covers, inside one chain (account, region, trail)."""

    chain: str
    after: datetime | None
    before: datetime | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "chain": self.chain,
            "after": _iso(self.after),
            "before": _iso(self.before),
            "reason": self.reason,
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


def is_digest(path: str | os.PathLike[str]) -> bool:
    """True for a CloudTrail-Digest file (by its delivery name or its folder).

    Example:
        >>> is_digest("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/20/x.json.gz")
        True
    """
    text = Path(path).as_posix()
    return "_CloudTrail-Digest_" in Path(path).name or "/CloudTrail-Digest/" in text


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
) -> tuple[EvidenceFile, ...]:
    """Hash every evidence file under ``paths``; take each file's time range from ``events``.

    ``events`` is the events frame of :func:`ircreds.load` (``evidence.file`` and ``eventTime``
    columns); without it, log files have no record count or time range. Digest files get their
    ``digestStartTime``..``digestEndTime`` window. ``exclude`` names files that are not evidence
    (e.g. the ones the loader skipped as not CloudTrail). A file that cannot be read (removed or
    unreadable since it was listed) is left out with a warning, and its message appended to ``errors``.
    """
    ranges = _ranges_by_file(events)
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
            doc = _read_json(path)
            if _docs is not None:  # parsed once, reused by validate_digests
                _docs[str(path)] = doc
            if isinstance(doc, Mapping):
                first, last = _parse_time(doc.get("digestStartTime")), _parse_time(doc.get("digestEndTime"))
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
    :func:`evidence_files`) to reuse hashes already computed.
    """
    if files is None:
        files = evidence_files(paths)
    by_path = {f.path: f for f in files}
    logs = [f for f in files if f.kind == "log"]
    digest_files = [f for f in files if f.kind == "digest"]
    log_index = _tail_index(f.path for f in logs)
    digest_index = _tail_index(f.path for f in digest_files)
    errors = list(errors)

    parsed: list[tuple[EvidenceFile, Mapping[str, Any]]] = []
    for f in digest_files:
        doc = _docs[f.path] if _docs is not None and f.path in _docs else _read_json(Path(f.path))
        if not isinstance(doc, Mapping) or "logFiles" not in doc:
            errors.append(f"{f.path}: not a CloudTrail digest (no logFiles); not checked")
            continue
        parsed.append((f, doc))

    listed: set[str] = set()
    checks: list[DigestCheck] = []
    for f, doc in parsed:
        s3_object = str(doc.get("digestS3Object") or Path(f.path).name)
        log_checks = []
        for entry in doc.get("logFiles") or ():
            key = str(entry.get("s3Object", ""))
            expected = str(entry.get("hashValue", "")).lower()
            local = _find(log_index, key)
            if local is None:
                log_checks.append(
                    LogFileCheck(
                        s3_object=key,
                        path=None,
                        expected=expected,
                        actual=None,
                        status=Status.MISSING,
                        digest=f.path,
                    )
                )
                continue
            listed.add(local)
            actual = by_path[local].sha256_uncompressed
            if actual is None:
                status = Status.UNREADABLE
            else:
                status = Status.OK if actual == expected else Status.MISMATCH
            log_checks.append(
                LogFileCheck(
                    s3_object=key, path=local, expected=expected, actual=actual, status=status, digest=f.path
                )
            )
        prev_key = doc.get("previousDigestS3Object") or None
        prev_path = None
        if not prev_key:
            prev_status = Status.START
        else:
            prev_path = _find(digest_index, str(prev_key))
            if prev_path is None:
                prev_status = Status.MISSING
            else:
                actual = by_path[prev_path].sha256_uncompressed
                expected = str(doc.get("previousDigestHashValue") or "").lower()
                prev_status = Status.OK if actual is not None and actual == expected else Status.MISMATCH
        checks.append(
            DigestCheck(
                path=f.path,
                s3_object=s3_object,
                chain=_chain_name(doc, s3_object),
                start=_parse_time(doc.get("digestStartTime")),
                end=_parse_time(doc.get("digestEndTime")),
                log_files=tuple(log_checks),
                previous_s3_object=str(prev_key) if prev_key else None,
                previous_status=prev_status,
                previous_path=prev_path,
            )
        )
        for c in log_checks:
            if c.status is Status.MISMATCH:
                log.warning("log file %s does not match digest %s", c.path, f.path)

    checks.sort(key=lambda d: (d.chain, d.end or datetime.min.replace(tzinfo=UTC)))
    unlisted = tuple(f.path for f in logs if f.path not in listed) if checks else ()
    return IntegrityResult(
        files=tuple(files),
        digests=tuple(checks),
        gaps=_gaps(checks),
        unlisted=unlisted,
        errors=tuple(errors),
        skipped=tuple(skipped),
    )


def check(
    paths: Iterable[str | os.PathLike[str]],
    *,
    events: Any = None,
) -> IntegrityResult:
    """Hash every evidence file under ``paths`` and validate the digests among them (one call).

    With ``events`` from :func:`ircreds.load`, the files its load report skipped as not CloudTrail
    (other than digests) are left out of the evidence and listed in ``skipped`` with the reason.

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
    files = evidence_files(paths, events=events, exclude=[p for p, _ in skipped], errors=errors, _docs=docs)
    return validate_digests(paths, files=files, skipped=skipped, errors=errors, _docs=docs)


def _gaps(checks: Sequence[DigestCheck]) -> tuple[ChainGap, ...]:
    gaps: list[ChainGap] = []
    by_chain: dict[str, list[DigestCheck]] = {}
    for d in checks:
        by_chain.setdefault(d.chain, []).append(d)
    for chain, items in by_chain.items():
        for prev, cur in itertools.pairwise(items):
            if cur.previous_status is Status.START:
                gaps.append(
                    ChainGap(
                        chain=chain,
                        after=prev.end,
                        before=cur.start,
                        reason="the chain restarts (no previous digest): logging or validation was "
                        "stopped or re-enabled in between",
                    )
                )
            elif cur.previous_path != prev.path:
                gaps.append(
                    ChainGap(
                        chain=chain,
                        after=prev.end,
                        before=cur.start,
                        reason=f"previous digest {cur.previous_s3_object} is not among the evidence",
                    )
                )
            elif prev.end and cur.start and cur.start > prev.end:
                gaps.append(
                    ChainGap(
                        chain=chain, after=prev.end, before=cur.start, reason="no digest covers this window"
                    )
                )
        first = items[0]
        if first.previous_status is Status.MISSING:
            gaps.append(
                ChainGap(
                    chain=chain,
                    after=None,
                    before=first.start,
                    reason=f"earlier digests (from {first.previous_s3_object}) are not among the evidence",
                )
            )
    return tuple(gaps)


def _chain_name(doc: Mapping[str, Any], s3_object: str) -> str:
    match = _DIGEST_NAME.match(Path(s3_object).name)
    if match:
        return f"{match['account']}/{match['region']}/{match['trail']}"
    account = doc.get("awsAccountId", "?")
    region = _region_from_key(s3_object) or "?"
    return f"{account}/{region}/{doc.get('digestS3Bucket', '?')}"


def _region_from_key(key: str) -> str | None:
    parts = key.split("/")
    if "CloudTrail-Digest" in parts:
        i = parts.index("CloudTrail-Digest")
        if i + 1 < len(parts):
            return parts[i + 1]
    return None


def _tail_index(paths: Iterable[str]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for p in paths:
        index.setdefault(Path(p).name, []).append(p)
    return index


def _find(index: Mapping[str, list[str]], s3_key: str) -> str | None:
    """The local path for an S3 key: same file name, longest matching path tail wins."""
    candidates = index.get(Path(s3_key).name)
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    key_parts = Path(s3_key).parts

    def score(local: str) -> int:
        n = 0
        for a, b in zip(reversed(Path(local).resolve().parts), reversed(key_parts), strict=False):
            if a != b:
                break
            n += 1
        return n

    return max(candidates, key=score)


def _read_json(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        if gz:
            with _gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
        return json.loads(data)
    except (OSError, EOFError, ValueError) as err:
        log.warning("cannot read %s as JSON: %s", path, err)
        return None


def _parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
