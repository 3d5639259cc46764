"""``sts:GetCallerIdentity`` as the first call from a new IP: the key is being checked (aws-facts §5.3)."""

from __future__ import annotations

from ircreds.findings._util import MAX_PER_VALUE, col, make, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

SPEC = FindingSpec(
    id="caller_identity_probe",
    title="GetCallerIdentity as the first call from a new IP",
    severity=Severity.HIGH,
    mitre=("TA0007:T1087.004",),
    description=(
        "Whoever finds a key first asks AWS whose it is: GetCallerIdentity needs no permission and cannot be "
        "denied. As the first call from an address the issuer never used, it marks the moment the key was "
        "picked up by someone else. Expect these probes to keep succeeding after a cut-off."
    ),
    reference="https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html",
    runbook=(
        "Take the probe's time as the earliest known attacker activity for this key.",
        "Look for the same IP on other keys and in other accounts.",
        "Do not count later GetCallerIdentity successes as a failed revocation.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """A finding for each new IP whose first call with this key is GetCallerIdentity."""
    calls = trace.calls
    new = set(trace.summary.new_source_ips)
    if calls.empty or not new:
        return []
    ips = col(calls, "sourceIPAddress").reset_index(drop=True)
    firsts = ips[ips.isin(sorted(new)).fillna(False)].drop_duplicates()  # first call from each new IP
    names = col(calls, "eventName").to_numpy(dtype=object)
    event_ids = col(calls, "eventID").to_numpy(dtype=object)
    found = []
    for pos, ip in firsts.items():
        if names[pos] != "GetCallerIdentity":
            continue
        summary = (
            f"the first call from {ip} with {trace.key} was sts:GetCallerIdentity at "
            f"{when(calls['eventTime'].iloc[pos])}: someone checked whose key it is"
        )
        found.append(make(SPEC, trace, summary, [event_ids[pos]]))
        if len(found) >= MAX_PER_VALUE * 2:
            break
    return found
