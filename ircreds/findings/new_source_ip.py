"""A credential used from an IP address its issuer never used (aws-facts §5.1)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, issuer_label, make, plural, when
from ircreds.model import CredentialKind, Finding, FindingSpec, Severity, Trace

SPEC = FindingSpec(
    id="new_source_ip",
    title="Credential used from an IP its issuer never used",
    severity=Severity.HIGH,
    mitre=("TA0001:T1078.004",),
    description=(
        "Temporary credentials normally stay with the workload or person that obtained them. Calls from an "
        "address that neither the issuing call nor the issuer's own calls came from are the first sign that "
        "the key left its owner (copied from a laptop, a CI log, an instance's metadata service)."
    ),
    reference="https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html",
    runbook=(
        "Check whether the IP belongs to the issuer (VPN egress, NAT gateway, a new office range).",
        "List every call from that IP in the lineage (trace.all_calls()) and note the first one.",
        "If it is not the issuer's, treat the key as leaked: plan the cut-off on the role or user.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """One finding per source IP of this credential that its issuer never used."""
    found = []
    ips = col(trace.calls, "sourceIPAddress")
    seen = ", ".join(trace.summary.issuer_source_ips[:5]) or "none recorded"
    for ip, first in trace.summary.source_ips:
        if ip not in trace.summary.new_source_ips:
            continue
        calls = trace.calls.loc[(ips == ip).fillna(False).to_numpy()]
        if trace.session.kind == CredentialKind.SERVICE or not trace.summary.issuer_source_ips:
            peers = len(trace.summary.peer_source_ips)
            why = f"an IP none of the role's other sessions used ({peers} known)"
        else:
            why = f"an IP its issuer {issuer_label(trace)} never used (issuer IPs: {seen})"
        summary = (
            f"{trace.key} was used from {ip} ({plural(len(calls), 'call')}, first at {when(first)}), {why}"
        )
        found.append(make(SPEC, trace, summary, ids(calls)))
    return found
