"""Instance-profile credentials used outside their instance's network (aws-facts §5.1)."""

from __future__ import annotations

import re

from ircreds.findings._util import col, ids, is_public_ip, make, plural, slim, when
from ircreds.model import CredentialKind, Finding, FindingSpec, Severity, Trace

_INSTANCE_SESSION = re.compile(r"^i-[0-9a-f]{8,17}$")

SPEC = FindingSpec(
    id="instance_credential_exfiltration",
    title="EC2 instance credentials used outside the instance's network",
    severity=Severity.HIGH,
    mitre=("TA0006:T1552.005",),
    description=(
        "Instance-profile credentials come from the instance metadata service and are meant to be used from "
        "the instance. Calls from a public address that none of the role's other sessions used (no VPC "
        "endpoint, not the instance's NAT) mean the credentials were stolen, typically through SSRF or a "
        "compromised host: GuardDuty's InstanceCredentialExfiltration.OutsideAWS."
    ),
    reference="https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html",
    runbook=(
        "Confirm the IP is not the instance's egress (NAT gateway, elastic IP, proxy).",
        "Isolate the instance and fix the way in (IMDSv2, SSRF) before the cut-off: it re-issues credentials.",
        "Cut off the role's sessions issued before now, or deny when aws:SourceVpc differs from "
        "aws:Ec2InstanceSourceVpc.",
    ),
)


def is_instance_credential(trace: Trace) -> bool:
    """True when the traced credential is an EC2 instance-profile session."""
    s = trace.session
    if s.kind == CredentialKind.SERVICE and (s.issuer.name or "").startswith("ec2."):
        return True
    if s.session_name and _INSTANCE_SESSION.match(s.session_name) and s.role_arn:
        return True
    delivery = col(trace.calls, "userIdentity.sessionContext.ec2RoleDelivery")
    return bool(delivery.notna().any())


def detect(trace: Trace) -> list[Finding]:
    """A finding for each public IP, unknown to the role's other sessions, that used instance credentials."""
    calls = slim(trace.calls)
    if calls.empty or not is_instance_credential(trace):
        return []
    ips = col(calls, "sourceIPAddress")
    endpoint = col(calls, "vpcEndpointId").notna()
    peers = set(trace.summary.peer_source_ips)
    found = []
    for ip, first in trace.summary.source_ips:
        if not is_public_ip(ip) or ip in peers:
            continue
        mask = ((ips == ip).fillna(False) & ~endpoint).to_numpy()
        if not mask.any():
            continue
        hits = calls.loc[mask]
        if peers:
            why = f"none of the role's {len(peers)} other source IPs"
            severity = Severity.HIGH
        else:
            why = "no other session of the role in the evidence to compare with: confirm it is the instance's egress"
            severity = Severity.MEDIUM
        summary = (
            f"instance credentials {trace.key} ({trace.session.role_arn or 'unknown role'}, "
            f"{trace.session.session_name or 'unknown instance'}) were used from public IP {ip} "
            f"({plural(len(hits), 'call')}, first at {when(first)}); {why}"
        )
        found.append(make(SPEC, trace, summary, ids(hits), severity=severity))
    return found
