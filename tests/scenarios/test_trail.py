"""``write_trail``: the benchmark trail, written by two processes, is a complete, valid trail."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import ircreds
from ircreds.scenarios import write_trail


def test_two_process_trail_loads_and_hides_the_incident(tmp_path: Path) -> None:
    out = write_trail(tmp_path / "trail", events=12_000, seed=0, workers=2)
    key = json.loads((out / "answer_key.json").read_text())
    df = ircreds.load(out / "AWSLogs")
    report = df.attrs["load_report"]
    assert report["rejects"] == []
    assert report["id_collisions"] == []
    assert len(df) == key["scenario"]["events"]
    assert 11_000 <= len(df) <= 13_000
    leaked = df[df["userIdentity.accessKeyId"] == key["leaked_access_key_id"]]
    assert key["first_malicious_event_id"] in set(leaked["eventID"])
    assert {s["legitimate"] for s in key["cut_sessions"]} == {True, False}
    listed = {}
    for path in out.rglob("*CloudTrail-Digest_*.json.gz"):
        for entry in json.loads(gzip.decompress(path.read_bytes()))["logFiles"]:
            listed[entry["s3Object"]] = entry["hashValue"]
    logs = [p for p in out.rglob("*.json.gz") if "/CloudTrail/" in p.as_posix()]
    assert len(listed) == len(logs)
    for p in logs[:50]:
        assert (
            hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest()
            == listed[p.relative_to(out).as_posix()]
        )


def test_trail_is_reproducible(tmp_path: Path) -> None:
    a = write_trail(tmp_path / "a", events=2000, seed=3)
    b = write_trail(tmp_path / "b", events=2000, seed=3)
    files_a = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    assert files_a == files_b
