"""ircreds.evidence.digests: reading CloudTrail-Digest files, following their chain, gaps, log file hashes.

Most digests here are written by hand as parsed documents (``validate_chain(files, docs=...)``) over
files described by their hashes; one trail is written by the scenario writer and read from disk.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from findings.records import leak_story

from ircreds.evidence.digests import (
    ChainGap,
    Status,
    is_digest,
    read_json,
    validate_chain,
)
from ircreds.evidence.integrity import evidence_files
from ircreds.scenarios.writer import TrailWriter

ACCT = "111122223333"
OTHER = "123456789012"
BUCKET = "example-trail-bucket"
ROOT = "/evidence"
DAY = datetime(2025, 1, 20, tzinfo=UTC)


@dataclass(frozen=True)
class Hashed:
    """An evidence file as validate_chain sees it (ircreds.evidence.integrity.EvidenceFile's fields)."""

    path: str
    kind: str
    sha256_uncompressed: str | None


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_key(hour: int, acct: str = ACCT, region: str = "us-east-1") -> str:
    return (
        f"AWSLogs/{acct}/CloudTrail/{region}/2025/01/20/"
        f"{acct}_CloudTrail_{region}_20250120T{hour:02d}05Z_abcdefgh{hour:08d}.json.gz"
    )


def digest_key(hour: int, acct: str = ACCT, region: str = "us-east-1", trail: str = "main-trail") -> str:
    """The digest covering ``hour``..``hour + 1``, named by its end as CloudTrail names it."""
    return (
        f"AWSLogs/{acct}/CloudTrail-Digest/{region}/2025/01/20/"
        f"{acct}_CloudTrail-Digest_{region}_{trail}_us-east-1_20250120T{hour + 1:02d}0000Z.json.gz"
    )


class Trail:
    """Hand-written digests and log files of one or more chains, with the hashes a real trail has."""

    def __init__(self) -> None:
        self.files: dict[str, Hashed] = {}
        self.docs: dict[str, dict[str, Any]] = {}
        self.last: dict[tuple[str, str, str], str] = {}  # chain -> key of its newest digest

    def log(self, hour: int, **where: str) -> str:
        key = log_key(hour, **where)
        self.files[key] = Hashed(f"{ROOT}/{key}", "log", _hash(f"log {key}"))
        return key

    def digest(
        self,
        hour: int,
        logs: list[str],
        *,
        acct: str = ACCT,
        region: str = "us-east-1",
        trail: str = "main-trail",
        previous: str | bool | None = True,
        start: datetime | None = None,
    ) -> str:
        """One digest over ``hour``; ``previous`` True links to the chain's newest, None starts a chain."""
        key = digest_key(hour, acct, region, trail)
        chain = (acct, region, trail)
        prev_key = self.last.get(chain) if previous is True else previous or None
        doc = {
            "awsAccountId": acct,
            "digestStartTime": _iso(start or DAY + timedelta(hours=hour)),
            "digestEndTime": _iso(DAY + timedelta(hours=hour + 1)),
            "digestS3Bucket": BUCKET,
            "digestS3Object": key,
            "previousDigestS3Bucket": BUCKET if prev_key else None,
            "previousDigestS3Object": prev_key,
            "previousDigestHashValue": self.hash_of(prev_key) if prev_key else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev_key else None,
            "logFiles": [
                {"s3Bucket": BUCKET, "s3Object": k, "hashValue": self.hash_of(k), "hashAlgorithm": "SHA-256"}
                for k in logs
            ],
        }
        path = f"{ROOT}/{key}"
        self.docs[path] = doc
        self.files[key] = Hashed(path, "digest", _hash(json.dumps(doc, sort_keys=True)))
        self.last[chain] = key
        return key

    def hash_of(self, key: str) -> str:
        known = self.files.get(key)
        return known.sha256_uncompressed if known else _hash(f"absent {key}")

    def drop(self, key: str) -> None:
        del self.files[key]

    def swap(self, key: str, **fields: Any) -> None:
        """The local copy of ``key`` differs from what was delivered (other fields, hash)."""
        old = self.files[key]
        self.files[key] = Hashed(old.path, old.kind, **fields)

    def check(self, order: list[str] | None = None) -> Any:
        keys = order or list(self.files)
        return validate_chain([self.files[k] for k in keys], docs=self.docs)


def _chain_of(hours: tuple[int, ...] = (9, 10, 11)) -> tuple[Trail, list[str], list[str]]:
    trail = Trail()
    logs, digests = [], []
    for hour in hours:
        logs.append(trail.log(hour))
        digests.append(trail.digest(hour, [logs[-1]]))
    return trail, logs, digests


# -------------------------------------------------------------------------------- chain following


def test_a_chain_of_digests_links_each_to_the_one_before_and_checks_every_log() -> None:
    trail, logs, digests = _chain_of()
    result = trail.check()
    assert [d.s3_object for d in result.digests] == digests
    assert [d.previous_status for d in result.digests] == [Status.START, Status.OK, Status.OK]
    assert [d.previous_path for d in result.digests] == [None, f"{ROOT}/{digests[0]}", f"{ROOT}/{digests[1]}"]
    checks = [c for d in result.digests for c in d.log_files]
    assert [(c.s3_object, c.path, c.status) for c in checks] == [(k, f"{ROOT}/{k}", Status.OK) for k in logs]
    assert all(c.actual == c.expected == trail.hash_of(c.s3_object) for c in checks)
    assert (result.gaps, result.unlisted, result.errors) == ((), (), ())


def test_digests_are_listed_by_chain_then_end_whatever_order_they_come_in() -> None:
    trail, _, _ = _chain_of()
    trail.digest(9, [trail.log(9, region="eu-west-1")], region="eu-west-1")
    order = list(trail.files)
    random.Random(7).shuffle(order)
    result = trail.check(order)
    assert [(d.chain, d.end) for d in result.digests] == sorted((d.chain, d.end) for d in result.digests)
    assert [d.chain for d in result.digests] == [f"{ACCT}/eu-west-1/main-trail"] + [
        f"{ACCT}/us-east-1/main-trail"
    ] * 3


def test_chains_are_kept_apart_by_account_region_and_trail() -> None:
    trail = Trail()
    for where in ({"acct": ACCT}, {"acct": OTHER}, {"region": "eu-west-1"}, {"trail": "org-trail"}):
        trail.digest(10, [], **where)
    result = trail.check()
    assert {d.chain for d in result.digests} == {
        f"{ACCT}/us-east-1/main-trail",
        f"{OTHER}/us-east-1/main-trail",
        f"{ACCT}/eu-west-1/main-trail",
        f"{ACCT}/us-east-1/org-trail",
    }
    assert all(d.previous_status is Status.START for d in result.digests)
    assert result.gaps == ()  # four chain starts, none of them a restart


def test_a_digest_named_otherwise_is_chained_by_its_account_folder_region_and_bucket() -> None:
    trail = Trail()
    key = trail.digest(10, [])
    renamed = key.rsplit("/", 1)[0] + "/copy-of-digest.json.gz"
    trail.docs[f"{ROOT}/{key}"]["digestS3Object"] = renamed
    [digest] = trail.check().digests
    assert digest.chain == f"{ACCT}/us-east-1/{BUCKET}"
    assert digest.s3_object == renamed


# ----------------------------------------------------------------------------------------- hashes


def test_a_log_file_that_differs_from_its_digest_is_a_mismatch_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trail, logs, _ = _chain_of()
    trail.swap(logs[1], sha256_uncompressed=_hash("edited"))
    with caplog.at_level(logging.WARNING, logger="ircreds.evidence.digests"):
        result = trail.check()
    statuses = {c.s3_object: c.status for d in result.digests for c in d.log_files}
    assert statuses == {logs[0]: Status.OK, logs[1]: Status.MISMATCH, logs[2]: Status.OK}
    [bad] = [c for d in result.digests for c in d.log_files if c.status is Status.MISMATCH]
    assert bad.actual == _hash("edited")
    assert bad.expected == trail.docs[bad.digest]["logFiles"][0]["hashValue"]
    assert f"log file {ROOT}/{logs[1]} does not match digest" in caplog.text


def test_hash_values_are_compared_whatever_their_case() -> None:
    trail, logs, digests = _chain_of((9,))
    entry = trail.docs[f"{ROOT}/{digests[0]}"]["logFiles"][0]
    entry["hashValue"] = entry["hashValue"].upper()
    [check] = trail.check().digests[0].log_files
    assert check.status is Status.OK
    assert check.expected == trail.hash_of(logs[0])


def test_a_listed_log_file_not_in_the_evidence_is_missing() -> None:
    trail, logs, _ = _chain_of()
    trail.drop(logs[2])
    [*_, check] = [c for d in trail.check().digests for c in d.log_files]
    assert (check.s3_object, check.path, check.actual, check.status) == (logs[2], None, None, Status.MISSING)


def test_a_log_file_that_could_not_be_hashed_is_unreadable_not_ok() -> None:
    trail, logs, _ = _chain_of()
    trail.swap(logs[0], sha256_uncompressed=None)
    first = trail.check().digests[0].log_files[0]
    assert first.status is Status.UNREADABLE


def test_log_files_no_digest_lists_are_unlisted_and_only_when_there_are_digests() -> None:
    trail, _, _ = _chain_of((9, 10))
    stray = trail.log(11)  # delivered after the newest digest present
    assert trail.check().unlisted == (f"{ROOT}/{stray}",)
    only_logs = [f for f in trail.files.values() if f.kind == "log"]
    assert validate_chain(only_logs).unlisted == ()


def test_the_local_copy_with_the_longest_matching_path_tail_is_the_one_checked(tmp_path: Path) -> None:
    key = log_key(9)
    name = Path(key).name
    mine = tmp_path / "case" / key
    other = tmp_path / "case" / "AWSLogs" / OTHER / "CloudTrail" / "us-east-1" / "2025" / "01" / "20" / name
    decoy = tmp_path / "downloads" / name
    files = [
        Hashed(str(decoy), "log", _hash("decoy")),
        Hashed(str(other), "log", _hash("other")),
        Hashed(str(mine), "log", _hash("mine")),
        Hashed(f"{tmp_path}/case/{digest_key(9)}", "digest", _hash("digest")),
    ]
    doc = {
        "digestS3Object": digest_key(9),
        "digestStartTime": "2025-01-20T09:00:00Z",
        "digestEndTime": "2025-01-20T10:00:00Z",
        "previousDigestS3Object": None,
        "logFiles": [{"s3Object": key, "hashValue": _hash("mine")}],
    }
    [check] = validate_chain(files, docs={files[-1].path: doc}).digests[0].log_files
    assert (check.path, check.status) == (str(mine), Status.OK)


# ------------------------------------------------------------------------------------------- gaps


def test_a_previous_digest_that_hashes_otherwise_breaks_the_link() -> None:
    trail, _, digests = _chain_of()
    trail.swap(digests[1], sha256_uncompressed=_hash("rewritten digest"))
    result = trail.check()
    assert [d.previous_status for d in result.digests] == [Status.START, Status.OK, Status.MISMATCH]


def test_a_digest_missing_in_the_middle_is_a_gap_between_its_neighbours() -> None:
    trail, _, digests = _chain_of((9, 10, 11))
    trail.drop(digests[1])
    result = trail.check()
    assert [d.previous_status for d in result.digests] == [Status.START, Status.MISSING]
    assert result.gaps == (
        ChainGap(
            chain=f"{ACCT}/us-east-1/main-trail",
            after=DAY + timedelta(hours=10),
            before=DAY + timedelta(hours=11),
            reason=f"previous digest {digests[1]} is not among the evidence",
        ),
    )


def test_a_first_digest_pointing_at_an_absent_one_says_earlier_digests_are_missing() -> None:
    trail, _, digests = _chain_of((9, 10))
    trail.drop(digests[0])
    [gap] = trail.check().gaps
    assert (gap.after, gap.before) == (None, DAY + timedelta(hours=10))
    assert gap.reason == f"earlier digests (from {digests[0]}) are not among the evidence"


def test_a_chain_that_starts_again_is_a_gap() -> None:
    trail, _, _ = _chain_of((9, 10))
    trail.digest(13, [], previous=None)  # logging stopped 11:00-13:00, then a new chain
    [gap] = trail.check().gaps
    assert (gap.after, gap.before) == (DAY + timedelta(hours=11), DAY + timedelta(hours=13))
    assert gap.reason.startswith("the chain restarts (no previous digest)")


def test_a_linked_digest_that_starts_after_the_previous_one_ended_leaves_a_window_uncovered() -> None:
    trail, _, _ = _chain_of((9,))
    trail.digest(12, [], start=DAY + timedelta(hours=11))  # linked to 09-10, but covers only 11-13
    [gap] = trail.check().gaps
    assert (gap.after, gap.before, gap.reason) == (
        DAY + timedelta(hours=10),
        DAY + timedelta(hours=11),
        "no digest covers this window",
    )


def test_gaps_and_checks_have_json_forms() -> None:
    trail, _, digests = _chain_of((9, 10, 11))
    trail.drop(digests[1])
    result = trail.check()
    gap = result.gaps[0].to_dict()
    assert gap == {
        "chain": f"{ACCT}/us-east-1/main-trail",
        "after": "2025-01-20T10:00:00Z",
        "before": "2025-01-20T11:00:00Z",
        "reason": f"previous digest {digests[1]} is not among the evidence",
    }
    last = result.digests[-1].to_dict()
    assert (last["start"], last["end"], last["previous_status"]) == (
        "2025-01-20T11:00:00Z",
        "2025-01-20T12:00:00Z",
        "missing",
    )
    assert last["log_files"][0]["status"] == "ok"
    json.dumps([d.to_dict() for d in result.digests])


# ---------------------------------------------------------------------------------------- reading


def test_a_file_that_is_not_a_digest_is_an_error_not_a_check(tmp_path: Path) -> None:
    path = tmp_path / digest_key(9)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"Records": []}))
    result = validate_chain([Hashed(str(path), "digest", _hash("x"))])
    assert result.digests == ()
    assert result.errors == (f"{path}: not a CloudTrail digest (no logFiles); not checked",)


