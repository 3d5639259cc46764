"""The case's own story, in Markdown, for the notebooks: facts read from the trace, plan and verification.

The walkthrough notebooks teach in general terms; every sentence that states a fact about *this* case
(which key, which role, who issued it, when, what it spawned, what the cut-off cuts) comes from here, so
the same notebook tells the truth about any incident. Every value from the evidence is escaped
(:func:`ircreds.escape.md_code` / :func:`ircreds.escape.md_text`): user agents and names are attacker-written.

Example:
    >>> from ircreds.display import MarkdownView
    >>> isinstance(evidence_md({"events": 0, "files_read": 0}), MarkdownView)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ircreds.display import MarkdownView
from ircreds.escape import md_code, md_text

__all__ = ["calls_md", "evidence_md", "lineage_md", "plan_md", "session_md", "verify_md"]

_CHAINING = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}


def _c(value: Any) -> str:
    return md_code(value) if value not in (None, "") else "*unknown*"


def _t(value: Any) -> str:
    if value is None:
        return "*unknown*"
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return md_text(value)


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if abs(hours - round(hours)) < 0.02 else f"{hours:.1f} h"


def _list(values: Any, limit: int = 8) -> str:
    values = [v for v in values if v not in (None, "")]
    if not values:
        return "none"
    shown = ", ".join(_c(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def evidence_md(events_or_report: Any) -> MarkdownView:
    """What the loaded evidence covers (from ``events.attrs["load_report"]`` or the report itself)."""
    report = getattr(events_or_report, "attrs", {}).get("load_report", events_or_report)
    report = report if isinstance(report, Mapping) else {}
    span = report.get("time_range") or {}
    accounts = list(report.get("accounts") or ())
    regions = list(report.get("regions") or ())
    lines = [
        f"**This case's evidence:** {int(report.get('events') or 0):,} events from "
        f"{int(report.get('files_read') or 0):,} files, {_t(span.get('start'))} to {_t(span.get('end'))}, "
        f"{len(accounts)} account(s) ({_list(accounts)}) and {len(regions)} region(s).",
    ]
    rejects = len(report.get("rejects") or ())
    lines.append(
        f"{rejects} record(s) were rejected (each listed with its file and reason below)."
        if rejects
        else "No record was rejected."
    )
    if len(accounts) > 1:
        lines.append(
            "The evidence spans more than one account: a session assumed across accounts is logged in both "
            "(linked by `sharedEventID`), and containment may need changes in each."
        )
    return MarkdownView("\n\n".join(lines))


def session_md(trace: Any) -> MarkdownView:
    """Which call issued the key, for which role, by whom, when, and for how long."""
    s = trace.session
    issuer = s.issuer
    out = [
        f"**The answer for this case.** {_c(trace.key)} is a {_c(str(s.kind))} credential"
        + (
            f" of role {_c(s.role_arn)}"
            if s.role_arn
            else (f" of {_c(s.principal_arn)}" if s.principal_arn else "")
        )
        + (f" (session name {_c(s.session_name)})" if s.session_name else "")
        + ".",
    ]
    if getattr(s, "observed_only", False):
        out.append(
            "Its issuing call is **not in the evidence**: what is known comes from its calls' `sessionContext`. "
            "Load earlier logs, or other regions and accounts, to find who issued it."
        )
    else:
        out.append(
            f"It was issued at {_t(s.issued_at)} (its `aws:TokenIssueTime`) by {_c(issuer.arn or issuer.type)}"
            + (f" from {_c(issuer.source_ip)}" if issuer.source_ip else "")
            + (f", user agent {_c(issuer.user_agent)}" if issuer.user_agent else "")
            + (f", in event {_c(s.issuing_event_id)}" if getattr(s, "issuing_event_id", None) else "")
            + "."
        )
    if s.issued_at is not None and s.expires_at is not None:
        seconds = (s.expires_at - s.issued_at).total_seconds()
        note = ""
        if str(s.kind) in _CHAINING and seconds >= 12 * 3600 - 60:
            note = ": the longest any role allows"
        elif str(s.kind) in _CHAINING and seconds <= 3600 + 60:
            note = ": the default (or the 1 h cap of role chaining)"
        out.append(
            f"It was issued for **{_hours(seconds)}**{note}, and stays valid until {_t(s.expires_at)} unless cut off."
        )
    root = trace.root
    out.append(
        f"At the top of the lineage (the *root*): {md_text(str(root.type))} {_c(root.name or root.arn)}."
    )
    return MarkdownView("\n\n".join(out))


def calls_md(trace: Any) -> MarkdownView:
    """What the key did: its calls, the issuer's IPs, the new ones, the first call from a new IP."""
    summary = trace.summary
    out = [
        f"**This case.** {_c(trace.key)} signed {summary.count:,} call(s) from {_t(summary.first)} to "
        f"{_t(summary.last)}, {summary.error_count:,} with an error, in {len(summary.regions)} region(s)."
    ]
    issuer_ips = list(getattr(summary, "issuer_source_ips", ()) or ())
    new_ips = list(summary.new_source_ips)
    out.append(f"The issuer used {_list(issuer_ips)}; IPs the issuer never used: {_list(new_ips)}.")
    calls = trace.calls
    if new_ips and len(calls) and "sourceIPAddress" in calls.columns:
        first = calls[calls["sourceIPAddress"].isin(new_ips)].iloc[0]
        out.append(
            f"The first call from a new IP: {_c(first.get('eventName'))} at {_t(first.get('eventTime'))} from "
            f"{_c(first.get('sourceIPAddress'))} (user agent {_c(first.get('userAgent'))}), event {_c(first.get('eventID'))}."
            + (
                " An identity probe, as expected."
                if first.get("eventName") == "GetCallerIdentity"
                else " Not the usual `GetCallerIdentity` probe: read the calls around it."
            )
        )
    elif not new_ips:
        out.append("No call came from an IP the issuer had not used: compare user agents and times instead.")
    found = list(trace.findings)
    if found:
        out.append(f"{len(found)} finding(s) on this key; the most severe: {md_text(found[0].summary, 300)}")
    return MarkdownView("\n\n".join(out))


