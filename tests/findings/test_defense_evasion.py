from __future__ import annotations

import pytest

from findings.records import K1, base_session, k1_identity, record, t, traced
from ircreds.findings import defense_evasion


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("StopLogging", "cloudtrail.amazonaws.com"),
        ("DeleteTrail", "cloudtrail.amazonaws.com"),
        ("PutEventSelectors", "cloudtrail.amazonaws.com"),
        ("DeleteDetector", "guardduty.amazonaws.com"),
        ("DeleteFlowLogs", "ec2.amazonaws.com"),
    ],
)
def test_defense_evasion_flags_logging_and_detection_turned_off(name: str, source: str) -> None:
    call = record(k1_identity(), name, t(60), source=source, request={"name": "org-trail"})
    found = defense_evasion.detect(traced([*base_session(), call], K1))
    assert len(found) == 1
    assert name in found[0].summary
    assert source in found[0].summary


def test_defense_evasion_ignores_failed_attempts_and_lookups() -> None:
    recs = [
        *base_session(),
        record(k1_identity(), "StopLogging", t(60), source="cloudtrail.amazonaws.com", error="AccessDenied"),
        record(k1_identity(), "DescribeTrails", t(61), source="cloudtrail.amazonaws.com"),
    ]
    assert defense_evasion.detect(traced(recs, K1)) == []
