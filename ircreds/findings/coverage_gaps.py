"""Coverage gaps: what the evidence cannot show about this credential (aws-facts §1.6, §2.2)."""

from __future__ import annotations

from ircreds.findings._util import ids, make, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

SPEC = FindingSpec(
    id="coverage_gaps",
    title="Evidence does not cover the whole life of the credential",
    severity=Severity.MEDIUM,
    mitre=(),
    description=(
        "A trace is only as complete as the logs loaded. Data events (S3 object reads, Lambda invokes) are "
        "off by default; logs may start after the key was issued or stop before it expired; the accounts "
        "that own chained roles or that issued the key may be missing. Each gap is a place the intruder's "
        "actions may hide."
    ),
    reference="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html",
    runbook=(
        "Load the missing days, regions and accounts (organisation trail, the role owner's trail).",
        "Check whether the trail logs data events for sensitive buckets and functions.",
        "Say in the report what the evidence cannot show.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """Findings for missing data events, logs starting late or ending early, and missing accounts."""
    s = trace.session
    ev = trace.evidence
    found = []
    if trace.depth == 0 and ev.event_count and ev.data_event_count == 0:
        found.append(
            make(
                SPEC,
                trace,
                f"the evidence ({ev.event_count:,} events) holds no data events: S3 object reads, Lambda "
                f"invocations and DynamoDB item reads made with {trace.key} would not appear",
                severity=Severity.LOW,
            )
        )
    if ev.start is not None:
        if s.issued_at is not None and s.issued_at < ev.start:
            found.append(
                make(
                    SPEC,
                    trace,
                    f"{trace.key} was issued at {when(s.issued_at)}, before the evidence starts at "
                    f"{when(ev.start)}: its issuing event and earliest calls are missing; load earlier logs",
                )
            )
        elif s.observed_only and trace.summary.first is not None and not trace.key.startswith("AKIA"):
            created = f" (its calls say it was issued at {when(s.issued_at)})" if s.issued_at else ""
            found.append(
                make(
                    SPEC,
                    trace,
                    f"no issuing event for {trace.key} is in the evidence{created}; first seen at "
                    f"{when(trace.summary.first)}: load the issuing account's trail (STS events of "
                    f"{s.account_id or 'its account'}, us-east-1 for the global endpoint)",
                    ids(trace.calls.iloc[:1]),
                )
            )
    if ev.end is not None and s.expires_at is not None and s.expires_at > ev.end and trace.summary.count:
        found.append(
            make(
                SPEC,
                trace,
                f"the evidence ends at {when(ev.end)} but {trace.key} stays valid until {when(s.expires_at)}: "
                "later calls are not in the evidence; load later logs",
                severity=Severity.LOW,
            )
        )
    if ev.accounts and s.account_id and s.account_id not in ev.accounts:
        found.append(
            make(
                SPEC,
                trace,
                f"{trace.key} belongs to account {s.account_id}, whose own trail is not in the evidence "
                f"(accounts loaded: {', '.join(ev.accounts)}); its calls there are missing",
            )
        )
    return found
