from __future__ import annotations

from findings.records import K1, base_session, k1_identity, record, role_identity, t, traced
from ircreds.findings import coverage_gaps


def test_coverage_gaps_names_missing_data_events_and_issue_before_the_evidence() -> None:
    # only calls, issued 10 hours before the first record
    ident = role_identity(K1, created=t(-600))
    found = coverage_gaps.detect(traced([record(ident, "ListBuckets", t(1))], K1))
    summaries = " | ".join(f.summary for f in found)
    assert "no data events" in summaries
    assert "before the evidence starts" in summaries


def test_coverage_gaps_names_an_evidence_end_before_expiry() -> None:
    found = coverage_gaps.detect(traced(base_session(), K1))  # 12-hour session, evidence ends minutes later
    assert any("stays valid until" in f.summary for f in found)


def test_coverage_gaps_quiet_when_evidence_covers_the_session() -> None:
    recs = [*base_session()]
    recs[1]["requestParameters"]["durationSeconds"] = 900
    recs[1]["responseElements"]["credentials"]["expiration"] = "Jan 20, 2025, 9:15:00 AM"
    recs.append(
        record(
            k1_identity(),
            "GetObject",
            t(5),
            source="s3.amazonaws.com",
            eventCategory="Data",
            managementEvent=False,
        )
    )
    recs.append(record(k1_identity(), "DescribeInstances", t(30)))
    assert coverage_gaps.detect(traced(recs, K1)) == []
