"""acquire: copy a trail out of a moto S3 server with signatures and custody; validate-logs proves it."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ircreds.evidence import signatures
from ircreds.evidence.acquisition import ListPublicKeys, acquire
from ircreds.integrity import SignatureStatus, validate_logs
from ircreds.scenarios.signing import region_key
from ircreds.scenarios.writer import TrailWriter

# the bucket the generator's digests name (digestS3Bucket is part of what CloudTrail signs)
BUCKET = f"aws-cloudtrail-logs-123456789012-{hashlib.sha256(b'123456789012').hexdigest()[:8]}"
START = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
REGIONS = ("us-east-1", "eu-west-1")


def _trail(root: Path) -> Path:
    writer = TrailWriter(root, seed="acquire-test", duplicate_rate=0.0)
    for i in range(4 * 12):
        t = START + timedelta(minutes=5 * i, seconds=11)
        for region in REGIONS:
            writer.add(
                {
                    "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "eventName": "GetObject",
                    "eventID": f"{region}{i}",
                    "awsRegion": region,
                    "recipientAccountId": "123456789012",
                }
            )
    writer.close(START, START + timedelta(hours=4), REGIONS)
    return root


@pytest.fixture
def bucket(moto_endpoint: str, aws_credentials: None, tmp_path: Path) -> Iterator[tuple[boto3.Session, Path]]:
    """A versioned bucket holding a signed trail, each digest with the S3 metadata CloudTrail sets."""
    session = boto3.Session(region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    source = _trail(tmp_path / "delivered")
    for path in sorted((source / "AWSLogs").rglob("*.json.gz")):
        key = path.relative_to(source).as_posix()
        extra = {}
        if "/CloudTrail-Digest/" in key:
            raw = gzip.decompress(path.read_bytes())
            doc = json.loads(raw)
            assert doc["digestS3Bucket"] == BUCKET
            region = key.split("/")[3]
            signature = signatures.sign(
                region_key(region), signatures.signing_string(doc, hashlib.sha256(raw).hexdigest())
            )
            extra = {"Metadata": {"signature": signature, "signature-algorithm": "SHA256withRSA"}}
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(), **extra)
    yield session, source
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=BUCKET)


def _stubbed_keys(moto_endpoint: str) -> tuple[ListPublicKeys, Stubber]:
    """moto has no CloudTrail ListPublicKeys: that one call is stubbed (botocore validates its shape)."""
    client = boto3.client("cloudtrail", region_name="us-east-1", endpoint_url=moto_endpoint)
    stubber = Stubber(client)
    for region in sorted(REGIONS):
        der = signatures.public_key_der(region_key(region).public_key())
        stubber.add_response(
            "list_public_keys",
            {
                "PublicKeyList": [
                    {
                        "Value": der,
                        "ValidityStartTime": START - timedelta(days=1),
                        "ValidityEndTime": START + timedelta(days=30),
                        "Fingerprint": signatures.fingerprint(der),
                    }
                ]
            },
            {"StartTime": ANY, "EndTime": ANY},
        )
    stubber.activate()
    return ListPublicKeys(lambda region: client), stubber


def _acquire(session: boto3.Session, moto_endpoint: str, out: Path, **kw):
    keys, stubber = _stubbed_keys(moto_endpoint)
    result = acquire(
        f"s3://{BUCKET}/", out, start=START, end=START + timedelta(hours=5), now=NOW,
        session=session, endpoint_url=moto_endpoint, public_keys=keys, workers=3, **kw,
    )  # fmt: skip
    return result, stubber


def test_acquire_keeps_signatures_and_custody_and_validate_logs_proves_every_digest(
    bucket: tuple[boto3.Session, Path], moto_endpoint: str, tmp_path: Path
) -> None:
    session, source = bucket
    out = tmp_path / "case"
    seen: list[tuple[int, int]] = []
    result, stubber = _acquire(session, moto_endpoint, out, progress=lambda d, t: seen.append((d, t)))
    stubber.assert_no_pending_responses()
    assert result.problems == ()
    delivered = {p.relative_to(source).as_posix() for p in (source / "AWSLogs").rglob("*.json.gz")}
    copied = {p.relative_to(out).as_posix() for p in (out / "AWSLogs").rglob("*.json.gz")}
    assert copied == delivered
    assert result.copied == len(delivered)
    assert seen[-1][0] == len(delivered)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["acquired_by"].startswith("arn:aws:")
    assert {e["s3_key"] for e in manifest["files"]} == delivered
    for e in manifest["files"]:
        assert e["sha256"] == hashlib.sha256((out / e["path"]).read_bytes()).hexdigest()
        assert e["version_id"]
        assert e["etag"]
        assert e["size"] == (out / e["path"]).stat().st_size
        if "/CloudTrail-Digest/" in e["s3_key"]:
            assert e["metadata"]["signature-algorithm"] == "SHA256withRSA"
            assert len(e["metadata"]["signature"]) == 512
    assert len(json.loads((out / "public-keys.json").read_text())["PublicKeyList"]) == 2

    report = validate_logs(out)
    assert report.status == "valid", report.problems
    assert report.counts["signatures_valid"] == report.counts["digests"] == 10
    newest = {d.chain: d for d in report.digests}  # sorted by end within a chain: the last is the newest
    assert all(d.signature is SignatureStatus.VALID for d in newest.values())
    assert all("S3 metadata" in d.signature_source for d in newest.values())


def test_acquire_resumes_without_copying_again_and_never_overwrites(
    bucket: tuple[boto3.Session, Path], moto_endpoint: str, tmp_path: Path
) -> None:
    session, _ = bucket
    out = tmp_path / "case"
    first, _ = _acquire(session, moto_endpoint, out)
    again, _ = _acquire(session, moto_endpoint, out)
    assert again.copied == 0
    assert again.already_present == first.copied
    victim = sorted((out / "AWSLogs").rglob("CloudTrail/*/*/*/*/*.json.gz"))[0]
    victim.write_bytes(b"changed locally")
    third, _ = _acquire(session, moto_endpoint, out)
    assert victim.read_bytes() == b"changed locally"
    assert [p for p in third.problems if str(victim) in p and "not overwritten" in p]
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 3


def test_validate_logs_on_an_s3_url_names_files_by_their_urls(
    bucket: tuple[boto3.Session, Path], moto_endpoint: str
) -> None:
    session, _ = bucket
    keys, _ = _stubbed_keys(moto_endpoint)
    report = validate_logs(
        f"s3://{BUCKET}/", start=START, end=START + timedelta(hours=5), session=session,
        endpoint_url=moto_endpoint, public_keys=keys,
    )  # fmt: skip
    assert report.status == "valid", report.problems
    assert report.counts["signatures_valid"] == report.counts["digests"] == 10
    assert all(f.path.startswith(f"s3://{BUCKET}/AWSLogs/") for f in report.files)


def test_cli_acquire_then_validate_logs_with_the_keys_given(
    bucket: tuple[boto3.Session, Path], moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ircreds.cli import main

    out = tmp_path / "case"
    code = main(["acquire", f"s3://{BUCKET}/", "--start", "2025-01-20T09:00:00Z", "--end", "2025-01-20T14:00:00Z",
                 "--out", str(out), "--endpoint-url", moto_endpoint, "--no-progress", "--json"])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["copied"] > 0
    # moto has no ListPublicKeys: the CLI says so and exits 1; the files and signatures are kept
    assert code == 1
    assert all("cannot list CloudTrail public keys" in p for p in doc["problems"])
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(signatures.public_keys_document(
        signatures.keys_from_api([{"Value": signatures.public_key_der(region_key(r).public_key())} for r in REGIONS])
    )))  # fmt: skip
    assert main(["validate-logs", str(out), "--public-keys", str(keys)]) == 0
    assert "status: valid" in capsys.readouterr().out
