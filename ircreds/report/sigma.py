"""The report's "Community detections (Sigma)" block: the rule hits on the lineage's calls.

Pure: built from a :class:`ircreds.hunting.Hunt` and the trace; the templates show it beside the
kit's own findings, each rule with its author and source link (SigmaHQ's DRL 1.1 attribution).

Example:
    >>> sigma_view(None, None) is None
    True
"""

from __future__ import annotations

from typing import Any


def sigma_view(hunt: Any, trace: Any) -> dict[str, Any] | None:
    """Per rule that matched a call of the lineage: level, title, ATT&CK tags, events, author, source."""
    if hunt is None:
        return None
    rules: dict[str, dict[str, Any]] = {}
    for entry in hunt.on_trace(trace):
        rule = rules.setdefault(
            entry["rule_id"],
            {k: entry[k] for k in ("rule_id", "title", "level", "tags", "author", "source")}
            | {"event_ids": []},
        )
        rule["event_ids"].append(entry["event_id"])
    from ircreds.hunting import level_rank

    hits = sorted(rules.values(), key=lambda r: (-level_rank(r["level"]), r["title"]))
    return {
        "rules_run": hunt.rules_run,
        "rules_unsupported": len(hunt.rules_unsupported),
        "hits": hits,
    }
