"""An event-history (lookup-events) export loaded with the trail: the load report says what it adds."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import ircreds


def _record(i: int) -> dict:
    return {"eventVersion": "1.08", "eventTime": f"2025-01-20T10:{i:02d}:00Z", "eventName": "DescribeInstances",
            "eventSource": "ec2.amazonaws.com", "awsRegion": "us-east-1", "eventID": f"e-{i:04d}",
            "recipientAccountId": "123456789012"}  # fmt: skip


def _export(records: list[dict]) -> dict:
    return {"Events": [{"EventId": r["eventID"], "EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)}
                       for r in records]}  # fmt: skip


def _trail(root: Path, records: list[dict]) -> Path:
    path = (
        root
        / "AWSLogs/123456789012/CloudTrail/us-east-1/2025/01/20/123456789012_CloudTrail_us-east-1_20250120T1010Z_a.json.gz"
    )
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return root


def test_load_report_counts_history_events_the_trail_holds_and_names_those_it_lacks(tmp_path: Path) -> None:
    trail = _trail(tmp_path / "trail", [_record(i) for i in range(5)])
    history = tmp_path / "history.json"
    history.write_text(json.dumps(_export([_record(i) for i in (1, 2, 3, 7)])))
    report = ircreds.load(trail, history).attrs["load_report"]
    caveat = [c for c in report["caveats"] if "event-history" in c]
    assert caveat == [
        "3 of 4 event-history (lookup-events) events duplicate the trail's; 1 do not, evidence the trail "
        "lacks (eventID e-0007)"
    ]


def test_a_history_export_alone_gets_no_duplicate_caveat(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps(_export([_record(1)])))
    report = ircreds.load(history).attrs["load_report"]
    assert not [c for c in report["caveats"] if "event-history" in c]
