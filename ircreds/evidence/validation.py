"""``validate_logs``: prove CloudTrail evidence with its signed digest chain, offline.

What ``aws cloudtrail validate-logs`` checks, on a copy of the files (``ircreds acquire`` keeps what a
plain download loses) and with the gaps it does not report:

* every digest's SHA256withRSA signature over CloudTrail's signing string
  (:mod:`ircreds.evidence.signatures`), with the public key whose fingerprint the digest names. The
  signature of a digest is the next digest's ``previousDigestSignature``; the newest one of each chain
  needs its ``x-amz-meta-signature`` S3 metadata, which ``manifest.json`` keeps;
* the chain: each digest's ``previousDigestHashValue`` against the previous digest's hash, digests
  missing from the chain, gaps in time, restarts;
* every log file's SHA-256 (uncompressed) against ``hashValue``; log files listed but missing from the
  evidence; log files present that no digest lists; a digest that lists no file for an hour when log
  files present say (by their names) they were delivered in it.

Public keys come from ``public-keys.json`` (``ListPublicKeys`` output) found with the evidence and from
``public_keys=``. A key file that travels with the evidence proves only that the files match it: pass
CloudTrail's own keys (``aws cloudtrail list-public-keys``) to prove they are AWS's.

Example:
    >>> report = validate_logs([])
    >>> report.status, report.ok
    ('no-digests', False)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ircreds.evidence import signatures as sig
from ircreds.evidence.digests import ChainGap, Status, iso_utc, parse_time, validate_chain
from ircreds.evidence.integrity import EvidenceFile, evidence_files

log = logging.getLogger(__name__)

_LOG_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_(?P<when>\d{8}T\d{4})Z_[A-Za-z0-9]+"
    r"\.json(?:\.gz)?$"
)


class FileStatus(StrEnum):
    """What became of one log file."""

    VALID = "valid"
    MODIFIED = "modified"
    MISSING = "missing"
    NOT_COVERED = "not-covered"
    UNREADABLE = "unreadable"


class SignatureStatus(StrEnum):
    """What the RSA check of one digest found."""

    VALID = "valid"
    INVALID = "invalid"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileVerdict:
    """One log file: listed by ``digest`` (None: by no digest), found at ``path`` (None: missing)."""

    s3_object: str
    path: str | None
    status: FileStatus
    digest: str | None = None
    expected: str | None = None
    actual: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "s3_object": self.s3_object,
            "path": self.path,
            "status": str(self.status),
            "digest": self.digest,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestVerdict:
    """One digest: its signature, its link to the previous digest, and the files of its hour."""

    path: str
    s3_object: str
    chain: str
    start: datetime | None
    end: datetime | None
    signature: SignatureStatus
    signature_reason: str | None
    signature_source: str | None
    fingerprint: str | None
    previous: str
    log_files: int
    unlisted_in_window: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "s3_object": self.s3_object,
            "chain": self.chain,
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "signature": str(self.signature),
            "signature_reason": self.signature_reason,
            "signature_source": self.signature_source,
            "fingerprint": self.fingerprint,
            "previous": self.previous,
            "log_files": self.log_files,
            "unlisted_in_window": list(self.unlisted_in_window),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrityReport:
    """Everything :func:`validate_logs` found; ``status`` and ``problems`` sum it up.

    ``status``: ``valid`` (every signature verifies, every link and hash checks, every file present is
    listed and every listed file present, no gap), ``invalid`` (something contradicts the digests: a
    changed file, a bad signature, a broken link), ``incomplete`` (nothing contradicts them, but
    something cannot be proven: a missing file or digest, an unverifiable signature, a gap, an empty
    digest for an hour with files) or ``no-digests``. ``ok`` is ``status == "valid"``.
    """

    paths: tuple[str, ...]
    files: tuple[FileVerdict, ...]
    digests: tuple[DigestVerdict, ...]
    gaps: tuple[ChainGap, ...]
    chain_starts: tuple[ChainGap, ...]
    public_keys: tuple[str, ...]
    key_sources: tuple[str, ...]
    errors: tuple[str, ...] = field(default=())

    @property
    def counts(self) -> dict[str, int]:
        """Files by status, digests by signature status, gaps, empty digests."""
        out = {f"files_{s}".replace("-", "_"): 0 for s in FileStatus}
        for f in self.files:
            out[f"files_{f.status}".replace("-", "_")] += 1
        for s in SignatureStatus:
            out[f"signatures_{s}"] = sum(1 for d in self.digests if d.signature is s)
        out["digests"] = len(self.digests)
        out["links_broken"] = sum(1 for d in self.digests if d.previous in ("mismatch", "missing"))
        out["gaps"] = len(self.gaps)
        out["empty_digests_with_files"] = sum(1 for d in self.digests if d.unlisted_in_window)
        return out

    @property
    def status(self) -> str:
        """``valid``, ``invalid``, ``incomplete`` or ``no-digests`` (see the class docstring)."""
        if not self.digests:
            return "no-digests"
        if (
            any(f.status in (FileStatus.MODIFIED, FileStatus.UNREADABLE) for f in self.files)
            or any(d.signature is SignatureStatus.INVALID for d in self.digests)
            or any(d.previous == "mismatch" for d in self.digests)
        ):
            return "invalid"
        if (
            any(f.status is not FileStatus.VALID for f in self.files)
            or any(d.signature is not SignatureStatus.VALID for d in self.digests)
            or any(d.unlisted_in_window for d in self.digests)
            or self.gaps
            or self.errors
        ):
            return "incomplete"
        return "valid"

    @property
    def ok(self) -> bool:
        """True only when everything is proven (``status == "valid"``)."""
        return self.status == "valid"

    @property
    def problems(self) -> tuple[str, ...]:
        """One sentence per thing that is not valid, naming the file."""
        out: list[str] = []
        for f in self.files:
            if f.status is FileStatus.MODIFIED:
                out.append(
                    f"{f.path}: modified (SHA-256 {f.actual} is not {f.expected} listed by {f.digest})"
                )
            elif f.status is FileStatus.MISSING:
                out.append(f"{f.s3_object}: listed by {f.digest} but missing from the evidence")
            elif f.status is FileStatus.NOT_COVERED:
                out.append(f"{f.path}: no digest lists this log file")
            elif f.status is FileStatus.UNREADABLE:
                out.append(f"{f.path}: cannot be read to hash it")
        for d in self.digests:
            if d.signature is not SignatureStatus.VALID:
                out.append(f"{d.path}: signature {d.signature} ({d.signature_reason})")
            if d.previous == "mismatch":
                out.append(f"{d.path}: previousDigestHashValue does not match the previous digest")
            if d.unlisted_in_window:
                out.append(
                    f"{d.path}: lists no log file, yet {len(d.unlisted_in_window)} log file(s) present were "
                    f"delivered in its hour (first: {d.unlisted_in_window[0]})"
                )
        for g in self.gaps:
            out.append(f"{g.chain}: chain broken from {iso_utc(g.after)} to {iso_utc(g.before)} ({g.reason})")
        out.extend(self.errors)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``ircreds validate-logs --json``; the load and post-incident reports)."""
        return {
            "status": self.status,
            "ok": self.ok,
            "counts": self.counts,
            "problems": list(self.problems),
            "public_keys": list(self.public_keys),
            "key_sources": list(self.key_sources),
            "paths": list(self.paths),
            "digests": [d.to_dict() for d in self.digests],
            "files": [f.to_dict() for f in self.files],
            "gaps": [g.to_dict() for g in self.gaps],
            "chain_starts": [g.to_dict() for g in self.chain_starts],
            "errors": list(self.errors),
        }

    def summary(self) -> dict[str, Any]:
        """The short form the load report and ``scope`` carry: status, counts, the first problems."""
        problems = self.problems
        return {
            "status": self.status,
            "ok": self.ok,
            "counts": self.counts,
            "problems": list(problems[:20]),
            "problems_total": len(problems),
        }


