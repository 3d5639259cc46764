"""Write records the way CloudTrail delivers them to S3, with digest files.

Layout: ``AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16>.json.gz``;
one delivery per region about every five minutes, split into files of mixed sizes, records
inside a file shuffled, a few records delivered twice (same ``eventID``, same content).
Hourly digests under ``AWSLogs/<acct>/CloudTrail-Digest/...`` carry the hex SHA-256 of each
uncompressed log file and chain to the previous digest by its hash and signature. Each digest is
signed exactly as CloudTrail signs (SHA256withRSA over the signing string of
:func:`ircreds.evidence.signatures.signing_string`) with a made-up key per region
(:mod:`ircreds.scenarios.signing`); ``public-keys.json`` (``ListPublicKeys`` form) ships the public keys
and ``manifest.json`` the newest digest's ``x-amz-meta-signature`` of each chain (what S3 metadata
would hold), so ``ircreds validate-logs`` verifies every signature with no flag.

gzip headers carry ``mtime=0`` and every choice comes from a seeded generator, so the same
records and seed give byte-identical files.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ircreds.evidence import signatures
from ircreds.scenarios.records import iso
from ircreds.scenarios.signing import region_key
from ircreds.times import parse_iso

_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
TRAIL_NAME = "management-and-data-events"


def _compressor(fast: bool) -> Any:
    if fast:
        try:
            from isal import igzip

            return lambda data: igzip.compress(data, 1, mtime=0)
        except ImportError:  # pragma: no cover - isal is optional
            return lambda data: gzip.compress(data, 1, mtime=0)
    return lambda data: gzip.compress(data, 6, mtime=0)


@dataclass(frozen=True, slots=True)
class LogFile:
    """One delivered log file, as a digest lists it."""

    account: str
    region: str
    key: str
    delivered: datetime
    sha256: str
    oldest: str
    newest: str


class TrailWriter:
    """Buffers time-ordered records per (account, region, 5-minute window) and writes deliveries."""

    def __init__(
        self,
        out_dir: Path,
        *,
        seed: str,
        home_region: str = "us-east-1",
        fast: bool = False,
        duplicate_rate: float = 0.0003,
    ) -> None:
        self.root = Path(out_dir)
        self.rng = random.Random(f"writer:{seed}")
        self.home_region = home_region
        self.compress = _compressor(fast)
        self.duplicate_rate = duplicate_rate
        self.buckets: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.carry: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: list[LogFile] = []
        self.records = 0
        self.duplicates = 0
        self._current = ""
        self._dirs: set[Path] = set()

    def add(self, rec: dict[str, Any]) -> None:
        """Take one record; records must come in ``eventTime`` order (ties in any order)."""
        ts: str = rec["eventTime"]
        window = f"{ts[:15]}{int(ts[15]) // 5 * 5}"
        if window != self._current:
            if window < self._current:
                raise ValueError(f"records out of order: {ts} after window {self._current}")
            self._flush(before=window)
            self._current = window
        acct = rec["recipientAccountId"]
        self.buckets.setdefault((window, acct, rec["awsRegion"]), []).append(rec)
        self.records += 1

    def add_all(self, records: Iterable[dict[str, Any]]) -> None:
        """:meth:`add` each record."""
        for rec in records:
            self.add(rec)

    def _flush(self, before: str) -> None:
        for bkey in sorted(k for k in self.buckets if k[0] < before):
            self._deliver(bkey, self.buckets.pop(bkey))

    def _deliver(self, bkey: tuple[str, str, str], recs: list[dict[str, Any]]) -> None:
        window, acct, region = bkey
        rng = self.rng
        late = self.carry.pop((acct, region), [])
        again = [r for r in recs if rng.random() < self.duplicate_rate]
        if again:
            self.carry[(acct, region)] = again
            self.duplicates += len(again)
        recs = recs + late
        rng.shuffle(recs)
        start = parse_iso(f"{window}Z", strict=True)
        parts = 1
        if len(recs) > 40:
            parts = min(len(recs) // 20, rng.choice((1, 1, 2, 3)))
        cuts = sorted(rng.sample(range(1, len(recs)), parts - 1)) if parts > 1 else []
        bounds = [0, *cuts, len(recs)]
        for i in range(parts):
            chunk = recs[bounds[i] : bounds[i + 1]]
            delivered = start + timedelta(minutes=5 + rng.randint(0, 9), seconds=rng.randint(0, 59))
            self._write(acct, region, delivered, chunk)

    def _write(self, acct: str, region: str, delivered: datetime, chunk: list[dict[str, Any]]) -> None:
        suffix = "".join(self.rng.choices(_NAME_CHARS, k=16))
        name = f"{acct}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{suffix}.json.gz"
        key = f"AWSLogs/{acct}/CloudTrail/{region}/{delivered:%Y/%m/%d}/{name}"
        raw = orjson.dumps({"Records": chunk})
        path = self.root / key
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        path.write_bytes(self.compress(raw))
        times = [r["eventTime"] for r in chunk]
        self.files.append(
            LogFile(acct, region, key, delivered, hashlib.sha256(raw).hexdigest(), min(times), max(times))
        )

    def close(self, start: datetime, end: datetime, regions: Iterable[str]) -> list[Path]:
        """Deliver what is left, then write hourly digests for every account and region over the span."""
        self.finish()
        return self.digests(start, end, regions)

    def finish(self) -> None:
        """Deliver every buffered window and the pending re-deliveries."""
        self._flush(before="9999")
        for (acct, region), late in sorted(self.carry.items()):
            last = max(f.delivered for f in self.files if f.account == acct and f.region == region)
            self._write(acct, region, last + timedelta(minutes=5), late)
        self.carry.clear()

    def digests(self, start: datetime, end: datetime, regions: Iterable[str]) -> list[Path]:
        """Hourly digest files over ``self.files`` (which may come from several writers)."""
        by_hour: dict[tuple[str, str, datetime], list[LogFile]] = {}
        for f in self.files:
            by_hour.setdefault((f.account, f.region, f.delivered.replace(minute=0, second=0)), []).append(f)
        last_delivery = max((f.delivered for f in self.files), default=end)
        stop = max(end, last_delivery) + timedelta(hours=1)
        all_regions = sorted(set(regions) | {f.region for f in self.files})
        written = []
        newest: list[dict[str, Any]] = []
        first = start.replace(minute=0, second=0)
        for acct in sorted({f.account for f in self.files}):
            bucket = f"aws-cloudtrail-logs-{acct}-{hashlib.sha256(acct.encode()).hexdigest()[:8]}"
            for region in all_regions:
                prev: dict[str, Any] = {}
                hour = first
                while hour + timedelta(hours=1) <= stop:
                    files = sorted(by_hour.get((acct, region, hour), []), key=lambda f: f.key)
                    written.append(self._digest(acct, region, bucket, hour, files, prev))
                    hour += timedelta(hours=1)
                if prev:
                    newest.append(
                        {
                            "s3_bucket": bucket,
                            "s3_key": prev["key"],
                            "metadata": {
                                "signature": prev["signature"],
                                "signature-algorithm": signatures.SIGNATURE_ALGORITHM,
                            },
                        }
                    )
        if newest:
            self._validation_files(all_regions, first, stop, newest)
        return written

    def _validation_files(
        self, regions: list[str], first: datetime, stop: datetime, newest: list[dict[str, Any]]
    ) -> None:
        """``public-keys.json`` and the S3 metadata ``manifest.json`` beside ``AWSLogs/``."""
        keys = [
            signatures.PublicKey(
                fingerprint=signatures.fingerprint(der),
                der=der,
                valid_from=first,
                valid_until=stop,
            )
            for der in (signatures.public_key_der(region_key(r).public_key()) for r in regions)
        ]
        doc = signatures.public_keys_document(keys)
        (self.root / signatures.PUBLIC_KEYS_FILE).write_text(json.dumps(doc, indent=2) + "\n")
        manifest = {
            "manifest_version": 1,
            "synthetic": True,
            "note": "written by the ircreds scenario generator: the S3 metadata (x-amz-meta-signature) of "
            "the newest digest of each chain, which a download loses; keys made up (public-keys.json)",
            "files": newest,
        }
        (self.root / signatures.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")

    def _digest(
        self, acct: str, region: str, bucket: str, hour: datetime, files: list[LogFile], prev: dict[str, Any]
    ) -> Path:
        end = hour + timedelta(hours=1)
        name = (
            f"{acct}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{self.home_region}_{end:%Y%m%dT%H%M%SZ}.json.gz"
        )
        key = f"AWSLogs/{acct}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{name}"
        doc: dict[str, Any] = {
            "awsAccountId": acct,
            "digestStartTime": iso(hour),
            "digestEndTime": iso(end),
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": self._fingerprint(region),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": max((f.newest for f in files), default=None),
            "oldestEventTime": min((f.oldest for f in files), default=None),
            "previousDigestS3Bucket": bucket if prev else None,
            "previousDigestS3Object": prev.get("key"),
            "previousDigestHashValue": prev.get("hash"),
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev.get("signature"),
            "logFiles": [
                {
                    "s3Bucket": bucket,
                    "s3Object": f.key,
                    "hashValue": f.sha256,
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": f.newest,
                    "oldestEventTime": f.oldest,
                }
                for f in files
            ],
        }
        raw = orjson.dumps(doc)
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.compress(raw))
        digest_hash = hashlib.sha256(raw).hexdigest()
        # x-amz-meta-signature: SHA256withRSA over CloudTrail's signing string (the next digest repeats it)
        signature = signatures.sign(region_key(region), signatures.signing_string(doc, digest_hash))
        prev.update(key=key, hash=digest_hash, signature=signature)
        return path

    def _fingerprint(self, region: str) -> str:
        return _key_fingerprint(region)


@functools.lru_cache(maxsize=64)
def _key_fingerprint(region: str) -> str:
    return signatures.fingerprint(signatures.public_key_der(region_key(region).public_key()))
