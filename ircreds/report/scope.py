"""The report's scope section (pure): every credential the attacker holds, what links them, when.

Built from :class:`ircreds.scoping.Scope`; the templates show it right after the summary.

Example:
    >>> scope_section(None) is None
    True
"""

from __future__ import annotations

from typing import Any

from ircreds.model import iso_z

#: How many legitimate look-alikes the report lists (the JSON of ``ircreds scope`` has them all).
MAX_LEGITIMATE = 15


def scope_section(scope: Any) -> dict[str, Any] | None:
    """The template data of the scope section, or None when the report has no scope."""
    if scope is None:
        return None
    timeline = [
        {
            "time": iso_z(row["time"].to_pydatetime()),
            "access_key_id": row["access_key_id"],
            "what": row["what"],
            "event_id": row["event_id"],
            "source_ip": row["source_ip"],
        }
        for row in scope.timeline.to_dict("records")
    ]
    return {
        "verdict": scope.verdict(),
        "first_malicious_event_id": scope.first_malicious_event_id,
        "first_malicious_time": iso_z(scope.first_malicious_time),
        "accounts": list(scope.accounts),
        "compromised": [
            {
                "access_key_id": c.access_key_id,
                "kind": c.kind,
                "mode": c.mode,
                "principal_arn": c.principal_arn,
                "account_id": c.account_id,
                "first_seen": iso_z(c.first_seen),
                "last_seen": iso_z(c.last_seen),
                "how": c.how,
                "linked_by": list(c.linked_by_event_ids[:3]),
            }
            for c in scope.compromised
        ],
        "attacker_ips": list(scope.attacker_ips),
        "attacker_user_agents": list(scope.attacker_user_agents),
        "legitimate": [
            {"access_key_id": c.access_key_id, "principal_arn": c.principal_arn, "why": c.why}
            for c in scope.legitimate[:MAX_LEGITIMATE]
        ],
        "legitimate_total": len(scope.legitimate),
        "timeline": timeline,
    }
