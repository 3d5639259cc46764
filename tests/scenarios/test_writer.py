"""The S3 delivery layout: names, regions, shuffled files, re-deliveries, digests, determinism."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import re
from pathlib import Path

import pytest

import ircreds
from ircreds.scenarios import generate

NAME = re.compile(
    r"AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
    r"\1_CloudTrail_\2_(\d{8})T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz"
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exercise")
    generate(8, events=4000, twists=["cross_account"]).write(out)
    return out


def logs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.json.gz") if "/CloudTrail/" in p.as_posix())


def test_log_files_follow_the_delivery_layout(written: Path) -> None:
    files = logs(written)
    regions = set()
    for path in files:
        m = NAME.fullmatch(path.relative_to(written).as_posix())
        assert m, path
        assert m.group(6) == m.group(3) + m.group(4) + m.group(5)  # folder date is the delivery date
        regions.add(m.group(2))
        assert path.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert len(regions) >= 3
    key = json.loads((written / "answer_key.json").read_text())
    accounts = {p.relative_to(written).parts[1] for p in files}
    assert accounts == {key["account_id"], key["other_account_id"]}
    sizes = sorted(len(json.loads(gzip.decompress(p.read_bytes()))["Records"]) for p in files)
    assert sizes[0] < sizes[-1] // 4


def test_records_inside_files_are_not_in_time_order(written: Path) -> None:
    unordered = 0
    for path in logs(written):
        times = [r["eventTime"] for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]]
        unordered += times != sorted(times)
    assert unordered > 0


def test_redelivered_records_share_event_id_and_content(written: Path) -> None:
    seen: dict[str, bytes] = {}
    repeats = 0
    for path in logs(written):
        for rec in json.loads(gzip.decompress(path.read_bytes()))["Records"]:
            blob = json.dumps(rec, sort_keys=True).encode()
            if rec["eventID"] in seen:
                repeats += 1
                assert seen[rec["eventID"]] == blob
            seen[rec["eventID"]] = blob
    assert repeats >= 1


def test_digests_hold_the_sha256_of_each_uncompressed_log_and_chain(written: Path) -> None:
    listed: dict[str, str] = {}
    chains: dict[tuple[str, str], list[dict]] = {}
    for path in sorted(written.rglob("*CloudTrail-Digest_*.json.gz")):
        raw = gzip.decompress(path.read_bytes())
        doc = json.loads(raw)
        assert doc["digestS3Object"] == path.relative_to(written).as_posix()
        chains.setdefault((doc["awsAccountId"], path.parent.parent.parent.parent.name), []).append(
            {"doc": doc, "sha": hashlib.sha256(raw).hexdigest()}
        )
        for entry in doc["logFiles"]:
            assert entry["s3Object"] not in listed
            listed[entry["s3Object"]] = entry["hashValue"]
    actual = {p.relative_to(written).as_posix(): p for p in logs(written)}
    assert set(listed) == set(actual)
    for rel, sha in listed.items():
        assert hashlib.sha256(gzip.decompress(actual[rel].read_bytes())).hexdigest() == sha
    for chain in chains.values():
        chain.sort(key=lambda d: d["doc"]["digestEndTime"])
        assert chain[0]["doc"]["previousDigestHashValue"] is None
        for prev, cur in itertools.pairwise(chain):
            assert cur["doc"]["previousDigestHashValue"] == prev["sha"]
            assert cur["doc"]["previousDigestS3Object"] == prev["doc"]["digestS3Object"]


def test_same_seed_writes_byte_identical_files(written: Path, tmp_path: Path) -> None:
    generate(8, events=4000, twists=["cross_account"]).write(tmp_path)
    ours = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    theirs = {p.relative_to(written): p.read_bytes() for p in written.rglob("*") if p.is_file()}
    assert ours == theirs


def test_another_seed_tells_another_story() -> None:
    a, b = generate(8, events=600, difficulty="easy"), generate(9, events=600, difficulty="easy")
    for field in ("account_id", "leaked_access_key_id", "attacker_ips", "issued_at", "issuer_arn"):
        assert a.answer_key[field] != b.answer_key[field]


def test_exercise_loads_with_no_rejects(written: Path) -> None:
    df = ircreds.load(written / "AWSLogs")
    report = df.attrs["load_report"]
    assert report["rejects"] == []
    key = json.loads((written / "answer_key.json").read_text())
    assert len(df) == key["scenario"]["events"]
    assert set(report["accounts"]) == {key["account_id"], key["other_account_id"]}
