"""Evidence hashes and offline CloudTrail-Digest validation (aws-facts §4.2)."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from ircreds.evidence.integrity import (
    EvidenceFile,
    Status,
    check,
    evidence_files,
    hash_file,
    is_digest,
    validate_digests,
)

ACCT = "111122223333"
BUCKET = "example-trail-bucket"


def _record(event_id: str, when: str) -> dict:
    return {
        "eventVersion": "1.08",
        "eventTime": when,
        "eventName": "GetCallerIdentity",
        "eventSource": "sts.amazonaws.com",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "accountId": ACCT},
        "eventID": event_id,
        "recipientAccountId": ACCT,
    }


def _write_gz(path: Path, payload: bytes, mtime: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime) as gz:
        gz.write(payload)


def _log_key(hour: int) -> str:
    return (
        f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2025/01/20/"
        f"{ACCT}_CloudTrail_us-east-1_20250120T{hour:02d}05Z_abcdefgh{hour:08d}.json.gz"
    )


def _digest_key(hour: int) -> str:
    return (
        f"AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2025/01/20/"
        f"{ACCT}_CloudTrail-Digest_us-east-1_main-trail_us-east-1_20250120T{hour + 1:02d}0000Z.json.gz"
    )


def _build_trail(root: Path, hours: tuple[int, ...] = (9, 10, 11)) -> dict[str, Path]:
    """A tiny S3 delivery tree: one log file and one digest per hour, chained, real hashes."""
    out: dict[str, Path] = {}
    prev_key = prev_hash = None
    for hour in hours:
        payload = json.dumps({"Records": [_record(f"e-{hour}", f"2025-01-20T{hour:02d}:01:00Z")]}).encode()
        log_path = root / _log_key(hour)
        _write_gz(log_path, payload)
        digest = {
            "awsAccountId": ACCT,
            "digestStartTime": f"2025-01-20T{hour:02d}:00:00Z",
            "digestEndTime": f"2025-01-20T{hour + 1:02d}:00:00Z",
            "digestS3Bucket": BUCKET,
            "digestS3Object": _digest_key(hour),
            "digestPublicKeyFingerprint": "0123456789abcdef0123456789abcdef",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": BUCKET if prev_key else None,
            "previousDigestS3Object": prev_key,
            "previousDigestHashValue": prev_hash,
            "previousDigestHashAlgorithm": "SHA-256" if prev_key else None,
            "previousDigestSignature": "ab" * 32 if prev_key else None,
            "logFiles": [
                {
                    "s3Bucket": BUCKET,
                    "s3Object": _log_key(hour),
                    "hashValue": hashlib.sha256(payload).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": f"2025-01-20T{hour:02d}:01:00Z",
                    "oldestEventTime": f"2025-01-20T{hour:02d}:01:00Z",
                }
            ],
        }
        digest_bytes = json.dumps(digest).encode()
        digest_path = root / _digest_key(hour)
        _write_gz(digest_path, digest_bytes)
        out[f"log{hour}"] = log_path
        out[f"digest{hour}"] = digest_path
        prev_key, prev_hash = _digest_key(hour), hashlib.sha256(digest_bytes).hexdigest()
    return out


def _rewrite_json(path: Path, change) -> None:
    with gzip.open(path, "rb") as fh:
        doc = json.load(fh)
    change(doc)
    _write_gz(path, json.dumps(doc).encode())


def test_intact_trail_validates(tmp_path: Path) -> None:
    _build_trail(tmp_path)
    result = check([tmp_path])
    assert result.status == "valid"
    assert [c.status for c in result.log_checks] == [Status.OK] * 3
    assert [d.previous_status for d in result.digests] == [Status.START, Status.OK, Status.OK]
    assert result.gaps == ()
    assert result.unlisted == ()


def test_digest_hash_is_of_uncompressed_content(tmp_path: Path) -> None:
    files = _build_trail(tmp_path, hours=(9,))
    with gzip.open(files["log9"], "rb") as fh:
        payload = fh.read()
    _write_gz(files["log9"], payload, mtime=1_700_000_000)  # same content, different gzip bytes
    result = check([tmp_path])
    assert result.status == "valid"
    ev = next(f for f in result.files if f.path == str(files["log9"]))
    assert ev.sha256 == hashlib.sha256(files["log9"].read_bytes()).hexdigest()
    assert ev.sha256_uncompressed == hashlib.sha256(payload).hexdigest()
    assert ev.sha256 != ev.sha256_uncompressed


def test_tampered_log_file_is_a_mismatch(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)
    _rewrite_json(files["log10"], lambda doc: doc["Records"][0].update(sourceIPAddress="198.51.100.7"))
    result = check([tmp_path])
    assert result.status == "invalid"
    bad = [c for c in result.log_checks if c.status is Status.MISMATCH]
    assert [c.path for c in bad] == [str(files["log10"])]
    assert bad[0].actual != bad[0].expected


def test_deleted_log_file_is_missing(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)
    files["log11"].unlink()
    result = check([tmp_path])
    assert result.status == "incomplete"
    missing = [c for c in result.log_checks if c.status is Status.MISSING]
    assert [c.s3_object for c in missing] == [_log_key(11)]
    assert missing[0].path is None


def test_log_file_no_digest_lists_is_reported(tmp_path: Path) -> None:
    _build_trail(tmp_path, hours=(9,))
    extra = tmp_path / f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2025/01/20/extra.json.gz"
    _write_gz(extra, json.dumps({"Records": [_record("e-x", "2025-01-20T09:30:00Z")]}).encode())
    result = check([tmp_path])
    assert result.unlisted == (str(extra),)
    assert result.status == "incomplete"


def test_missing_digest_in_the_middle_is_a_gap(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)
    files["digest10"].unlink()
    result = check([tmp_path])
    assert result.status == "incomplete"
    assert [d.previous_status for d in result.digests] == [Status.START, Status.MISSING]
    assert len(result.gaps) == 1
    gap = result.gaps[0]
    assert gap.after == datetime(2025, 1, 20, 10, tzinfo=UTC)
    assert gap.before == datetime(2025, 1, 20, 11, tzinfo=UTC)
    assert _digest_key(10) in gap.reason
    assert result.unlisted == (str(files["log10"]),)


def test_modified_previous_digest_breaks_the_link(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)
    _rewrite_json(files["digest9"], lambda doc: doc["logFiles"].clear())
    result = check([tmp_path])
    assert result.status == "invalid"
    assert [d.previous_status for d in result.digests] == [Status.START, Status.MISMATCH, Status.OK]


def test_chain_restart_is_a_gap(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)

    def restart(doc: dict) -> None:
        for name in ("previousDigestS3Object", "previousDigestHashValue", "previousDigestS3Bucket"):
            doc[name] = None

    _rewrite_json(files["digest11"], restart)
    result = check([tmp_path])
    assert [d.previous_status for d in result.digests] == [Status.START, Status.OK, Status.START]
    assert [g.reason.startswith("the chain restarts") for g in result.gaps] == [True]


def test_first_digest_pointing_to_an_absent_one_says_earlier_digests_are_missing(tmp_path: Path) -> None:
    files = _build_trail(tmp_path)
    files["digest9"].unlink()
    result = check([files["digest10"], files["digest11"], files["log10"], files["log11"]])
    assert result.digests[0].previous_status is Status.MISSING
    assert [g.after for g in result.gaps] == [None]
    assert result.status == "incomplete"


def test_result_says_signatures_were_not_verified(tmp_path: Path) -> None:
    _build_trail(tmp_path, hours=(9,))
    out = check([tmp_path]).to_dict()
    assert out["signatures_verified"] is False
    assert "x-amz-meta-signature" in out["signature_note"]
    assert "ListPublicKeys" in out["signature_note"]
    json.dumps(out)  # JSON-ready


def test_no_digests_is_its_own_status(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps({"Records": [_record("e-1", "2025-01-20T09:00:00Z")]}))
    result = check([tmp_path])
    assert result.status == "no-digests"
    assert result.unlisted == ()
    assert [f.kind for f in result.files] == ["log"]


def test_evidence_files_take_time_range_from_events(tmp_path: Path) -> None:
    files = _build_trail(tmp_path, hours=(9, 10))
    events = pd.DataFrame(
        {
            "eventTime": pd.to_datetime(
                ["2025-01-20T09:01:00Z", "2025-01-20T09:40:00Z", "2025-01-20T10:01:00Z"], utc=True
            ),
            "evidence.file": [str(files["log9"]), str(files["log9"]), str(files["log10"])],
        }
    )
    by_path = {f.path: f for f in evidence_files([tmp_path], events=events)}
    nine = by_path[str(files["log9"])]
    assert (nine.records, nine.first_event, nine.last_event) == (
        2,
        datetime(2025, 1, 20, 9, 1, tzinfo=UTC),
        datetime(2025, 1, 20, 9, 40, tzinfo=UTC),
    )
    digest = by_path[str(files["digest9"])]
    assert (digest.kind, digest.first_event, digest.last_event) == (
        "digest",
        datetime(2025, 1, 20, 9, tzinfo=UTC),
        datetime(2025, 1, 20, 10, tzinfo=UTC),
    )


def test_evidence_files_match_relative_evidence_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _build_trail(tmp_path, hours=(9,))
    monkeypatch.chdir(tmp_path)
    events = pd.DataFrame(
        {"eventTime": pd.to_datetime(["2025-01-20T09:01:00Z"], utc=True), "evidence.file": [_log_key(9)]}
    )
    ev = next(f for f in evidence_files([files["log9"]], events=events))
    assert ev.records == 1


def test_hash_file_of_plain_file_gives_equal_hashes(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'{"Records": []}')
    size, sha, plain = hash_file(path)
    assert (size, sha) == (15, hashlib.sha256(b'{"Records": []}').hexdigest())
    assert plain == sha


def test_corrupt_gzip_is_unreadable_not_ok(tmp_path: Path) -> None:
    files = _build_trail(tmp_path, hours=(9,))
    data = files["log9"].read_bytes()
    files["log9"].write_bytes(data[: len(data) // 2])
    result = validate_digests([tmp_path])
    assert [c.status for c in result.log_checks] == [Status.UNREADABLE]
    assert result.status == "invalid"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (_digest_key(9), True),
        (_log_key(9), False),
        ("evidence/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20250120T100000Z.json.gz", True),
    ],
)
def test_is_digest(path: str, expected: bool) -> None:
    assert is_digest(path) is expected


def test_evidence_file_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EvidenceFile(
            path="x",
            kind="log",
            size=1,
            sha256="0",
            sha256_uncompressed="0",
            first_event=datetime(2025, 1, 1),  # noqa: DTZ001
        )


def test_files_the_loader_skipped_are_not_evidence(tmp_path: Path) -> None:
    import ircreds

    _build_trail(tmp_path, hours=(9,))
    notes = tmp_path / "answer_key.json"
    notes.write_text(json.dumps({"leaked_access_key_id": "ASIAIOSFODNN7EXAMPLE"}))
    events = ircreds.load(tmp_path)
    result = check([tmp_path], events=events)
    assert str(notes) not in {f.path for f in result.files}
    assert [p for p, _ in result.skipped] == [str(notes)]
    assert result.status == "valid"
    assert {f.kind for f in result.files} == {"log", "digest"}
    log_file = next(f for f in result.files if f.kind == "log")
    assert (log_file.records, log_file.first_event) == (1, datetime(2025, 1, 20, 9, 1, tzinfo=UTC))


def test_file_removed_while_checking_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ircreds.evidence.integrity as integrity

    files = _build_trail(tmp_path, hours=(9, 10))
    real = integrity.hash_file

    def vanish_then_hash(path):  # the race: listed, then deleted before it is read
        if Path(path) == files["log10"]:
            Path(path).unlink()
        return real(path)

    monkeypatch.setattr(integrity, "hash_file", vanish_then_hash)
    result = check([tmp_path])
    assert [e.split(":")[0] for e in result.errors] == [str(files["log10"])]
    assert [c.status for c in result.log_checks] == [Status.OK, Status.MISSING]
    assert result.status == "incomplete"
