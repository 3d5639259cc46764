"""``acquire``: copy a trail's log and digest files out of S3 with what validation needs, and custody.

A plain ``aws s3 sync`` loses what proves the files later: each digest's ``x-amz-meta-signature`` (the
only copy of the newest digest's signature), object versions and ETags. :func:`acquire` copies the
log and digest files of a window, keeping the S3 key layout under ``out``, and writes

* ``manifest.json``: the custody record, every file with its S3 bucket, key, version, ETag, size,
  SHA-256 of the bytes as stored, last-modified time, S3 user metadata, when it was copied; who
  copied it (the caller ARN of ``sts:GetCallerIdentity``), with which tool version, and each run;
* ``public-keys.json``: CloudTrail's public keys for the window (``ListPublicKeys``, per region of the
  digests copied), the form ``ircreds validate-logs`` reads.

Window: log files whose delivery name falls in ``[start, end]``, digests ending in
``(start, end + 1 h]`` (the hour after ``end`` lists files delivered late), and every log file those
digests list (so the evidence is whole with respect to its digests).

Resumable: a file already in the manifest with the same version and ETag, whose bytes still hash to
the recorded SHA-256, is not copied again. Nothing is overwritten: a file in the way that the manifest
does not vouch for is left alone and reported. Copies run in parallel on ``workers`` threads.

This module imports no AWS library: it is given a boto3 session (``ircreds.aws.session(profile)`` or
:func:`ircreds.evidence.sources.s3.make_session`) and uses only its clients; error classes come from the
S3 source (the edge that owns botocore).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ircreds.errors import SourceError
from ircreds.evidence import signatures as sig
from ircreds.evidence.digests import iso_utc
from ircreds.evidence.sources import s3 as s3_source

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_DIGEST_END = re.compile(r"_(\d{8}T\d{6}Z)\.json\.gz$")
_LOG_WHEN = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$")

#: ``public_keys=``: region, start, end -> ``ListPublicKeys`` entries (boto3 shape: ``Value`` bytes).
KeySource = Callable[[str, datetime, datetime], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Acquisition:
    """What one :func:`acquire` run did."""

    out: str
    manifest: str
    copied: int
    already_present: int
    bytes_copied: int
    caller_arn: str
    public_keys: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "out": self.out,
            "manifest": self.manifest,
            "copied": self.copied,
            "already_present": self.already_present,
            "bytes_copied": self.bytes_copied,
            "caller_arn": self.caller_arn,
            "public_keys": list(self.public_keys),
            "problems": list(self.problems),
        }


class ListPublicKeys:
    """The default key source: CloudTrail ``ListPublicKeys`` in each digest's region (paginated)."""

    def __init__(self, client_for: Callable[[str], Any]) -> None:
        self.client_for = client_for

    def __call__(self, region: str, start: datetime, end: datetime) -> list[Mapping[str, Any]]:
        """Every key valid in ``[start, end]`` in ``region``."""
        client = self.client_for(region)
        out: list[Mapping[str, Any]] = []
        kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end}
        while True:
            page = client.list_public_keys(**kwargs)
            out.extend(page.get("PublicKeyList") or ())
            token = page.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token