@pytest.mark.parametrize("compressed", [True, False])
def test_read_json_reads_a_digest_gzipped_or_not(tmp_path: Path, compressed: bool) -> None:
    doc = {"digestS3Object": digest_key(9), "logFiles": []}
    path = tmp_path / "d.json.gz"
    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    assert read_json(path) == doc


@pytest.mark.parametrize(
    "content", [b"\x1f\x8b\x08\x00broken", b"{not json", b""], ids=["bad-gzip", "bad-json", "empty"]
)
def test_read_json_of_an_unreadable_file_is_none_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "d.json.gz"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="ircreds.evidence.digests"):
        assert read_json(path) is None
    assert f"cannot read {path} as JSON" in caplog.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (digest_key(9), True),
        (f"AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2025/01/20/renamed.json.gz", True),
        (Path(digest_key(9)).name, True),
        (log_key(9), False),
        ("notes/CloudTrail-Digest.txt", False),
    ],
)
def test_is_digest_knows_a_digest_by_its_name_or_its_folder(path: str, expected: bool) -> None:
    assert is_digest(path) is expected


# ------------------------------------------------------------------ a trail the scenario writer wrote


def _written_trail(root: Path) -> None:
    records = sorted(leak_story(), key=lambda r: r["eventTime"])
    writer = TrailWriter(root, seed="test-digests", duplicate_rate=0.0)
    writer.add_all(records)
    start = datetime.fromisoformat(records[0]["eventTime"])
    end = datetime.fromisoformat(records[-1]["eventTime"])
    writer.close(start, end, sorted({r["awsRegion"] for r in records}))