def lineage_md(trace: Any) -> MarkdownView:
    """What the key spawned: chained sessions, minted keys, each with its own calls."""
    nodes = [n for n in trace.walk() if n is not trace]
    if not nodes:
        return MarkdownView(
            f"**This case.** {_c(trace.key)} issued no other credential in the evidence: the lineage is the key alone."
        )
    rows = ["| credential | kind | role / principal | issued | calls |", "|---|---|---|---|---|"]
    for node in nodes:
        s = node.session
        rows.append(
            f"| {_c(node.key)} | {md_text(str(s.kind))} | {_c(s.role_arn or s.principal_arn)} | "
            f"{_t(s.issued_at)} | {node.summary.count:,} |"
        )
    kinds: dict[str, int] = {}
    for node in nodes:
        kinds[str(node.session.kind)] = kinds.get(str(node.session.kind), 0) + 1
    head = (
        f"**This case.** {_c(trace.key)} spawned {len(nodes)} credential(s): "
        + ", ".join(f"{n} × {md_text(k)}" for k, n in sorted(kinds.items()))
        + ". Each carries its own issue time, and a deny on one role reaches none of the others."
    )
    return MarkdownView(head + "\n\n" + "\n".join(rows))


def plan_md(plan: Any, trace: Any = None) -> MarkdownView:
    """The plan in sentences: the cut-off, who it cuts on which target, what it leaves, re-issuance."""
    out = [f"**The plan for this case.** Cut-off {_t(plan.cutoff)}, {len(plan.revocations)} target(s):"]
    for r in plan.revocations:
        bad = sum(1 for s in r.cuts if s.suspicious)
        out.append(
            f"- {md_text(str(r.target_kind))} {_c(r.target)} (account {_c(r.account_id)}): cuts {len(r.cuts)} "
            f"session(s), {bad} suspicious and {len(r.cuts) - bad} legitimate; {len(r.survives)} survive."
        )
    legit = sorted(
        {s.principal for r in plan.revocations for s in r.cuts if not s.suspicious and s.principal}
    )
    if legit:
        out.append(f"\nWarn them first: the cut-off also ends the sessions of {_list(legit)}.")
    if plan.uncovered:
        out.append(f"\n{len(plan.uncovered)} item(s) no revocation reaches (below), each with its action.")
    if trace is not None:
        issuer = trace.session.issuer
        if issuer.arn:
            out.append(
                f"\n**Stop re-issuance:** the key was issued by {_c(issuer.arn)}. If that identity's own "
                "credentials leaked too, the attacker simply gets a new session after the cut-off: deny or "
                "disable it, or tighten the role's trust policy."
            )
    return MarkdownView("\n".join(out))


def verify_md(result: Any, plan: Any = None) -> MarkdownView:
    """The verification in words: applied when, what was denied, what survived, what the plan spared."""
    verdict = (
        f"**Cut-off verified**: {len(result.denied)} call(s) by cut sessions denied after the allowance, none succeeded."
        if result.ok
        else f"**Cut-off NOT verified**: {len(result.succeeded)} call(s) succeeded past the allowance, "
        f"{len(result.minted)} minted a credential."
    )
    out = [
        f"The logs show the deny in place from {_t(result.applied_at)} ({len(result.checked_keys)} cut session(s) checked, "
        f"{int(result.allowance.total_seconds())} s allowance for propagation).",
        verdict,
    ]
    if result.exempt:
        out.append(
            f"{len(result.exempt)} `GetCallerIdentity` call(s) still succeeded: no policy can deny it."
        )
    if result.survivors_active:
        keys = sorted({c.access_key_id for c in result.survivors_active})
        out.append(
            f"Sessions this cut-off does not reach kept working: {_list(keys)} "
            f"({len(result.survivors_active)} call(s)): see the plan's other targets and *uncovered* items."
        )
    for reason in getattr(result, "reasons", ()) or ():
        out.append(f"- {md_text(reason, 400)}")
    return MarkdownView("\n\n".join(out))
