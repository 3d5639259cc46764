"""A credential used with a user agent its issuer never used (aws-facts §5.2)."""

from __future__ import annotations

import numpy as np

from ircreds.escape import truncate
from ircreds.findings._util import MAX_PER_VALUE, col, ids_where, issuer_label, make, plural, texts, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

SPEC = FindingSpec(
    id="new_user_agent",
    title="Credential used with a client its issuer never used",
    severity=Severity.MEDIUM,
    mitre=("TA0001:T1078.004",),
    description=(
        "A different SDK, CLI version or operating system on the same key means a different machine. Attack "
        "tools also rewrite their user agent (Pacu swaps in old Boto3 strings), so a years-old SDK or a Windows "
        "agent on a Linux workload's key is itself an indicator."
    ),
    reference="https://www.elastic.co/guide/en/security/current/aws-suspicious-user-agent-fingerprint.html",
    runbook=(
        "Compare the new user agent with the issuer's (OS, SDK, version, distribution tokens such as kali).",
        "Check whether the same calls also came from a new IP (new_source_ip).",
        "A legitimate tool upgrade changes the version only; a new OS or SDK family deserves a closer look.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """One finding per user agent of this credential that its issuer never used (the busiest first)."""
    new = trace.summary.new_user_agents
    if not new:
        return []
    agents = [a.strip("[]") if isinstance(a, str) else None for a in texts(trace.calls, "userAgent")]
    times = trace.calls["eventTime"]
    # compared string by string: ``agents == agent`` would make numpy copy the (attacker-sized) agent to UCS-4
    masks = {agent: np.fromiter((a == agent for a in agents), dtype=bool, count=len(agents)) for agent in new}
    ranked = sorted(new, key=lambda a: -int(masks[a].sum()))
    # a new client from a new address is the attacker's machine; from the owner's usual place, an upgrade
    new_ips = set(trace.summary.new_source_ips)
    ips = col(trace.calls, "sourceIPAddress").to_numpy(dtype=object)
    found = []
    for agent in ranked[:MAX_PER_VALUE]:
        mask = masks[agent]
        first = times.iloc[int(mask.argmax())] if mask.any() else None
        summary = (
            f"{trace.key} was used with user agent {truncate(agent)!r} ({plural(int(mask.sum()), 'call')}, first at "
            f"{when(first)}), which its issuer {issuer_label(trace)} never used"
        )
        from_new = bool(new_ips) and any(ip in new_ips for ip in ips[mask])
        severity = SPEC.severity if from_new else Severity.LOW
        found.append(make(SPEC, trace, summary, ids_where(trace.calls, mask), severity=severity))
    if len(ranked) > MAX_PER_VALUE:
        rest = ranked[MAX_PER_VALUE:]
        mask = np.logical_or.reduce([masks[a] for a in rest])
        summary = f"{trace.key} was also used with {len(rest)} more user agents its issuer never used"
        severity = SPEC.severity if new_ips and any(ip in new_ips for ip in ips[mask]) else Severity.LOW
        found.append(make(SPEC, trace, summary, ids_where(trace.calls, mask), severity=severity))
    return found
