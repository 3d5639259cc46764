"""Building the containment plan for a traced lineage: :func:`plan`.

One cut-off deny per role or IAM user the lineage touched, with every known session of it (the
legitimate ones from the evidence), the static warnings, what no deny reaches, the narrower deny
options per attacker session, and who depends on each role.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.containment.cutoff import (
    DEFAULT_MARGIN,
    _duration,
    _dynamic_warnings,
    _evaluate_revocation,
    recommend_cutoff,
)
from ircreds.containment.persistence import _uncovered_from_lineage
from ircreds.containment.plans import Plan
from ircreds.containment.policy import (
    POLICY_NAME,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    TargetKind,
    cutoff_policy,
    narrower_options,
    normalize_cutoff,
    policy_size,
)
from ircreds.containment.records import (
    Alternative,
    Dependent,
    PlanWarning,
    Revocation,
    RoleDeletion,
    SessionImpact,
    Uncovered,
    UncoveredKind,
    WarningCode,
    _account_of,
    _s,
    _session_order,
    _t,
)
from ircreds.containment.targets import (
    _cannot_take_policy,
    _cred_dict,
    _impact,
    _is_root,
    _name_of,
    _Target,
    _target_of,
)
from ircreds.errors import PlanError
from ircreds.times import iso_z

log = logging.getLogger(__name__)


def _sessions_rows(events: pd.DataFrame | None, sessions: pd.DataFrame | None) -> list[dict[str, Any]]:
    if sessions is None and events is not None:
        from ircreds.lineage import sessions as build_sessions

        sessions = build_sessions(events)
    if sessions is None or not len(sessions):
        return []
    return sessions.to_dict("records")


def plan(
    trace: Any,
    cutoff: datetime | None = None,
    *,
    now: datetime | None = None,
    events: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    margin: timedelta = DEFAULT_MARGIN,
    account: Mapping[str, Any] | None = None,
    now_source: str | None = None,
) -> Plan:
    """The containment plan for a traced lineage.

    Args:
        trace: :func:`ircreds.trace`'s result for the leaked key.
        cutoff: the cut-off to evaluate; ``None`` recommends one (:func:`recommend_cutoff` over the
            lineage's sessions on the planned targets, and ``now``).
        now: when the deny lands: each session is judged at ``now`` (live, or already expired) and at the
            cut-off (denied or spared); the recommendation is never before it. Pure: this function
            never reads the clock; :func:`ircreds.plan` (the library entry) and the CLI default it to
            the real clock and say so (``now_source``). ``None``: the cut-off is the only reference.
        events: the events frame, to list the targets' legitimate sessions too (or pass ``sessions``,
            the frame of :func:`ircreds.sessions`, if already built).
        sessions: the frame of :func:`ircreds.sessions` (instead of ``events``; a case store passes it).
        margin: added to the recommended cut-off for IAM propagation.
        account: an ``account.json`` document, to check inline-policy size limits.
        now_source: where ``now`` came from (``given``, ``clock``, ``evidence-end``), recorded in the plan.
    """
    if cutoff is not None:
        cutoff = normalize_cutoff(cutoff)
    if now is not None and now.tzinfo is None:
        raise PlanError("now must be timezone-aware (UTC)")
    nodes = list(trace.walk())
    lineage = {node.key: node for node in nodes}
    creds = {node.key: _cred_dict(node) for node in nodes}
    leaked = creds[trace.key]
    account_id = _s(leaked.get("account_id")) or _account_of(
        _s(leaked.get("role_arn")) or _s(leaked.get("principal_arn"))
    )

    static: list[PlanWarning] = []
    uncovered: list[Uncovered] = []
    targets: dict[str, _Target] = {}
    for key, cred in creds.items():
        target = _target_of(cred)
        if target is None:
            continue
        kind, arn = target
        if kind is TargetKind.USER and _is_root(arn):
            uncovered.append(
                Uncovered(
                    kind=UncoveredKind.ROOT_SESSION,
                    target=arn,
                    access_key_id=key,
                    event_ids=tuple(cred.get("issuing_event_ids") or ()),
                    action=(
                        "root-issued session tokens cannot be restricted in IAM: in a member account use an SCP deny on "
                        "aws:PrincipalArn = root with DateLessThan aws:TokenIssueTime; secure the root credentials"
                    ),
                )
            )
            continue
        reason = _cannot_take_policy(arn) if kind is TargetKind.ROLE else None
        if reason:
            static.append(
                PlanWarning(
                    code=WarningCode.CANNOT_TAKE_POLICY, target=arn, message=f"{_name_of(arn)} is {reason}"
                )
            )
            uncovered.append(
                Uncovered(kind=UncoveredKind.SESSION, target=arn, access_key_id=key, action=reason)
            )
            continue
        targets.setdefault(arn, _Target(kind, arn)).lineage_keys.append(key)

    # every known session of each target, legitimate ones from the evidence
    all_rows = _sessions_rows(events, sessions)
    if not all_rows:
        static.append(
            PlanWarning(
                code=WarningCode.EVIDENCE_INCOMPLETE,
                message="no events were given, so only the lineage's own sessions are listed; "
                "pass events= to see which legitimate sessions the cut-off also cuts",
            )
        )
    per_target: dict[str, dict[str, SessionImpact]] = {arn: {} for arn in targets}
    for row in all_rows:
        t = _target_of(row)
        if t is None or t[1] not in per_target:
            continue
        issued = _t(row.get("issued_at"))
        if now is not None and issued is not None and issued > now:
            continue  # replaying old evidence with now=: sessions from "the future" are not yet known
        key = str(row["access_key_id"])
        per_target[t[1]][key] = _impact(row, suspicious=key in lineage)
    for arn, target in targets.items():
        for key in target.lineage_keys:
            node = lineage[key]
            ips = tuple(ip for ip, _ in node.summary.source_ips)
            cred = dict(creds[key])
            if cred.get("last_used") is None and key in per_target[arn]:
                cred["last_used"] = per_target[arn][key].last_activity
            per_target[arn][key] = _impact(cred, suspicious=True, source_ips=ips)

    # replaying with now=: a session issued after now is not yet known, so it cannot move the recommendation
    # (it stays listed: the plan then warns that the cut-off spares it)
    attacker_times = [
        creds[k]["issued_at"]
        for t in targets.values()
        for k in t.lineage_keys
        if now is None or creds[k]["issued_at"] is None or creds[k]["issued_at"] <= now
    ]
    for t in targets.values():
        for k in t.lineage_keys:
            if creds[k]["issued_at"] is None:
                static.append(
                    PlanWarning(
                        code=WarningCode.ISSUE_TIME_UNKNOWN,
                        target=t.arn,
                        access_key_id=k,
                        message=f"the issue time of {k} is unknown (no issuing event, no creationDate): "
                        "the plan cannot prove the cut-off reaches it",
                    )
                )
    recommended = recommend_cutoff(attacker_times, now=now, margin=margin) if targets else None
    chosen = cutoff or recommended

    revocations: list[Revocation] = []
    for arn, target in targets.items():
        notes: list[str] = []
        if target.kind is TargetKind.USER:
            notes.append(
                "a user-level deny cuts the user's temporary sessions; its long-term access keys keep working"
            )
            static.append(
                PlanWarning(
                    code=WarningCode.LONG_TERM_KEY_SURVIVES,
                    target=arn,
                    message=f"the deny on user {_name_of(arn)} leaves its long-term access keys working; "
                    "deactivate them too if they are compromised",
                )
            )
        rev = Revocation(
            target=_name_of(arn),
            target_kind=target.kind,
            arn=arn,
            account_id=_account_of(arn),
            policy_name=POLICY_NAME,
            policy=cutoff_policy(chosen) if chosen else {},
            sessions=tuple(sorted(per_target[arn].values(), key=_session_order)),
            notes=tuple(notes),
        )
        revocations.append(_evaluate_revocation(rev, chosen, now) if chosen else rev)
        static.extend(_target_warnings(rev, all_rows, account))

    if revocations:
        static.append(
            PlanWarning(
                code=WarningCode.PROPAGATION,
                message=(
                    "IAM is eventually consistent: the deny takes seconds to minutes to reach every endpoint; "
                    f"the recommended cut-off adds {int(margin.total_seconds())} s so sessions minted meanwhile die too"
                ),
            )
        )
    static.append(
        PlanWarning(
            code=WarningCode.GET_CALLER_IDENTITY,
            message="sts:GetCallerIdentity needs no permission and no deny blocks it: the attacker's probes "
            "will keep succeeding after the cut-off, which is not a failed revocation",
        )
    )
    uncovered.extend(_uncovered_from_lineage(nodes, creds, set(targets)))
    evidence_end = _evidence_end(events, nodes)
    stale = _stale_evidence(revocations, evidence_end, now)
    if stale is not None:
        static.insert(0, stale)
    dynamic = _dynamic_warnings(revocations, chosen, now, margin) if chosen else ()
    return Plan(
        key=trace.key,
        account_id=account_id,
        cutoff=chosen,
        recommended_cutoff=recommended,
        now=now,
        now_source=now_source or ("given" if now is not None else None),
        evidence_end=evidence_end,
        margin=margin,
        revocations=tuple(revocations),
        warnings=tuple(dynamic) + tuple(_dedupe(static)),
        uncovered=tuple(_dedupe(uncovered)),
        alternatives=tuple(_alternatives(nodes, creds, targets)),
        deletion=tuple(
            _deletion(rev, all_rows, set(lineage))
            for rev in revocations
            if rev.target_kind is TargetKind.ROLE
        ),
    )


STALE_AFTER = timedelta(hours=36)
"""Evidence that ended this long before ``now`` is stale: the longest STS credential (GetSessionToken) has expired."""


def _evidence_end(events: pd.DataFrame | None, nodes: list[Any]) -> datetime | None:
    if events is not None and len(events) and "eventTime" in events.columns:
        end = events["eventTime"].max()
        return None if pd.isna(end) else pd.Timestamp(end).to_pydatetime()
    lasts = [n.summary.last for n in nodes if getattr(n.summary, "last", None) is not None]
    return max((pd.Timestamp(t).to_pydatetime() for t in lasts), default=None)


def _stale_evidence(
    revocations: Iterable[Revocation], evidence_end: datetime | None, now: datetime | None
) -> PlanWarning | None:
    """``stale-evidence`` when the evidence ended long before ``now`` and every session in it has expired."""
    if now is None or evidence_end is None or evidence_end >= now:
        return None
    sessions = [s for r in revocations for s in r.sessions]
    all_expired = bool(sessions) and all(s.expires_at is not None and s.expires_at <= now for s in sessions)
    if now - evidence_end <= STALE_AFTER and not all_expired:
        return None
    return PlanWarning(
        code=WarningCode.STALE_EVIDENCE,
        message=(
            f"the evidence ends at {iso_z(evidence_end)}, {_duration(now - evidence_end)} before now ({iso_z(now)}): "
            "every session in it has expired, so this plan judges nothing live and its cut-off is simply now; "
            "to plan as of the incident pass --now T (library: now=T) or --as-of evidence-end"
        ),
    )


def _dedupe(items: Iterable[Any]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for item in items:
        ident = (
            (item.kind, item.target)
            if isinstance(item, Uncovered)
            else (item.code, item.target, item.access_key_id)
        )
        if ident in seen and isinstance(item, Uncovered):
            prev = seen[ident]
            merged = tuple(dict.fromkeys(prev.event_ids + item.event_ids))
            seen[ident] = replace(prev, event_ids=merged)
        else:
            seen.setdefault(ident, item)
    return list(seen.values())


def _target_warnings(
    rev: Revocation, rows: list[dict[str, Any]], account: Mapping[str, Any] | None
) -> list[PlanWarning]:
    out: list[PlanWarning] = []
    if rev.target_kind is TargetKind.ROLE:
        services = {
            _s(r.get("issuer_name")) or _s(r.get("issuer_arn")) or ""
            for r in rows
            if _s(r.get("role_arn")) == rev.arn and _s(r.get("kind")) == "Service"
        }
        if any("ec2" in s for s in services) or any(
            (s.principal or "").split("/")[-1].startswith("i-") for s in rev.sessions
        ):
            out.append(
                PlanWarning(
                    code=WarningCode.INSTANCE_PROFILE,
                    target=rev.arn,
                    message=(
                        f"{rev.target} is an EC2 instance-profile role: the deny also cuts the credentials cached on "
                        "every instance until IMDS hands out new ones (up to ~6 h), and an attacker still on an "
                        "instance simply fetches fresh ones; isolate the instance and fix IMDS/SSRF first"
                    ),
                )
            )
    if account:
        kind_key = "roles" if rev.target_kind is TargetKind.ROLE else "users"
        limit = ROLE_INLINE_POLICY_LIMIT if rev.target_kind is TargetKind.ROLE else USER_INLINE_POLICY_LIMIT
        for entry in account.get(kind_key) or ():
            if entry.get("name") != rev.target:
                continue
            existing = {n: d for n, d in (entry.get("inline_policies") or {}).items() if n != rev.policy_name}
            total = sum(policy_size(d) for d in existing.values()) + policy_size(rev.policy or {})
            if total > limit:
                out.append(
                    PlanWarning(
                        code=WarningCode.POLICY_SIZE,
                        target=rev.arn,
                        message=f"{rev.target}'s inline policies would total {total} characters with the deny, over the "
                        f"{limit} limit: the put will fail; attach the deny as a managed policy or trim others",
                    )
                )
    return out


def _alternatives(
    nodes: list[Any], creds: Mapping[str, Mapping[str, Any]], targets: Mapping[str, _Target]
) -> list[Alternative]:
    out: list[Alternative] = []
    for node in nodes:
        cred = creds[node.key]
        t = _target_of(cred)
        if t is None or t[1] not in targets:
            continue
        principal_id = _s(cred.get("principal_id")) or ""
        role_id = principal_id.split(":", 1)[0] if principal_id.startswith("AROA") else None
        ips = tuple(node.summary.new_source_ips) or tuple(ip for ip, _ in node.summary.source_ips)
        options = narrower_options(
            role_id=role_id,
            session_name=_s(cred.get("session_name")) if role_id else None,
            source_ips=ips,
            source_identity=_s(cred.get("source_identity")),
        )
        if options:
            out.append(Alternative(access_key_id=node.key, target_arn=t[1], options=options))
    return out


def _deletion(rev: Revocation, rows: list[dict[str, Any]], lineage: set[str]) -> RoleDeletion:
    groups: dict[str, dict[str, Any]] = {}
    sources = [r for r in rows if _s(r.get("role_arn")) == rev.arn] or [
        {"issuer_arn": s.issuer, "kind": s.kind, "issued_at": s.issued_at, "access_key_id": s.access_key_id}
        for s in rev.sessions
    ]
    for r in sources:
        who = _s(r.get("issuer_arn")) or _s(r.get("issuer_name")) or _s(r.get("issuer_type")) or "unknown"
        g = groups.setdefault(who, {"kinds": set(), "n": 0, "last": None, "suspicious": False})
        g["kinds"].add(_s(r.get("kind")) or "Observed")
        g["n"] += 1
        issued = _t(r.get("issued_at"))
        if issued is not None and (g["last"] is None or issued > g["last"]):
            g["last"] = issued
        g["suspicious"] |= str(r.get("access_key_id")) in lineage
    dependents = tuple(
        Dependent(
            principal=who,
            kinds=tuple(sorted(g["kinds"])),
            sessions=g["n"],
            last_issued=g["last"],
            suspicious=g["suspicious"],
        )
        for who, g in sorted(groups.items(), key=lambda kv: -kv[1]["n"])
    )
    return RoleDeletion(role_arn=rev.arn, dependents=dependents)