def is_log_file(path: str | os.PathLike[str]) -> bool:
    """True for a CloudTrail log delivery file (by its delivery name or its ``/CloudTrail/`` folder).

    Example:
        >>> is_log_file("x/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/20/a.json.gz")
        True
        >>> is_log_file("answer_key.json")
        False
    """
    p = Path(path)
    return bool(_LOG_NAME.match(p.name)) or "/CloudTrail/" in p.as_posix()


def validate_logs(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    public_keys: str | os.PathLike[str] | Iterable[Any] | None = None,
    signatures: Mapping[str, str] | None = None,
    **s3: Any,
) -> IntegrityReport:
    """Validate the CloudTrail log and digest files under ``paths`` (files or folders, or one ``s3://`` URL).

    Args:
        paths: one path or several; or one ``s3://bucket/prefix``, copied first with
            :func:`ircreds.evidence.acquisition.acquire` into a temporary folder (its keyword arguments
            ``start``, ``end``, ``session``, ``accounts``, ``regions``, ``endpoint_url``, ``public_keys``
            go through; ``session`` defaults to the default credentials chain). Paths in the report are
            then ``s3://`` URLs.
        public_keys: a ``ListPublicKeys`` output file, several, or :class:`~ircreds.evidence.signatures.PublicKey`
            objects; added to the ``public-keys.json`` found with the evidence.
        signatures: ``{digest S3 key: x-amz-meta-signature}``, added to those of the ``manifest.json``
            found with the evidence.
        **s3: for an ``s3://`` URL only: the keyword arguments of ``acquire`` named above.
    """
    path_list = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    remote = [p for p in path_list if str(p).startswith("s3://")]
    if remote:
        if len(path_list) != 1:
            raise ValueError("validate_logs takes one s3:// URL alone (or local paths)")
        return _validate_s3(str(remote[0]), public_keys=public_keys, **s3)
    if s3:
        raise TypeError(f"unknown argument(s) {', '.join(sorted(s3))} (they are for an s3:// URL)")
    keys, key_sources = _keys(path_list, public_keys)
    meta = _signatures(path_list)
    if signatures:
        meta.update({k: (v, sig.SIGNATURE_ALGORITHM) for k, v in signatures.items()})
    errors: list[str] = []
    docs: dict[str, Any] = {}
    hashed = evidence_files(path_list, errors=errors, _docs=docs)
    files = [f for f in hashed if f.kind == "digest" or is_log_file(f.path)]
    chain = validate_chain(files, docs=docs)
    errors.extend(chain.errors)
    by_path = {f.path: f for f in files}
    # the digest that names each digest as its previous one carries its signature
    following = {d.previous_path: d.path for d in chain.digests if d.previous_path}
    logs_by_window = _logs_by_account_region(f for f in files if f.kind == "log")
    verdicts = []
    for d in chain.digests:
        doc = docs.get(d.path) or {}
        verdicts.append(
            _digest_verdict(
                d, doc, by_path[d.path], docs.get(following.get(d.path, "")), meta, keys, logs_by_window
            )
        )
    leading = tuple(g for g in chain.gaps if g.after is None)
    return IntegrityReport(
        paths=tuple(str(p) for p in path_list),
        files=_file_verdicts(chain),
        digests=tuple(verdicts),
        gaps=tuple(g for g in chain.gaps if g.after is not None),
        chain_starts=leading,
        public_keys=tuple(sorted({k.fingerprint for k in keys})),
        key_sources=tuple(key_sources),
        errors=tuple(errors),
    )


