"""A credential used from an IP address its issuer never used (aws-facts §5.1)."""

from __future__ import annotations

import numpy as np

from ircreds.findings._util import (
    MAX_PER_VALUE,
    col,
    has_baseline,
    ids_where,
    issuer_label,
    make,
    plural,
    when,
)
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
    """One finding per source IP of this credential that its issuer never used (the busiest first)."""
    new = trace.summary.new_source_ips
    if not new:
        return []
    ips = col(trace.calls, "sourceIPAddress").to_numpy(dtype=object)
    seen = ", ".join(trace.summary.issuer_source_ips[:5]) or "none recorded"
    if trace.session.kind == CredentialKind.SERVICE or not trace.summary.issuer_source_ips:
        why = f"an IP none of the role's other sessions used ({len(trace.summary.peer_source_ips)} known)"
    else:
        why = f"an IP its issuer {issuer_label(trace)} never used (issuer IPs: {seen})"
    # how unusual: new to a known baseline (high), or nothing to compare with (low: first sighting)
    severity = SPEC.severity if has_baseline(trace) else Severity.LOW
    if severity is Severity.LOW:
        why = (
            "the first address seen for this principal (no earlier address of its issuer, principal or role)"
        )
    first_seen = dict(trace.summary.source_ips)
    masks = {ip: ips == ip for ip in new}
    ranked = sorted(new, key=lambda ip: -int(masks[ip].sum()))
    found = []
    for ip in ranked[:MAX_PER_VALUE]:
        n = int(masks[ip].sum())
        summary = f"{trace.key} was used from {ip} ({plural(n, 'call')}, first at {when(first_seen.get(ip))}), {why}"
        # an address the role's other sessions also use is the organisation's, not a stranger's: low
        sev = Severity.LOW if ip in trace.summary.peer_source_ips else severity
        if sev is not severity:
            summary += f"; other sessions of {trace.session.role_arn} use it too"
        found.append(make(SPEC, trace, summary, ids_where(trace.calls, masks[ip]), severity=sev))
    rest = ranked[MAX_PER_VALUE:]
    if rest:
        mask = np.logical_or.reduce([masks[ip] for ip in rest])
        listed = ", ".join(rest[:10]) + (" …" if len(rest) > 10 else "")
        summary = f"{trace.key} was also used from {len(rest)} more IPs its issuer never used ({listed})"
        found.append(make(SPEC, trace, summary, ids_where(trace.calls, mask), severity=severity))
    return found
