"""Containment as the report tells it: the plan, the denies seen in the logs, the actions, the proof.

Pure core. Reads a containment plan and action records as their JSON forms (``to_dict()``), finds every
successful ``AWSRevokeOlderSessions`` put in the events frame with the cut-off it wrote, and lays out the
``verify`` result; :mod:`ircreds.report.data` builds the rest of the report around it.

Example:
    >>> denies_in_logs(None), parse_iso("2025-01-20T12:00:00Z").isoformat()
    ([], '2025-01-20T12:00:00+00:00')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pandas as pd

from ircreds.containment.actions import is_rehearsal
from ircreds.report.indicators import _json, _s
from ircreds.times import iso_z, parse_iso

#: The 0.1 name of :func:`ircreds.times.parse_iso`.
parse_time = parse_iso


def rehearsal(action: Mapping[str, Any]) -> bool:
    """True for an action record against a sandbox or any non-AWS endpoint: labelled, never containment.

    The record's own ``rehearsal`` field when present (records written since it exists), else judged
    from its endpoint (older records).

    Example:
        >>> rehearsal({"where": {"endpoint_url": "http://127.0.0.1:5000"}}), rehearsal({"where": {}})
        (True, False)
    """
    if isinstance(action.get("rehearsal"), bool):
        return bool(action["rehearsal"]) or is_rehearsal(_endpoint(action))
    return is_rehearsal(_endpoint(action))


def _endpoint(action: Mapping[str, Any]) -> str | None:
    where = action.get("where")
    value = where.get("endpoint_url") if isinstance(where, Mapping) else action.get("endpoint_url")
    return value if isinstance(value, str) else None


def containment_view(
    plan: Mapping[str, Any],
    cutoff: datetime | None,
    actions: list[dict[str, Any]],
    applied: Mapping[str, tuple[datetime, datetime]],
    events: pd.DataFrame | None,
    verification: Any,
) -> dict[str, Any]:
    """The plan, the actions taken, the denies seen in the logs, the proof, and what remains."""

    def sessions(items: Any) -> list[dict[str, Any]]:
        rows = []
        for item in items or ():
            if not isinstance(item, Mapping):
                item = {"access_key_id": str(item)}
            status = item.get("status") or ("suspicious" if item.get("suspicious") else None)
            rows.append(
                {
                    "access_key_id": item.get("access_key_id"),
                    "principal": item.get("principal"),
                    "issued_at": item.get("issued_at"),
                    "expires_at": item.get("expires_at"),
                    "last_activity": item.get("last_activity"),
                    "status": status,
                }
            )
        return rows

    revocations = [
        {
            "target": r.get("target"),
            "arn": r.get("arn") or r.get("target"),
            "policy_name": r.get("policy_name") or "AWSRevokeOlderSessions",
            "policy": r.get("policy"),
            "cuts": sessions(r.get("cuts")),
            "survives": sessions(r.get("survives")),
            "expired": sessions(r.get("expired")),
            # the long lists of ordinary sessions are counted, the suspicious ones are listed
            "survives_listed": [x for x in sessions(r.get("survives")) if x["status"] != "legitimate"],
            "expired_listed": [x for x in sessions(r.get("expired")) if x["status"] != "legitimate"],
            "notes": [str(n) for n in r.get("notes") or ()],
        }
        for r in plan.get("revocations") or ()
        if isinstance(r, Mapping)
    ]
    remaining = []
    for u in plan.get("uncovered") or ():
        u = u if isinstance(u, Mapping) else {"action": str(u)}
        remaining.append(
            {
                "kind": u.get("kind"),
                "target": u.get("target"),
                "action": u.get("action") or json.dumps(u, default=str),
                "detail": u.get("detail"),
                "event_ids": list(u.get("event_ids") or ()),
            }
        )
    verified = as_dict(verification) if verification is not None else None
    return {
        "has_plan": bool(plan),
        "cutoff": iso_z(cutoff),
        "revocations": revocations,
        "warnings": [
            w.get("message", json.dumps(w)) if isinstance(w, Mapping) else str(w)
            for w in plan.get("warnings") or ()
        ],
        "remaining": remaining,
        "alternatives": list(plan.get("alternatives") or ()),
        "deletion": list(plan.get("deletion") or ()),
        "actions": [_action_view(a) for a in actions],
        "rehearsals": sum(1 for a in actions if rehearsal(a)),
        "applied": {k: iso_z(at) for k, (at, _) in applied.items()},
        "denies_in_logs": denies_in_logs(events),
        "verification": _verification(verified) if verified else None,
    }


def _action_view(action: Mapping[str, Any]) -> dict[str, Any]:
    """One action record (``ircreds.aws.apply``/``rollback``) laid out: header, then each change."""
    where = action.get("where")
    if isinstance(where, Mapping):
        where = ", ".join(f"{k} {v}" for k, v in where.items() if v)
    known = {"action", "dry_run", "who", "when", "where", "cutoff", "changes", "rehearsal", "sha256"}
    changes = []
    for change in action.get("changes") or ():
        if not isinstance(change, Mapping):
            continue
        changes.append(
            {
                "arn": change.get("arn") or change.get("target"),
                "policy_name": change.get("policy_name"),
                "operation": change.get("operation"),
                "readback_ok": change.get("readback_ok"),
                "before": change.get("before"),
                "after": change.get("after"),
            }
        )
    return {
        "rehearsal": rehearsal(action),
        "header": {
            "action": action.get("action"),
            "dry run": action.get("dry_run"),
            "who": action.get("who"),
            "when": action.get("when"),
            "where": where,
            "cut-off": action.get("cutoff"),
            "rehearsal": "yes: a sandbox or non-AWS endpoint; not containment" if rehearsal(action) else "no",
        },
        "changes": changes,
        "other": {k: v for k, v in action.items() if k not in known},
    }


def _verification(v: Mapping[str, Any]) -> dict[str, Any]:
    lists = (
        "denied",
        "succeeded",
        "within_allowance",
        "exempt",
        "implicit_denies",
        "other_errors",
        "survivors_active",
        "minted",
    )
    out: dict[str, Any] = {
        "ok": v.get("ok"),
        "reasons": [str(r) for r in v.get("reasons") or ()],
        "applied_at": v.get("applied_at"),
        "checked_keys": list(v.get("checked_keys") or ()),
        "counts": {name: len(v.get(name) or ()) for name in lists if name in v},
    }
    problems = []
    for name, what in (
        ("minted", "minted a new credential"),
        ("succeeded", "succeeded after the cut-off"),
        ("survivors_active", "active, not covered"),
    ):
        for item in v.get(name) or ():
            item = item if isinstance(item, Mapping) else {"event_id": str(item)}
            problems.append(
                {
                    "what": what,
                    "time": item.get("event_time"),
                    "access_key_id": item.get("access_key_id"),
                    "event_name": item.get("event_name"),
                    "error_code": item.get("error_code"),
                    "event_id": item.get("event_id"),
                }
            )
    out["problems"] = problems[:30]
    out["problems_total"] = len(problems)
    return out


def applied_denies(
    events: pd.DataFrame | None, actions: list[dict[str, Any]]
) -> dict[str, tuple[datetime, datetime]]:
    """Role or user (name and ARN) -> (when the cut-off deny went on, the cut-off it wrote).

    From the action records (real applies only: not dry runs, not rollbacks, not rehearsals against a
    sandbox or any non-AWS endpoint) and from the logs.
    """
    out: dict[str, tuple[datetime, datetime]] = {}

    def add(target: str, when: datetime, cutoff: datetime | None) -> None:
        entry = (when, cutoff or when)
        if target not in out or entry[0] < out[target][0]:
            out[target] = entry

    for action in actions:
        if action.get("dry_run") is True or action.get("action") == "rollback" or rehearsal(action):
            continue
        when = parse_iso(action.get("when") or action.get("time") or action.get("at"))
        if when is None:
            continue
        for target in _targets(action):
            add(target, when, parse_iso(action.get("cutoff")))
    for deny in denies_in_logs(events):
        when = parse_iso(deny["applied_at"])
        if when is not None:
            add(deny["target"], when, parse_iso(deny["cutoff"]))
    return out


def proof_from_logs(plan: Any, events: pd.DataFrame | None, as_of: datetime | None) -> Any:
    """``verify`` of the plan against the logs, for the targets whose deny the logs show by ``as_of``.

    Proves only what was applied: the targets with a successful ``AWSRevokeOlderSessions`` put in the
    logs, from the first such put. ``None`` when the logs show none (or there is no plan).
    """
    if plan is None or events is None:
        return None
    from ircreds.containment import Plan, verify

    the_plan = plan if isinstance(plan, Plan) else Plan.from_dict(as_dict(plan))
    denies = [
        d for d in denies_in_logs(events) if as_of is None or (parse_iso(d["applied_at"]) or as_of) <= as_of
    ]
    planned = {name for r in the_plan.revocations for name in (r.target, r.arn)}
    targets = sorted({d["target"] for d in denies} & planned)
    if not targets:
        return None
    applied = min(parse_iso(d["applied_at"]) for d in denies if d["target"] in targets)
    return verify(the_plan, events, applied_at=applied, targets=targets)


def denies_in_logs(events: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Every successful ``AWSRevokeOlderSessions`` put in the logs: target, when, the cut-off it wrote.

    Example:
        >>> denies_in_logs(None)
        []
    """
    if events is None or not len(events) or "eventName" not in events.columns:
        return []
    mask = events["eventName"].isin(["PutRolePolicy", "PutUserPolicy"])
    if "errorCode" in events.columns:
        mask &= events["errorCode"].isna()
    found = []
    for _, row in events[mask].iterrows():
        params = _json(row.get("requestParameters"))
        name = params.get("roleName") or params.get("userName")
        if params.get("policyName") != "AWSRevokeOlderSessions" or not name:
            continue
        found.append(
            {
                "target": str(name),
                "kind": "role" if params.get("roleName") else "user",
                "applied_at": iso_z(row["eventTime"]),
                "cutoff": iso_z(_token_issue_time(params.get("policyDocument"))),
                "event_id": _s(row.get("eventID")),
                "by": _s(row.get("userIdentity.arn")),
            }
        )
    return found