def _validate_s3(url: str, *, public_keys: Any = None, **kw: Any) -> IntegrityReport:
    """Acquire ``url`` into a temporary folder, validate it, and name the files by their S3 URLs."""
    import dataclasses
    import tempfile

    from ircreds.evidence.acquisition import acquire
    from ircreds.evidence.sources import s3 as s3_source

    if "start" not in kw or "end" not in kw:
        raise ValueError(f"{url}: give start= and end= (timezone-aware) to validate a window of an S3 trail")
    session = kw.pop("session", None) or s3_source.make_session(kw.pop("profile", None))
    bucket, _ = s3_source.parse_url(url)
    with tempfile.TemporaryDirectory(prefix="ircreds-validate-") as tmp:
        # the copy is temporary: its manifest's time is the window's end, not a custody record
        acquire(
            url,
            tmp,
            session=session,
            now=kw["end"],
            public_keys=public_keys if callable(public_keys) else None,
            **kw,
        )
        report = validate_logs(tmp, public_keys=None if callable(public_keys) else public_keys)
    prefix = str(Path(tmp)) + os.sep

    def rename(text: str | None) -> str | None:
        return None if text is None else text.replace(prefix, f"s3://{bucket}/")

    return dataclasses.replace(
        report,
        paths=(url,),
        files=tuple(
            dataclasses.replace(f, path=rename(f.path), digest=rename(f.digest)) for f in report.files
        ),
        digests=tuple(
            dataclasses.replace(
                d,
                path=rename(d.path) or d.path,
                unlisted_in_window=tuple(rename(p) or p for p in d.unlisted_in_window),
            )
            for d in report.digests
        ),
        key_sources=tuple(rename(k) or k for k in report.key_sources),
        errors=tuple(rename(e) or e for e in report.errors),
    )


