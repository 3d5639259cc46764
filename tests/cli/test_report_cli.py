"""`ircreds report PATH... --key K --out FILE` end to end, on files in the S3 delivery layout."""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

import pytest

from ircreds.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_report import K1, SECTIONS, incident_records, tokens_in

ACCT = "111122223333"
NOW = "2025-01-20T13:00:00Z"


def _gz(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(payload)


def write_trail(root: Path) -> list[Path]:
    """The incident as two delivery files (morning, late morning) with a chained pair of digests."""
    records = incident_records()
    halves = {"0905": records[:2], "1205": records[2:]}
    prev_key = prev_hash = None
    start = "2025-01-20T08:30:00Z"
    logs = []
    for i, (stamp, part) in enumerate(halves.items()):
        key = (
            f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2025/01/20/"
            f"{ACCT}_CloudTrail_us-east-1_20250120T{stamp}Z_EXAMPLE{i:09d}.json.gz"
        )
        payload = json.dumps({"Records": part}).encode()
        _gz(root / key, payload)
        logs.append(root / key)
        digest_key = (
            f"AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2025/01/20/"
            f"{ACCT}_CloudTrail-Digest_us-east-1_main_us-east-1_20250120T{stamp[:2]}3000Z.json.gz"
        )
        digest = {
            "awsAccountId": ACCT,
            "digestStartTime": start,
            "digestEndTime": f"2025-01-20T{stamp[:2]}:30:00Z",
            "digestS3Bucket": "example-trail",
            "digestS3Object": digest_key,
            "previousDigestS3Object": prev_key,
            "previousDigestHashValue": prev_hash,
            "logFiles": [
                {
                    "s3Object": key,
                    "hashValue": hashlib.sha256(payload).hexdigest(),
                    "hashAlgorithm": "SHA-256",
                }
            ],
        }
        blob = json.dumps(digest).encode()
        _gz(root / digest_key, blob)
        prev_key, prev_hash = digest_key, hashlib.sha256(blob).hexdigest()
        start = digest["digestEndTime"]
    return logs


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("ext", ["html", "md"])
def test_report_cli_writes_the_report_and_appendix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ext: str
) -> None:
    write_trail(tmp_path / "logs")
    out = tmp_path / "out" / f"incident.{ext}"
    code, stdout, err = _run(
        capsys, "report", str(tmp_path / "logs"), "--key", K1, "--now", NOW, "--no-figures", "--out", str(out)
    )
    assert code == 0, err
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        [f"incident.{ext}", "incident-indicators.csv", "incident-indicators.json", "incident-evidence.csv"]
    )
    assert f"report: {out}" in stdout
    text = out.read_text()
    for heading in SECTIONS.values():
        assert heading in text
    assert "evidence valid (4 files, 2 digests)" in stdout
    assert f"--key {K1}" in text  # the exact command is recorded


def test_report_cli_validates_the_digests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_trail(tmp_path / "logs")
    out = tmp_path / "r.md"
    code, _, err = _run(
        capsys, "report", str(tmp_path / "logs"), "--key", K1, "--no-figures", "--out", str(out)
    )
    assert code == 0, err
    text = out.read_text()
    assert "### Digest validation: valid" in text
    assert "2 log file(s) listed: 2 match, 0 differ" in text
    assert "Signatures (SHA256withRSA): " in text  # the signature check is stated (validate_logs)


def test_report_cli_flags_a_tampered_log_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = write_trail(tmp_path / "logs")
    with gzip.open(logs[1], "rb") as fh:
        doc = json.load(fh)
    doc["Records"] = doc["Records"][:-1]  # someone removed the last record
    _gz(logs[1], json.dumps(doc).encode())
    out = tmp_path / "r.md"
    code, stdout, err = _run(
        capsys, "report", str(tmp_path / "logs"), "--key", K1, "--no-figures", "--out", str(out)
    )
    assert code == 0, err
    assert "evidence invalid" in stdout
    text = out.read_text()
    assert "### Digest validation: invalid" in text
    assert "**mismatch**" in text


def test_report_cli_output_holds_no_session_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_trail(tmp_path / "logs")
    secrets = set(tokens_in(incident_records()))
    for ext in ("html", "md"):
        out = tmp_path / "out" / f"r.{ext}"
        code, _, err = _run(
            capsys, "report", str(tmp_path / "logs"), "--key", K1, "--no-figures", "--out", str(out)
        )
        assert code == 0, err
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 5  # r.html, r.md and one shared set of appendix files (same stem)
    for path in files:
        blob = path.read_bytes()
        assert not [s for s in secrets if s.encode() in blob], path


