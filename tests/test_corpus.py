"""Every record of the third-party corpus loads, and the values third parties assert match the frame.

The corpus lives outside the repository (``tests/conftest.py::CORPUS``); the tests skip only when
that folder is absent.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import CORPUS

import ircreds
from ircreds.schema import STRING_COLUMNS, validate_events

FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(not FILES, reason=f"third-party corpus not found at {CORPUS}")


def _corpus(path: Path) -> dict:
    return json.loads(path.read_text())


def _secrets(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            secret = k.lower() in ("sessiontoken", "secretaccesskey") and isinstance(v, str)
            if secret and len(v) > 8 and not v.replace("_", "").isupper():  # not a placeholder word
                found.add(v)
            _secrets(v, found)
    elif isinstance(value, list):
        for v in value:
            _secrets(v, found)
    return found


def _time_ok(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        pd.to_datetime(value, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_corpus_record_loads_or_is_rejected_for_its_time(path: Path, tmp_path: Path) -> None:
    records = _corpus(path)["records"]
    delivery = (
        tmp_path
        / "AWSLogs"
        / "111122223333"
        / "CloudTrail"
        / "us-east-1"
        / "2025"
        / "01"
        / "20"
        / "f.json.gz"
    )
    delivery.parent.mkdir(parents=True)
    delivery.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    for df in (ircreds.load(records), ircreds.load(delivery)):
        validate_events(df)
        report = df.attrs["load_report"]
        assert report["records_read"] == len(records)
        assert report["records_read"] == report["events"] + report["duplicates"] + len(report["rejects"])
        rejected = {r["record"] for r in report["rejects"]}
        assert None not in rejected  # no whole-file failure
        assert rejected == {i for i, r in enumerate(records) if not _time_ok(r.get("eventTime"))}
        secrets = _secrets(records, set())
        for column in STRING_COLUMNS:
            text = "\n".join(df[column].dropna().astype(str))
            assert not any(s in text for s in secrets), column


def _expected_files() -> list[Path]:
    return [p for p in FILES if "expected" in _corpus(p)]


def _cases() -> list[tuple[Path, int, dict]]:
    return [(p, e["record_index"], e["facts"]) for p in _expected_files() for e in _corpus(p)["expected"]]


@pytest.mark.parametrize(
    ("path", "index", "facts"), _cases(), ids=lambda v: v.stem if isinstance(v, Path) else ""
)
def test_third_party_assertions_match_the_frame(path: Path, index: int, facts: dict) -> None:
    records = _corpus(path)["records"]
    df = ircreds.load(records)
    rows = df[df["evidence.line"] == index]
    if rows.empty:  # dropped as a re-delivery: the first copy with that id carries the same content
        rows = df[df["eventID"] == records[index]["eventID"]]
    row = rows.iloc[0]
    for field, value in facts.items():
        if field == "eventTime":
            assert row["eventTime"] == pd.Timestamp(value), field
        elif field == "responseElements.credentials.accessKeyId":
            assert row["issued.accessKeyId"] == value
            assert json.loads(row["responseElements"])["credentials"]["accessKeyId"] == value
        else:
            assert str(row[field]) == value, field


def test_every_corpus_credential_traces_and_the_case_store_agrees(tmp_path: Path) -> None:
    """Third-party credentials (placeholders, missing parameters and user agents included) trace without
    error, and the case store gives the same sessions table and traces as memory."""
    from ircreds.engines import index, open_case

    evidence = tmp_path / "ev"
    evidence.mkdir()
    for path in FILES:
        (evidence / path.name).write_text(json.dumps({"Records": _corpus(path)["records"]}))
    events = ircreds.load(evidence)
    keys = ircreds.sessions(events)["access_key_id"].dropna().unique().tolist()
    assert len(keys) > 100
    index([evidence], tmp_path / "case")
    with open_case(tmp_path / "case") as case:
        pd.testing.assert_frame_equal(case.sessions(), ircreds.sessions(events))
        for key in keys:
            assert case.trace(key).to_dict() == ircreds.trace(events, key).to_dict(), key