def _file_verdicts(chain: Any) -> tuple[FileVerdict, ...]:
    rank = {Status.OK: 0, Status.MISSING: 1, Status.UNREADABLE: 2, Status.MISMATCH: 3}
    best: dict[str, Any] = {}
    for d in chain.digests:
        for c in d.log_files:
            key = c.path or c.s3_object
            if key not in best or rank[c.status] > rank[best[key].status]:
                best[key] = c
    status_of = {
        Status.OK: FileStatus.VALID,
        Status.MISMATCH: FileStatus.MODIFIED,
        Status.MISSING: FileStatus.MISSING,
        Status.UNREADABLE: FileStatus.UNREADABLE,
    }
    out = [
        FileVerdict(
            s3_object=c.s3_object,
            path=c.path,
            status=status_of[c.status],
            digest=c.digest,
            expected=c.expected,
            actual=c.actual,
        )
        for c in best.values()
    ]
    out.extend(
        FileVerdict(s3_object=Path(p).name, path=p, status=FileStatus.NOT_COVERED) for p in chain.unlisted
    )
    return tuple(sorted(out, key=lambda f: (f.path or "", f.s3_object)))


def _digest_verdict(
    d: Any,
    doc: Mapping[str, Any],
    hashed: EvidenceFile,
    next_doc: Mapping[str, Any] | None,
    meta: Mapping[str, tuple[str, str]],
    keys: Sequence[sig.PublicKey],
    logs_by_window: Mapping[tuple[str, str], list[tuple[datetime, str]]],
) -> DigestVerdict:
    status, reason, source, fpr = _check_signature(d, doc, hashed, next_doc, meta, keys)
    unlisted: tuple[str, ...] = ()
    if not d.log_files and d.start is not None and d.end is not None:
        account_region = _account_region(doc, d.s3_object)
        lo = d.start.replace(second=0, microsecond=0)
        unlisted = tuple(p for when, p in logs_by_window.get(account_region, ()) if lo <= when < d.end)
    return DigestVerdict(
        path=d.path,
        s3_object=d.s3_object,
        chain=d.chain,
        start=d.start,
        end=d.end,
        signature=status,
        signature_reason=reason,
        signature_source=source,
        fingerprint=fpr,
        previous=str(d.previous_status),
        log_files=len(d.log_files),
        unlisted_in_window=unlisted,
    )


