"""validate_logs: a signed digest chain passes, and each kind of tampering is caught and named."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

from ircreds.evidence import signatures
from ircreds.integrity import FileStatus, SignatureStatus, validate_logs
from ircreds.scenarios.signing import region_key
from ircreds.scenarios.writer import TrailWriter

START = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


def _records(hours: int = 4) -> list[dict]:
    out = []
    for i in range(hours * 12):
        t = START + timedelta(minutes=5 * i, seconds=7)
        for region in ("us-east-1", "eu-west-1"):
            out.append(
                {
                    "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventName": "ListBuckets",
                    "eventID": f"{region}-{i:04d}",
                    "awsRegion": region,
                    "recipientAccountId": ACCOUNT,
                }
            )
    return out


def _write(root: Path, *, drop_hour: int | None = None) -> Path:
    writer = TrailWriter(root, seed="validation-test", duplicate_rate=0.0)
    writer.add_all(_records())
    writer.finish()
    if drop_hour is not None:  # CloudTrail's digest for that hour lists nothing, yet files were delivered
        hour = START + timedelta(hours=drop_hour)
        writer.files = [
            f
            for f in writer.files
            if not (f.region == "us-east-1" and f.delivered.replace(minute=0, second=0) == hour)
        ]
    writer.digests(START, START + timedelta(hours=4), ["us-east-1", "eu-west-1"])
    return root


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    return _write(tmp_path / "trail")


def _digests(root: Path, region: str = "us-east-1") -> list[Path]:
    return sorted((root / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / region).rglob("*.json.gz"))


def _logs(root: Path, region: str = "us-east-1") -> list[Path]:
    return sorted((root / "AWSLogs" / ACCOUNT / "CloudTrail" / region).rglob("*.json.gz"))


def _read(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def _rewrite_digest(path: Path, doc: dict, key, root: Path, *, metadata: bool = False) -> str:
    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw, mtime=0))
    import hashlib

    signature = signatures.sign(key, signatures.signing_string(doc, hashlib.sha256(raw).hexdigest()))
    if metadata:
        manifest = json.loads((root / "manifest.json").read_text())
        for entry in manifest["files"]:
            if entry["s3_key"] == doc["digestS3Object"]:
                entry["metadata"]["signature"] = signature
        (root / "manifest.json").write_text(json.dumps(manifest))
    return signature


def test_valid_signed_chain_passes(trail: Path) -> None:
    report = validate_logs(trail)
    assert report.status == "valid", report.problems
    assert report.ok
    assert report.counts["signatures_valid"] == report.counts["digests"] == 2 * 5
    assert report.counts["files_valid"] == len(_logs(trail)) + len(_logs(trail, "eu-west-1"))
    newest = [d for d in report.digests if d.end == max(x.end for x in report.digests)]
    assert {d.signature_source for d in newest} == {"S3 metadata"}


def test_one_byte_changed_in_a_log_file_is_modified_and_named(trail: Path) -> None:
    victim = _logs(trail)[3]
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[raw.index(b"ListBuckets")] = ord("M")
    victim.write_bytes(gzip.compress(bytes(raw), mtime=0))
    report = validate_logs(trail)
    assert report.status == "invalid"
    bad = [f for f in report.files if f.status is not FileStatus.VALID]
    assert [(Path(f.path), f.status) for f in bad] == [(victim, FileStatus.MODIFIED)]
    assert any(str(victim) in p for p in report.problems)


def test_a_removed_log_file_is_missing_from_the_evidence(trail: Path) -> None:
    victim = _logs(trail)[5]
    victim.unlink()
    report = validate_logs(trail)
    assert report.status == "incomplete"
    missing = [f for f in report.files if f.status is FileStatus.MISSING]
    assert [Path(f.s3_object).name for f in missing] == [victim.name]


def test_a_removed_digest_breaks_the_chain(trail: Path) -> None:
    digests = _digests(trail)
    victim = digests[2]
    listed = {Path(e["s3Object"]).name for e in _read(victim)["logFiles"]}
    victim.unlink()
    report = validate_logs(trail)
    assert report.status == "incomplete"
    assert report.counts["links_broken"] == 1
    assert [g.chain.split("/")[1] for g in report.gaps] == ["us-east-1"]
    # the digest before it lost the only copy of its signature; the files it listed are now unlisted
    before = next(d for d in report.digests if Path(d.path) == digests[1])
    assert before.signature is SignatureStatus.UNVERIFIABLE
    assert {Path(f.path).name for f in report.files if f.status is FileStatus.NOT_COVERED} == listed


def test_a_digest_resigned_with_another_key_is_invalid(trail: Path) -> None:
    victim = _digests(trail)[1]
    doc = _read(victim)
    doc["logFiles"] = doc["logFiles"][1:]  # hide a log file, then sign again with a key that is not AWS's
    _rewrite_digest(victim, doc, region_key("attacker-1"), trail)
    report = validate_logs(trail)
    assert report.status == "invalid"
    verdict = next(d for d in report.digests if Path(d.path) == victim)
    assert verdict.signature is SignatureStatus.INVALID
    assert "does not verify" in verdict.signature_reason


def test_the_newest_digest_resigned_with_another_key_is_invalid(trail: Path) -> None:
    victim = _digests(trail)[-1]
    doc = _read(victim)
    doc["logFiles"] = []
    _rewrite_digest(victim, doc, region_key("attacker-1"), trail, metadata=True)
    report = validate_logs(trail)
    verdict = next(d for d in report.digests if Path(d.path) == victim)
    assert verdict.signature is SignatureStatus.INVALID
    assert verdict.signature_source == "S3 metadata"
    assert report.status == "invalid"


def test_a_digest_naming_an_unknown_key_is_unverifiable(trail: Path) -> None:
    victim = _digests(trail)[-1]
    doc = _read(victim)
    attacker = region_key("attacker-1")
    doc["digestPublicKeyFingerprint"] = signatures.fingerprint(
        signatures.public_key_der(attacker.public_key())
    )
    _rewrite_digest(victim, doc, attacker, trail, metadata=True)
    report = validate_logs(trail)
    verdict = next(d for d in report.digests if Path(d.path) == victim)
    assert verdict.signature is SignatureStatus.UNVERIFIABLE
    assert "no public key with fingerprint" in verdict.signature_reason
    assert not report.ok


def test_an_empty_digest_for_an_hour_with_files_is_flagged(tmp_path: Path) -> None:
    root = _write(tmp_path / "t", drop_hour=1)
    report = validate_logs(root)
    assert report.counts["signatures_invalid"] == 0  # CloudTrail signed it: only the emptiness is wrong
    empty = [d for d in report.digests if d.unlisted_in_window]
    assert len(empty) == 1
    assert empty[0].start == START + timedelta(hours=1)
    assert empty[0].log_files == 0
    in_hour = [p for p in _logs(root) if "_20250120T10" in p.name]
    assert in_hour
    assert sorted(Path(p) for p in empty[0].unlisted_in_window) == in_hour
    assert report.counts["empty_digests_with_files"] == 1
    assert any("lists no log file" in p for p in report.problems)
    assert report.status == "incomplete"


def test_a_log_file_no_digest_lists_is_not_covered(trail: Path) -> None:
    source = _logs(trail)[0]
    added = source.with_name(source.name.replace(source.name[-24:-8], "ZZZZZZZZZZZZZZZZ"))
    shutil.copy(source, added)
    report = validate_logs(trail)
    assert report.status == "incomplete"
    assert [Path(f.path) for f in report.files if f.status is FileStatus.NOT_COVERED] == [added]


def test_a_missing_newest_signature_is_unverifiable(trail: Path) -> None:
    (trail / "manifest.json").unlink()
    report = validate_logs(trail)
    unverifiable = [d for d in report.digests if d.signature is SignatureStatus.UNVERIFIABLE]
    assert len(unverifiable) == 2  # the newest of each region's chain
    assert all("x-amz-meta-signature" in d.signature_reason for d in unverifiable)
    assert report.status == "incomplete"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from ircreds.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, cwd=REPO
    )


def test_cli_validates_the_walkthrough_sample_with_no_flag() -> None:
    result = _cli("validate-logs", str(SAMPLES / "walkthrough"), "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "valid"
    assert doc["counts"]["signatures_valid"] == doc["counts"]["digests"] > 0
    assert doc["counts"]["files_valid"] > 0


def test_cli_fails_on_one_byte_and_names_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "walkthrough"
    shutil.copytree(SAMPLES / "walkthrough", copy)
    victim = sorted((copy / "AWSLogs").rglob("CloudTrail/us-east-1/*/*/*/*.json.gz"))[10]
    raw = bytearray(gzip.decompress(victim.read_bytes()))
    raw[-3] = ord("]") if raw[-3] != ord("]") else ord(" ")
    victim.write_bytes(gzip.compress(bytes(raw), mtime=0))
    result = _cli("validate-logs", str(copy))
    assert result.returncode == 1
    assert "status: invalid" in result.stdout
    assert f"{victim}: modified" in result.stdout


def test_load_with_validate_puts_the_result_in_the_load_report(trail: Path) -> None:
    import ircreds

    report = ircreds.load(trail, validate=True).attrs["load_report"]
    assert report["integrity"]["status"] == "valid"
    _logs(trail)[0].unlink()
    report = ircreds.load(trail, validate=True).attrs["load_report"]
    assert report["integrity"]["status"] == "incomplete"
    assert report["integrity"]["counts"]["files_missing"] == 1
    assert any(c.startswith("digest validation: incomplete") for c in report["caveats"])
    assert "integrity" not in ircreds.load(trail).attrs["load_report"]


def test_post_incident_report_states_the_signature_check() -> None:
    import ircreds
    from ircreds.report import render

    sample = SAMPLES / "walkthrough"
    key = json.loads((sample / "answer_key.json").read_text())["leaked_access_key_id"]
    events = ircreds.load(sample)
    report = render(ircreds.trace(events, key), events=events, fmt="md", figures=False, integrity=True)
    validation = report.data["evidence"]["validation"]
    assert validation["status"] == "valid"
    assert validation["counts"]["signatures_valid"] == validation["counts"]["digests"]
    assert any(c.startswith("Digest signatures (SHA256withRSA) checked:") for c in report.data["caveats"])
    assert signatures.SIGNATURE_ALGORITHM in report.text
    assert "were not checked" not in report.text
