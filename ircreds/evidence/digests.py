"""CloudTrail-Digest files: parse them and validate the chain they form, offline (aws-facts §4.2).

Each log file's hex SHA-256 of its UNCOMPRESSED content is checked against ``logFiles[].hashValue``
of the digests present, each digest's link to the previous one through ``previousDigestS3Object`` /
``previousDigestHashValue``, and the gaps in each chain (account, region, trail) are listed.
:func:`ircreds.evidence.integrity.check` hashes the evidence files and calls :func:`validate_chain`; use that.

What this module cannot do offline: check the RSA signatures (see :data:`SIGNATURE_NOTE`).

Pure core: reads only the local files it is given, never the network or the clock.

Example:
    >>> chain = validate_chain([])
    >>> chain.digests, chain.gaps, chain.unlisted
    ((), (), ())
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ircreds.times import iso_z, parse_iso

try:  # isal's gzip is several times faster and byte-identical; stdlib gzip is the fallback.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a core dependency of the loader
    _gzip = gzip  # type: ignore[assignment]

log = logging.getLogger(__name__)

SIGNATURE_NOTE = (
    "RSA signatures (SHA256withRSA) were not checked here: this check compares hashes and chain links, "
    "which prove the files match the digests present, not that the digests are AWS's. "
    "`ircreds validate-logs` (ircreds.integrity.validate_logs) checks the signatures with CloudTrail's (ListPublicKeys) "
    "public keys; the newest digest's needs its x-amz-meta-signature S3 metadata, which `ircreds acquire` keeps."
)
_DIGEST_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail-Digest_(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<trail>.+)_"
    r"(?P<home>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<end>\d{8}T\d{6}Z)\.json(?:\.gz)?$"
)


class Status(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    MISMATCH = "mismatch"
    MISSING = "missing"
    UNREADABLE = "unreadable"
    START = "start"


class HashedFile(Protocol):
    """What :func:`validate_chain` needs of an evidence file (:class:`ircreds.evidence.integrity.EvidenceFile`)."""

    @property
    def path(self) -> str:
        """Local path, as listed."""

    @property
    def kind(self) -> str:
        """``log`` or ``digest``."""

    @property
    def sha256_uncompressed(self) -> str | None:
        """SHA-256 of the gunzipped content (None if it could not be read)."""


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
            "start": iso_z(self.start),
            "end": iso_z(self.end),
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
            "after": iso_z(self.after),
            "before": iso_z(self.before),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainValidation:
    """What :func:`validate_chain` found: digest checks (sorted by chain, then end), gaps, unlisted logs.

    ``errors`` holds only the problems found here (a digest that is not one); ``unlisted`` names the
    log files no digest present lists, and is empty when there are no digests.
    """

    digests: tuple[DigestCheck, ...]
    gaps: tuple[ChainGap, ...]
    unlisted: tuple[str, ...]
    errors: tuple[str, ...] = ()


def is_digest(path: str | os.PathLike[str]) -> bool:
    """True for a CloudTrail-Digest file (by its delivery name or its folder).

    Example:
        >>> is_digest("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2025/01/20/x.json.gz")
        True
    """
    text = Path(path).as_posix()
    return "_CloudTrail-Digest_" in Path(path).name or "/CloudTrail-Digest/" in text


def validate_chain(
    files: Sequence[HashedFile],
    *,
    docs: Mapping[str, Any] | None = None,
) -> ChainValidation:
    """Check the digest files among ``files`` against the log files among them.

    Every log file listed by a digest present is looked up by its S3 key (matched on the local
    path's tail, so a downloaded ``AWSLogs/...`` tree works from any folder) and its uncompressed
    SHA-256 compared with ``hashValue``. Each digest's ``previousDigestHashValue`` is compared with the
    previous digest's uncompressed SHA-256, when that digest is present. ``docs`` maps a digest's path
    to its already parsed JSON; a digest not in it is read from disk.

    Example:
        >>> validate_chain([]).digests
        ()
    """
    by_path = {f.path: f for f in files}
    logs = [f for f in files if f.kind == "log"]
    digest_files = [f for f in files if f.kind == "digest"]
    log_index = _tail_index(f.path for f in logs)
    digest_index = _tail_index(f.path for f in digest_files)
    errors: list[str] = []

    parsed: list[tuple[HashedFile, Mapping[str, Any]]] = []
    for f in digest_files:
        doc = docs[f.path] if docs is not None and f.path in docs else read_json(Path(f.path))
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
                start=parse_iso(doc.get("digestStartTime")),
                end=parse_iso(doc.get("digestEndTime")),
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
    return ChainValidation(digests=tuple(checks), gaps=_gaps(checks), unlisted=unlisted, errors=tuple(errors))


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


def read_json(path: Path) -> Any:
    """The parsed JSON of a (possibly gzipped) file, or None with a warning if it cannot be read."""
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


#: The 0.1 names of :func:`ircreds.times.parse_iso` and :func:`ircreds.times.iso_z`.
parse_time = parse_iso
iso_utc = iso_z