def _check_signature(
    d: Any,
    doc: Mapping[str, Any],
    hashed: EvidenceFile,
    next_doc: Mapping[str, Any] | None,
    meta: Mapping[str, tuple[str, str]],
    keys: Sequence[sig.PublicKey],
) -> tuple[SignatureStatus, str | None, str | None, str | None]:
    fpr = str(doc.get("digestPublicKeyFingerprint") or doc.get("publicKeyFingerprint") or "").lower() or None
    algorithm = doc.get("digestSignatureAlgorithm")
    if algorithm != sig.SIGNATURE_ALGORITHM:
        return SignatureStatus.UNVERIFIABLE, f"digestSignatureAlgorithm is {algorithm!r}", None, fpr
    candidates: list[tuple[str, str]] = []
    if next_doc is not None and next_doc.get("previousDigestSignature"):
        candidates.append(("next digest", str(next_doc["previousDigestSignature"])))
    if d.s3_object in meta:
        value, meta_algorithm = meta[d.s3_object]
        if meta_algorithm and meta_algorithm != sig.SIGNATURE_ALGORITHM:
            return (
                SignatureStatus.UNVERIFIABLE,
                f"x-amz-meta-signature-algorithm is {meta_algorithm!r}",
                "S3 metadata",
                fpr,
            )
        candidates.append(("S3 metadata", value))
    if not candidates:
        why = (
            "no later digest of its chain is among the evidence and its x-amz-meta-signature was not kept "
            "(ircreds acquire keeps it in manifest.json)"
        )
        return SignatureStatus.UNVERIFIABLE, why, None, fpr
    if fpr is None:
        return SignatureStatus.UNVERIFIABLE, "the digest names no public key fingerprint", None, fpr
    key = next((k for k in keys if k.fingerprint == fpr), None)
    if key is None:
        return (
            SignatureStatus.UNVERIFIABLE,
            f"no public key with fingerprint {fpr} among the keys given (pass CloudTrail's ListPublicKeys "
            "output for the digest's region with --public-keys)",
            None,
            fpr,
        )
    if not key.valid_at(d.end):
        return (
            SignatureStatus.UNVERIFIABLE,
            f"public key {fpr} is valid from {iso_utc(key.valid_from)} to {iso_utc(key.valid_until)}, "
            f"not at the digest's end {iso_utc(d.end)}",
            None,
            fpr,
        )
    if hashed.sha256_uncompressed is None:
        return SignatureStatus.UNVERIFIABLE, "the digest file cannot be read", None, fpr
    data = sig.signing_string(doc, hashed.sha256_uncompressed)
    sources = []
    for source, value in candidates:
        why = sig.verify(key, value, data)
        if why is not None:
            return SignatureStatus.INVALID, f"{why} (signature from the {source})", source, fpr
        sources.append(source)
    return SignatureStatus.VALID, None, " and ".join(sources), fpr


def _account_region(doc: Mapping[str, Any], s3_object: str) -> tuple[str, str]:
    parts = s3_object.split("/")
    region = parts[parts.index("CloudTrail-Digest") + 1] if "CloudTrail-Digest" in parts[:-1] else ""
    return str(doc.get("awsAccountId") or ""), region


def _logs_by_account_region(
    files: Iterable[EvidenceFile],
) -> dict[tuple[str, str], list[tuple[datetime, str]]]:
    out: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for f in files:
        m = _LOG_NAME.match(Path(f.path).name)
        if not m:
            continue
        when = parse_time(
            f"{m['when'][:4]}-{m['when'][4:6]}-{m['when'][6:8]}T{m['when'][9:11]}:{m['when'][11:13]}:00Z"
        )
        if when is not None:
            out.setdefault((m["account"], m["region"]), []).append((when, f.path))
    return out


def _roots(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Each folder given, and the folder above ``AWSLogs`` when a path lies inside one."""
    roots: list[Path] = []
    for raw in paths:
        p = Path(raw)
        base = p if p.is_dir() else p.parent
        roots.append(base)
        parts = base.resolve().parts
        if "AWSLogs" in parts:
            roots.append(Path(*parts[: parts.index("AWSLogs")]))
    seen: list[Path] = []
    for r in roots:
        if r not in seen:
            seen.append(r)
    return seen


def _found(paths: Sequence[str | os.PathLike[str]], name: str) -> list[Path]:
    out: list[Path] = []
    for root in _roots(paths):
        candidates = [root / name] if not root.is_dir() else [root / name, *sorted(root.glob(f"*/{name}"))]
        for c in candidates:
            if c.is_file() and c.resolve() not in {o.resolve() for o in out}:
                out.append(c)
    return out


def _keys(
    paths: Sequence[str | os.PathLike[str]], given: str | os.PathLike[str] | Iterable[Any] | None
) -> tuple[list[sig.PublicKey], list[str]]:
    keys: list[sig.PublicKey] = []
    sources: list[str] = []
    files = _found(paths, sig.PUBLIC_KEYS_FILE)
    if isinstance(given, str | os.PathLike):
        files.append(Path(given))
    elif given is not None:
        for item in given:
            if isinstance(item, sig.PublicKey):
                keys.append(item)
                sources.append(item.source or "given")
            else:
                files.append(Path(item))
    for f in files:
        keys.extend(sig.read_public_keys(f))
        sources.append(str(f))
    return keys, sorted(set(sources))


def _signatures(paths: Sequence[str | os.PathLike[str]]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for f in _found(paths, sig.MANIFEST_FILE):
        out.update(sig.read_manifest_signatures(f))
    return out
