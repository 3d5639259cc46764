"""Defence evasion: logging stopped or narrowed, detectors and flow logs deleted (aws-facts §3.10)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, make, slim, successful_calls_named, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

ACTIONS = frozenset(
    {
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
        "PutInsightSelectors",
        "DeleteDetector",
        "UpdateDetector",
        "DisassociateFromMasterAccount",
        "CreateIPSet",
        "CreateFilter",
        "DeleteFlowLogs",
        "StopConfigurationRecorder",
        "DeleteConfigurationRecorder",
        "DeleteDeliveryChannel",
        "DeleteResolverQueryLogConfig",
        "DisableRule",
        "DeleteRule",
        "LeaveOrganization",
    }
)

SPEC = FindingSpec(
    id="defense_evasion",
    title="Logging or detection turned off",
    severity=Severity.CRITICAL,
    mitre=("TA0005:T1562.008",),
    description=(
        "Stopping a trail, narrowing its event selectors, deleting a GuardDuty detector or VPC flow logs "
        "blinds the responders: whatever the key did afterwards may be missing from the evidence."
    ),
    reference="https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html",
    runbook=(
        "Restore logging at once (StartLogging, recreate the detector and flow logs).",
        "Treat the gap between the change and the restore as unobserved: widen the evidence to other sources.",
        "Add an SCP that denies these actions to everyone but the security team.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """One finding listing the successful defence-evasion calls made with this credential."""
    hits = successful_calls_named(slim(trace.calls), ACTIONS)
    if hits.empty:
        return []
    parts = [
        f"{n} ({s}, {r}) at {when(t)}"
        for n, s, r, t in zip(
            col(hits, "eventName"),
            col(hits, "eventSource"),
            col(hits, "awsRegion"),
            hits["eventTime"],
            strict=True,
        )
    ]
    summary = f"{trace.key} turned off logging or detection: " + "; ".join(parts[:8])
    return [make(SPEC, trace, summary, ids(hits))]