def test_a_trail_the_writer_delivered_validates_and_an_edited_log_file_does_not(tmp_path: Path) -> None:
    _written_trail(tmp_path)
    delivered = tmp_path / "AWSLogs"  # beside it: the writer's public keys and S3 metadata, not logs
    files = evidence_files([delivered])
    result = validate_chain(files)
    logs = [f for f in files if f.kind == "log"]
    assert logs
    assert result.digests
    assert all(c.status is Status.OK for d in result.digests for c in d.log_files)
    assert sorted(c.path for d in result.digests for c in d.log_files) == sorted(f.path for f in logs)
    assert [d.previous_status for d in result.digests].count(Status.START) == len(
        {d.chain for d in result.digests}
    )
    assert all(d.previous_status in (Status.START, Status.OK) for d in result.digests)
    assert (result.gaps, result.unlisted, result.errors) == ((), (), ())

    victim = Path(logs[0].path)
    with gzip.open(victim, "rb") as fh:
        content = json.loads(fh.read())
    content["Records"][0]["sourceIPAddress"] = "198.51.100.99"
    victim.write_bytes(gzip.compress(json.dumps(content).encode()))
    edited = validate_chain(evidence_files([delivered]))
    bad = [c.path for d in edited.digests for c in d.log_files if c.status is not Status.OK]
    assert bad == [str(victim)]