def acquire(
    url: str,
    out: str | os.PathLike[str],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    session: Any,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    endpoint_url: str | None = None,
    public_keys: KeySource | None = None,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    tool_version: str = "",
) -> Acquisition:
    """Copy the trail's files for ``[start, end]`` from ``url`` (``s3://bucket/prefix``) into ``out``.

    Args:
        url: the trail's ``s3://bucket/prefix`` (usually ending with ``AWSLogs/``).
        out: the folder to copy into (created; the S3 delivery layout is kept; nothing is overwritten).
        start: first delivery time (timezone-aware).
        end: last delivery time (timezone-aware).
        now: when the copy is made (the caller reads the clock: ``datetime.now(UTC)``).
        session: a boto3 session (anything with ``.client(service, region_name=, endpoint_url=)``).
        accounts: only these account ids (CloudTrail's delivery layout narrows the listing).
        regions: only these regions.
        endpoint_url: an S3/STS/CloudTrail endpoint other than AWS's (the sandbox).
        public_keys: where the keys come from (default :class:`ListPublicKeys` through ``session``).
        progress: called with (files done, files total) after each file.
        workers: parallel downloads.
        tool_version: recorded in the custody manifest (the CLI passes ircreds' version).

    Raises:
        SourceError: the bucket cannot be listed, or holds no CloudTrail file for the window.
    """
    for name, value in (("start", start), ("end", end), ("now", now)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    bucket, prefix = s3_source.parse_url(url)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    errors = s3_source.aws_errors()
    kw = {"endpoint_url": endpoint_url} if endpoint_url else {}
    client = session.client("s3", **kw)
    caller = _caller(session, kw, errors)
    manifest_path = root / sig.MANIFEST_FILE
    manifest = _read_manifest(manifest_path, url)
    known = {(e["s3_bucket"], e["s3_key"]): e for e in manifest["files"]}
    problems: list[str] = []

    try:
        logs, digests = _list_window(client, bucket, prefix, accounts, regions, start, end)
    except errors as err:
        raise SourceError(
            f"cannot list s3://{bucket}/{prefix} ({s3_source.error_text(err)}); check the bucket, the "
            "prefix (it usually ends with AWSLogs/) and s3:ListBucket"
        ) from None
    if not logs and not digests:
        raise SourceError(
            f"no CloudTrail log or digest files under s3://{bucket}/{prefix} for {iso_utc(start)}..{iso_utc(end)}"
        )

    lock = threading.Lock()
    done = [0]
    total = [len(logs) + len(digests)]

    def tick() -> None:
        with lock:
            done[0] += 1
            if progress is not None:
                progress(done[0], total[0])

    def copy(key: str) -> tuple[dict[str, Any] | None, str | None, bool]:
        try:
            return _copy(client, bucket, key, root, known.get((bucket, key)), now)
        except errors as err:
            return None, f"s3://{bucket}/{key}: cannot copy ({s3_source.error_text(err)})", False
        finally:
            tick()

    entries: list[dict[str, Any]] = []
    copied = present = copied_bytes = 0

    def run(keys: Sequence[str]) -> None:
        nonlocal copied, present, copied_bytes
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for entry, problem, fresh in pool.map(copy, keys):
                if problem:
                    problems.append(problem)
                if entry is not None:
                    entries.append(entry)
                    copied += fresh
                    copied_bytes += int(entry["size"]) if fresh else 0
                    present += not fresh

    try:
        run(sorted(digests))
        listed = _listed_logs(root, [e for e in entries if "/CloudTrail-Digest/" in e["s3_key"]], bucket)
        extra = sorted(listed - set(logs))
        total[0] += len(extra)
        run(sorted(logs) + extra)
    finally:
        _write_manifest(manifest_path, manifest, entries, url, caller, now, tool_version, start, end)

    fingerprints = _fetch_keys(root, entries, start, end, public_keys, session, kw, errors, problems)
    return Acquisition(
        out=str(root),
        manifest=str(manifest_path),
        copied=copied,
        already_present=present,
        bytes_copied=copied_bytes,
        caller_arn=caller,
        public_keys=fingerprints,
        problems=tuple(problems),
    )


# ------------------------------------------------------------------------------------------ listing


def _days(start: datetime, end: datetime) -> list[date]:
    out, day = [], start.date()
    while day <= end.date():
        out.append(day)
        day += timedelta(days=1)
    return out


def _common(client: Any, bucket: str, prefix: str) -> list[str]:
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        out.extend(p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
    return out


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    return out


def _bases(client: Any, bucket: str, prefix: str, accounts: Iterable[str] | None) -> list[str]:
    """``.../AWSLogs/[o-ID/]<account>/`` prefixes to look under."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if re.search(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?\d{12}/$", prefix):
        return [prefix]
    if not re.search(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]+/)?$", prefix):
        prefix += "AWSLogs/"
    bases = []
    for name in _common(client, bucket, prefix):
        if re.fullmatch(r"o-[a-z0-9]+", name):
            bases.extend(f"{prefix}{name}/{a}/" for a in _common(client, bucket, f"{prefix}{name}/"))
        elif re.fullmatch(r"\d{12}", name):
            bases.append(f"{prefix}{name}/")
    wanted = {str(a) for a in accounts} if accounts else None
    return [b for b in bases if wanted is None or b.rstrip("/").rsplit("/", 1)[-1] in wanted]


def _list_window(
    client: Any,
    bucket: str,
    prefix: str,
    accounts: Iterable[str] | None,
    regions: Iterable[str] | None,
    start: datetime,
    end: datetime,
) -> tuple[list[str], list[str]]:
    logs: list[str] = []
    digests: list[str] = []
    digest_end = end + timedelta(hours=1)
    region_set = set(regions) if regions else None
    for base in _bases(client, bucket, prefix, accounts):
        for kind, last in (("CloudTrail", end), ("CloudTrail-Digest", digest_end)):
            for region in _common(client, bucket, f"{base}{kind}/"):
                if region_set is not None and region not in region_set:
                    continue
                for day in _days(start, last):
                    for key in _keys(client, bucket, f"{base}{kind}/{region}/{day:%Y/%m/%d}/"):
                        if kind == "CloudTrail":
                            m = _LOG_WHEN.search(key)
                            when = _parse(m.group(1), "%Y%m%dT%H%MZ") if m else None
                            if when is not None and start - timedelta(minutes=1) < when <= end:
                                logs.append(key)
                        else:
                            m = _DIGEST_END.search(key)
                            when = _parse(m.group(1), "%Y%m%dT%H%M%SZ") if m else None
                            if when is not None and start < when <= digest_end:
                                digests.append(key)
    return logs, digests


def _parse(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _listed_logs(root: Path, digest_entries: Sequence[Mapping[str, Any]], bucket: str) -> set[str]:
    out: set[str] = set()
    for entry in digest_entries:
        doc = _digest_doc(root / entry["path"])
        for item in (doc or {}).get("logFiles") or ():
            if item.get("s3Bucket", bucket) == bucket and item.get("s3Object"):
                out.add(str(item["s3Object"]))
    return out


def _digest_doc(path: Path) -> dict[str, Any] | None:
    """A digest's JSON (gzipped or not), or None when it cannot be read."""
    from ircreds.evidence.digests import read_json

    doc = read_json(path)
    return doc if isinstance(doc, dict) else None


# ------------------------------------------------------------------------------------------ copying


def _copy(
    client: Any, bucket: str, key: str, root: Path, known: Mapping[str, Any] | None, now: datetime
) -> tuple[dict[str, Any] | None, str | None, bool]:
    """Copy one object unless the manifest already vouches for the local file; never overwrite."""
    target = root / key
    if target.exists():
        if known is not None and _sha256(target) == known.get("sha256"):
            return dict(known), None, False
        return None, f"{target}: exists and the manifest does not vouch for it; not overwritten", False
    response = client.get_object(Bucket=bucket, Key=key)
    body = response["Body"].read()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    part.write_bytes(body)
    os.replace(part, target)
    last = response.get("LastModified")
    entry = {
        "path": key,
        "s3_bucket": bucket,
        "s3_key": key,
        "version_id": response.get("VersionId"),
        "etag": response.get("ETag"),
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "last_modified": iso_utc(last) if isinstance(last, datetime) else None,
        "metadata": dict(response.get("Metadata") or {}),
        "acquired_at": iso_utc(now),
    }
    return entry, None, True


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _caller(session: Any, kw: Mapping[str, Any], errors: tuple[type[Exception], ...]) -> str:
    try:
        return str(session.client("sts", **kw).get_caller_identity()["Arn"])
    except errors as err:
        log.warning("cannot tell who is acquiring (sts:GetCallerIdentity): %s", s3_source.error_text(err))
        return f"unknown ({s3_source.error_text(err)})"


# ------------------------------------------------------------------------------------------ manifest


def _read_manifest(path: Path, url: str) -> dict[str, Any]:
    if not path.exists():
        return {"manifest_version": MANIFEST_VERSION, "source": url, "runs": [], "files": []}
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise SourceError(
            f"{path}: cannot read the custody manifest to resume ({err}); move it aside"
        ) from None
    if not isinstance(doc, dict) or doc.get("synthetic") or not isinstance(doc.get("files"), list):
        raise SourceError(f"{path}: not an ircreds acquisition manifest; acquire into an empty folder")
    return doc


def _write_manifest(
    path: Path,
    manifest: dict[str, Any],
    entries: Sequence[Mapping[str, Any]],
    url: str,
    caller: str,
    now: datetime,
    tool_version: str,
    start: datetime,
    end: datetime,
) -> None:
    by_key = {(e["s3_bucket"], e["s3_key"]): dict(e) for e in manifest["files"]}
    for e in entries:
        by_key[(e["s3_bucket"], e["s3_key"])] = dict(e)
    manifest["files"] = [by_key[k] for k in sorted(by_key)]
    manifest.setdefault("runs", []).append(
        {
            "source": url,
            "acquired_by": caller,
            "acquired_at": iso_utc(now),
            "tool": f"ircreds {tool_version}".strip(),
            "window": {"start": iso_utc(start), "end": iso_utc(end)},
            "files": len(entries),
        }
    )
    manifest["acquired_by"] = caller
    manifest["tool"] = f"ircreds {tool_version}".strip()
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)


def _fetch_keys(
    root: Path,
    entries: Sequence[Mapping[str, Any]],
    start: datetime,
    end: datetime,
    source: KeySource | None,
    session: Any,
    kw: Mapping[str, Any],
    errors: tuple[type[Exception], ...],
    problems: list[str],
) -> tuple[str, ...]:
    regions = sorted(
        {
            e["s3_key"].split("/CloudTrail-Digest/")[1].split("/")[0]
            for e in entries
            if "/CloudTrail-Digest/" in e["s3_key"]
        }
    )
    if not regions:
        return ()
    if source is None:
        source = ListPublicKeys(lambda region: session.client("cloudtrail", region_name=region, **kw))
    path = root / sig.PUBLIC_KEYS_FILE
    keys = {k.fingerprint: k for k in (sig.read_public_keys(path) if path.exists() else ())}
    for region in regions:
        try:
            found = sig.keys_from_api(
                source(region, start, end + timedelta(hours=1)), f"ListPublicKeys {region}"
            )
        except errors as err:
            problems.append(f"cannot list CloudTrail public keys in {region} ({s3_source.error_text(err)})")
            continue
        for k in found:
            keys.setdefault(k.fingerprint, k)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(sig.public_keys_document(keys.values()), indent=2) + "\n")
    os.replace(tmp, path)
    return tuple(sorted(keys))