def test_report_cli_renders_the_action_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_trail(tmp_path / "logs")
    record = tmp_path / "apply-record.json"
    record.write_text(
        json.dumps(
            {
                "who": f"arn:aws:iam::{ACCT}:user/responder",
                "when": "2025-01-20T11:59:30Z",
                "dry_run": False,
                "target": f"arn:aws:iam::{ACCT}:role/ExampleRole",
                "before": None,
                "after": {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": "from-the-record", "Effect": "Deny"}],
                },
            }
        )
    )
    out = tmp_path / "r.md"
    code, _, err = _run(
        capsys,
        "report",
        str(tmp_path / "logs"),
        "--key",
        K1,
        "--actions",
        str(record),
        "--detected-at",
        "2025-01-20T11:45:00Z",
        "--no-figures",
        "--out",
        str(out),
    )
    assert code == 0, err
    text = out.read_text()
    assert "from-the-record" in text
    assert "deny applied 2025-01-20T11:59:30Z" in text
    assert "(detected 2025-01-20T11:45:00Z)" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "report.pdf"], "end it with .html or .md"),
        (["--out", "r.md", "--cutoff", "2025-01-20T12:00:00"], "has no time zone"),
        (["--out", "r.md", "--cutoff", "noon"], "not an ISO 8601 time"),
        (["--out", "r.md", "--actions", "missing.json"], "does not exist"),
    ],
)
def test_report_cli_bad_arguments_give_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    write_trail(tmp_path / "logs")
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "report", "logs", "--key", K1, "--no-figures", *extra)
    assert code == 1
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_report_cli_unknown_key_says_what_the_evidence_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_trail(tmp_path / "logs")
    code, _, err = _run(
        capsys,
        "report",
        str(tmp_path / "logs"),
        "--key",
        "ASIAUNKNOWNEXAMPLE99",
        "--out",
        str(tmp_path / "r.md"),
    )
    assert code == 1
    assert "ASIAUNKNOWNEXAMPLE99" in err
    assert not (tmp_path / "r.md").exists()


WALKTHROUGH = Path(__file__).resolve().parents[2] / "data" / "samples" / "walkthrough"


def _walkthrough_tokens() -> set[str]:
    found: set[str] = set()
    for path in (WALKTHROUGH / "AWSLogs").rglob("*.json.gz"):
        if "CloudTrail-Digest" in path.parts:
            continue
        with gzip.open(path, "rb") as fh:
            found.update(tokens_in(json.load(fh)))
    return found


@pytest.fixture(scope="module")
def walkthrough_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    answer = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    out = tmp_path_factory.mktemp("walkthrough") / "walkthrough.md"
    argv = [
        "report",
        str(WALKTHROUGH),
        "--key",
        answer["leaked_access_key_id"],
        "--now",
        "2025-01-21T12:00:00Z",
    ]
    code = main([*argv, "--detected-at", "2025-01-20T11:50:00Z", "--out", str(out)])
    assert code == 0
    return out, answer


def test_walkthrough_report_has_every_section_and_its_files(walkthrough_report: tuple[Path, dict]) -> None:
    out, _ = walkthrough_report
    text = out.read_text()
    for heading in SECTIONS.values():
        assert f"\n## {heading}\n" in text
    for name in ("timeline.png", "lineage.png", "indicators.csv", "indicators.json", "evidence.csv"):
        path = out.parent / f"walkthrough-{name}"
        assert path.stat().st_size > 0, name
        assert (
            f"(walkthrough-{name})" in text
            or name == "evidence.csv"
            or name.endswith(".json")
            or name.endswith(".csv")
        )
    assert (out.parent / "walkthrough-timeline.png").read_bytes().startswith(b"\x89PNG")


def test_walkthrough_report_matches_the_answer_key(walkthrough_report: tuple[Path, dict]) -> None:
    out, answer = walkthrough_report
    text = out.read_text()
    indicators = json.loads((out.parent / "walkthrough-indicators.json").read_text())["indicators"]
    suspicious_ips = {i["value"] for i in indicators if i["type"] == "source_ip" and i["suspicious"]}
    assert suspicious_ips == set(answer["attacker_ips"])
    keys = {i["value"] for i in indicators if i["type"] == "access_key_id"}
    assert {
        answer["leaked_access_key_id"],
        *answer["chained_access_key_ids"],
        *answer["minted_access_key_ids"],
    } <= keys
    created = {i["value"] for i in indicators if i["type"] == "principal_created"}
    assert set(answer["minted_user_arns"]) <= created
    assert f"event `{answer['first_malicious_event_id']}`" in text  # first misuse
    assert f"event `{answer['issuing_event_id']}`" in text  # issued
    assert answer["issuer_arn"] in text
    for event_id in answer["persistence_event_ids"]:
        assert event_id in text  # key calls list them
    assert "### Digest validation: valid" in text
    assert answer["cutoff_event_id"] in text  # the deny seen in the logs
    assert "**containment incomplete" in text  # backup-svc's key is still usable
    assert "The cut-off holds (applied " + answer["cutoff"] in text  # verified on the role the logs show cut
    remaining = text[text.index("### What remains to do") : text.index("## 8. Evidence")]
    for key in answer["minted_access_key_ids"]:
        assert key in remaining


def test_walkthrough_report_holds_no_session_token(walkthrough_report: tuple[Path, dict]) -> None:
    out, _ = walkthrough_report
    secrets = _walkthrough_tokens()
    assert secrets, "the walkthrough logs carry (fake) session tokens to redact"
    for path in out.parent.iterdir():
        blob = path.read_bytes()
        assert not [s for s in secrets if s.encode() in blob], path


def test_report_cli_on_s3_evidence_says_the_files_were_not_hashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, aws_credentials: None
) -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")  # boto3 clients made by the loader
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="example-trail")
        key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2025/01/20/{ACCT}_CloudTrail_us-east-1_20250120T1205Z_x.json.gz"
        body = gzip.compress(json.dumps({"Records": incident_records()}).encode(), mtime=0)
        client.put_object(Bucket="example-trail", Key=key, Body=body)
        out = tmp_path / "r.md"
        code, stdout, err = _run(
            capsys, "report", "s3://example-trail/", "--key", K1, "--no-figures", "--out", str(out)
        )
    finally:
        server.stop()
    assert code == 0, err
    assert "files not hashed" in stdout
    text = out.read_text()
    assert "Digest validation was not run." in text
    assert "The digest files were not checked for this report" in text
    assert "(4 files" not in stdout