def _token_issue_time(document: Any) -> datetime | None:
    """The ``aws:TokenIssueTime`` of a cut-off deny (CloudTrail may URL-encode the document)."""
    if isinstance(document, str):
        text = document if document.lstrip().startswith("{") else unquote_plus(document)
        try:
            document = json.loads(text)
        except ValueError:
            return None
    if not isinstance(document, Mapping):
        return None
    statements = document.get("Statement") or []
    for st in statements if isinstance(statements, list) else [statements]:
        condition = (st or {}).get("Condition") or {}
        for op in ("DateLessThan", "DateLessThanEquals"):
            value = (condition.get(op) or {}).get("aws:TokenIssueTime")
            if value:
                return parse_iso(value[0] if isinstance(value, list) else value)
    return None


def _targets(action: Mapping[str, Any]) -> list[str]:
    found = []
    for key in ("arn", "target", "role_arn", "role", "role_name", "user", "user_name"):
        value = action.get(key)
        if isinstance(value, str) and value:
            found.append(value)
            if value.startswith("arn:"):
                found.append(value.rsplit("/", 1)[-1])
    for nested in ("actions", "changes", "what"):
        items = action.get(nested)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping):
                    found += _targets(item)
    return found


def deleted_keys(events: pd.DataFrame | None) -> dict[str, datetime]:
    """Each access key a successful ``DeleteAccessKey`` in ``events`` deleted, and when."""
    if events is None or not len(events) or "eventName" not in events.columns:
        return {}
    mask = events["eventName"].isin(["DeleteAccessKey", "UpdateAccessKey", "DeleteUser"])
    if "errorCode" in events.columns:
        mask &= events["errorCode"].isna()
    out: dict[str, datetime] = {}
    for _, row in events[mask].iterrows():
        params = _json(row.get("requestParameters"))
        key = params.get("accessKeyId")
        if row["eventName"] == "DeleteUser":
            key = f"user:{params.get('userName')}" if params.get("userName") else None
        if not key or (row["eventName"] == "UpdateAccessKey" and params.get("status") != "Inactive"):
            continue
        out.setdefault(key, row["eventTime"].to_pydatetime())
    return out


def as_dict(obj: Any) -> dict[str, Any]:
    """A plan, verification or record as a plain dict (its ``to_dict()``, or the dict itself; ``{}`` for None)."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        obj = obj.to_dict()
    if isinstance(obj, str | Path) and Path(obj).is_file():
        obj = json.loads(Path(obj).read_text())
    return json.loads(json.dumps(obj, default=_default))


def action_list(actions: Any) -> list[dict[str, Any]]:
    """Action records (objects or dicts, one or several) as a list of plain dicts."""
    if actions is None:
        return []
    if isinstance(actions, list | tuple):
        return [as_dict(a) for a in actions]
    return [as_dict(actions)]


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)
