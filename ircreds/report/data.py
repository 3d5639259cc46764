"""The content of the post-incident report, as JSON-ready data (pure core; the templates lay it out).

:func:`build_data` gathers from a trace, a containment plan, the action record, the events frame and
the integrity result: the summary (what leaked, when, by whom, first misuse, exposure window, time to
detect and contain, current state), the indicators, the findings, the key calls, containment, the
evidence and the caveats. :mod:`ircreds.report` renders it; a notebook can use it directly.

Example:
    >>> scrub('{"sessionToken": "EXAMPLE-SESSION-TOKEN-00ff", "accessKeyId": "ASIAEXAMPLE"}')
    '{"sessionToken": "<redacted>", "accessKeyId": "ASIAEXAMPLE"}'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ircreds import redaction
from ircreds.escape import csv_cell
from ircreds.evidence.integrity import IntegrityResult
from ircreds.report.containment import (
    action_list,
    applied_denies,
    as_dict,
    containment_view,
    deleted_keys,
    parse_time,
    proof_from_logs,
    rehearsal,
)
from ircreds.report.indicators import _call_row, _nodes, _suspicious_ips, indicators, key_calls
from ircreds.times import iso_z, parse_iso

_DELIVERY_LAG = timedelta(minutes=15)


def scrub(text: str) -> str:
    """Replace any session token, secret key or presigned-URL signature left in ``text`` by ``<redacted>``.

    The rules are :mod:`ircreds.redaction`'s (keys, name/value pairs, token-shaped values); this is
    the pass over rendered text. The report's data gets :func:`scrub_tree` first, before any escaping.

    Example:
        >>> scrub('{"sessionToken": "EXAMPLE-SESSION-TOKEN-00ff", "accessKeyId": "ASIAEXAMPLE"}')
        '{"sessionToken": "<redacted>", "accessKeyId": "ASIAEXAMPLE"}'
    """
    return redaction.scrub(text)


def build_data(
    trace: Any,
    *,
    plan: Any = None,
    actions: Any = None,
    events: pd.DataFrame | None = None,
    command: str | None = None,
    now: datetime | None = None,
    integrity: IntegrityResult | None = None,
    load_report: Mapping[str, Any] | None = None,
    detected_at: datetime | None = None,
    verification: Any = None,
    max_calls: int = 200,
) -> dict[str, Any]:
    """Everything the report says, as JSON-ready data (the templates only lay it out)."""
    from ircreds import __version__

    if load_report is None and events is not None:
        load_report = events.attrs.get("load_report")
    load_report = dict(load_report or {})
    calls = _calls(trace)
    plan_dict = as_dict(plan)
    actions_done = action_list(actions)
    evidence_end = _evidence_end(events, load_report, calls)
    # the state is told as of the plan's now: one moment for the plan and the report
    plan_now = parse_time(plan_dict.get("now")) if plan_dict else None
    if now is not None and plan_now is not None and iso_z(now) != iso_z(plan_now):  # JSON keeps whole seconds
        raise ValueError(
            f"now={iso_z(now)} differs from the plan's now {iso_z(plan_now)}: the report's state as of must be the "
            "plan's; build the plan at that now (or leave now= out and the report takes the plan's)"
        )
    as_of = now or plan_now or evidence_end
    # containment counts only what happened by then: a deny logged later is not in place as of as_of
    applied = {
        k: v for k, v in applied_denies(events, actions_done).items() if as_of is None or v[0] <= as_of
    }
    if verification is None:
        verification = proof_from_logs(plan, events, as_of)
    elif verification is False:
        verification = None
    cutoff_dt = parse_time(plan_dict.get("cutoff")) if plan_dict else None
    suspicious = set(_suspicious_ips(trace))
    first_misuse = _first_misuse(calls, suspicious)
    contained_at = min(at for at, _ in applied.values()) if applied else None
    rehearsals = [a for a in actions_done if rehearsal(a) and not a.get("dry_run")]
    findings = _findings(trace)
    credentials = _credentials(trace, as_of, plan_dict, applied, events)
    data: dict[str, Any] = {
        "title": f"Post-incident report: leaked credential {trace.key}",
        "key": trace.key,
        "tool": {"name": "ircreds", "version": __version__, "command": scrub(command) if command else None},
        "generated_for": iso_z(as_of),
        "now_given": now is not None or plan_now is not None,
        "as_of_source": "given" if now is not None else "plan" if plan_now is not None else "evidence-end",
        "summary": {
            **_summary(trace, calls, first_misuse, contained_at, detected_at, as_of, credentials),
            "rehearsals": len(rehearsals),
        },
        "credentials": credentials,
        "indicators": indicators(trace, calls, events),
        "findings": findings,
        "key_calls": key_calls(calls, findings, max_calls=max_calls),
        "containment": containment_view(plan_dict, cutoff_dt, actions_done, applied, events, verification),
        "evidence": {
            "load_report": _load_counts(load_report),
            "files": _files(integrity, load_report),
            "integrity": integrity.to_dict() if integrity is not None else None,
        },
        "caveats": caveats(trace, events, load_report, integrity, evidence_end, now),
    }
    # the final scrub runs on the raw text, before any template escapes it (an escaped quote would
    # hide a "sessionToken": "..." pair from a scrub of the rendered page)
    return scrub_tree(data)


def scrub_tree(value: Any) -> Any:
    """``value`` redacted by :func:`ircreds.redaction.redact`: every key, name/value pair and string.

    Runs on the raw data, before any template escapes it (an escaped quote, ``&#34;``, or a
    Markdown ``\\_`` would hide a secret from a scrub of the rendered page). Tuples come back as lists.

    Example:
        >>> scrub_tree({"ua": ["aws_session_token=EXAMPLETOKEN"], "env": {"name": "AWS_SESSION_TOKEN", "value": "x"}})
        {'ua': ['aws_session_token=<redacted>'], 'env': {'name': 'AWS_SESSION_TOKEN', 'value': '<redacted>'}}
    """
    return redaction.redact(value)


def _calls(trace: Any) -> pd.DataFrame:
    # trace.all_calls() without its sort by time: every use here orders or aggregates by time itself
    # (stable, so ties keep this walk order, as after the sort), and sorting the whole frame would copy
    # every column, an attacker's 200 MB user agent too
    frame = (
        pd.concat([node.calls.assign(credential=node.key) for node in trace.walk()], ignore_index=True)
        if hasattr(trace, "walk")
        else trace.calls.assign(credential=trace.key)
    )
    if "credential" not in frame.columns:
        frame = frame.assign(credential=frame.get("userIdentity.accessKeyId"))
    return frame


def _first_misuse(calls: pd.DataFrame, suspicious: set[str]) -> dict[str, Any] | None:
    if not suspicious or not len(calls) or "sourceIPAddress" not in calls.columns:
        return None
    # the earliest hit found on the times alone: only that one row is read whole
    times = calls.loc[calls["sourceIPAddress"].astype(object).isin(suspicious), "eventTime"]
    if not len(times):
        return None
    return _call_row(calls.loc[times.sort_values(kind="stable").index[0]])


def _summary(
    trace: Any,
    calls: pd.DataFrame,
    first_misuse: dict[str, Any] | None,
    contained_at: datetime | None,
    detected_at: datetime | None,
    as_of: datetime | None,
    credentials: list[dict[str, Any]],
) -> dict[str, Any]:
    s = trace.session
    issuer = s.issuer
    misuse_at = parse_iso(first_misuse["time"]) if first_misuse else None
    suspicious = set(_suspicious_ips(trace))
    # the times alone: filtering the whole frame would copy every column (a huge user agent too)
    attacker_times = (
        calls.loc[calls["sourceIPAddress"].astype(object).isin(suspicious), "eventTime"] if len(calls) else ()
    )
    last_attacker = attacker_times.max() if len(attacker_times) else None
    last_attacker = (
        last_attacker.to_pydatetime() if last_attacker is not None and pd.notna(last_attacker) else None
    )
    active = [c["access_key_id"] for c in credentials if c["active"]]
    leaked = credentials[0]
    window_end = None if active else max((parse_iso(c["ended_at"]) for c in credentials), default=None)
    return {
        "leaked": {
            "access_key_id": s.access_key_id,
            "kind": str(s.kind),
            "role_arn": s.role_arn,
            "session_name": s.session_name,
            "account_id": s.account_id,
            "observed_only": bool(getattr(s, "observed_only", False)),
        },
        "issued_at": iso_z(s.issued_at),
        "expires_at": iso_z(s.expires_at),
        "issuing_event_id": s.issuing_event_id,
        "issuer": {
            "type": issuer.type,
            "arn": issuer.arn,
            "name": issuer.name,
            "access_key_id": issuer.access_key_id,
            "source_ip": issuer.source_ip,
            "user_agent": issuer.user_agent,
        },
        "root": {"type": str(trace.root.type), "arn": trace.root.arn, "name": trace.root.name},
        "first_misuse": first_misuse,
        "last_attacker_call": iso_z(last_attacker),
        "attacker_ips": sorted(suspicious),
        "calls": len(calls),
        "credentials": len(_nodes(trace)),
        "exposure": {
            "start": iso_z(misuse_at),
            "end": iso_z(window_end),
            "ongoing": bool(active),
            "active_credentials": active,
            "seconds": _seconds(misuse_at, window_end or (as_of if active else None)),
            "leaked_key_ended": leaked["ended_at"],
            "leaked_key_state": leaked["state"],
        },
        "contained": contained_at is not None and not active,
        "detected_at": iso_z(detected_at),
        "time_to_detect": _seconds(misuse_at, detected_at),
        "contained_at": iso_z(contained_at),
        "time_to_contain": _seconds(misuse_at, contained_at),
        "time_from_detect_to_contain": _seconds(detected_at, contained_at),
        "as_of": iso_z(as_of),
        "findings_by_severity": _count_by(f["severity"] for f in _findings(trace)),
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def _count_by(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _credentials(
    trace: Any,
    as_of: datetime | None,
    plan: Mapping[str, Any],
    applied: Mapping[str, tuple[datetime, datetime]],
    events: pd.DataFrame | None,
) -> list[dict[str, Any]]:
    """Every credential of the lineage with its state at ``as_of`` and when it stopped working."""
    deleted = deleted_keys(events)
    out = []
    for node in _nodes(trace):
        s = node.session
        state = _state(s, as_of, plan, applied, deleted)
        out.append(
            {
                "access_key_id": s.access_key_id,
                "kind": str(s.kind),
                "role_arn": s.role_arn,
                "principal_arn": getattr(s, "principal_arn", None),
                "session_name": s.session_name,
                "parent_key": s.parent_key,
                "issued_at": iso_z(s.issued_at),
                "expires_at": iso_z(s.expires_at),
                "calls": int(node.summary.count),
                "errors": int(node.summary.error_count),
                "first": iso_z(node.summary.first),
                "last": iso_z(node.summary.last),
                "depth": int(getattr(node, "depth", 0)),
                **state,
            }
        )
    return out


def _state(
    s: Any,
    as_of: datetime | None,
    plan: Mapping[str, Any],
    applied: Mapping[str, tuple[datetime, datetime]],
    deleted: Mapping[str, datetime],
) -> dict[str, Any]:
    """``state`` (a sentence), ``active`` (still usable at ``as_of``), ``ended_at``, ``covered_by``."""
    key = s.access_key_id
    target = s.role_arn or getattr(s, "principal_arn", None) or ""
    name = target.rsplit("/", 1)[-1] if target else None
    covered = None
    for rev in (plan or {}).get("revocations") or ():
        if key in json.dumps(rev.get("cuts", []), default=str):
            covered = str(rev.get("arn") or rev.get("target"))
            break
    ends: list[tuple[datetime, str]] = []
    user = name if (getattr(s, "principal_arn", None) or "").split(":")[-1].startswith("user/") else None
    for marker in (key, f"user:{user}" if user else None):
        if marker and marker in deleted:
            ends.append((deleted[marker], f"deleted or deactivated at {iso_z(deleted[marker])}"))
    deny = applied.get(target) or (applied.get(name) if name else None)
    if deny is not None and s.issued_at is not None and s.issued_at < deny[1]:
        ends.append((deny[0], f"cut off at {iso_z(deny[0])} by AWSRevokeOlderSessions on {name}"))
    if s.expires_at is not None:
        ends.append((s.expires_at, f"expired at {iso_z(s.expires_at)}"))
    ends.sort(key=lambda e: e[0])
    if ends and (as_of is None or ends[0][0] <= as_of):
        ended_at, text = ends[0]
        if ended_at != s.expires_at and s.expires_at is not None:
            text += f" (would have expired at {iso_z(s.expires_at)})"
        return {"state": text, "active": False, "ended_at": iso_z(ended_at), "covered_by": covered}
    if covered:
        text = f"VALID until {iso_z(s.expires_at)}; the plan's deny on {covered.rsplit('/', 1)[-1]} cuts it once applied"
    elif s.expires_at is None:
        text = "VALID: long-term key, usable until deleted or deactivated"
    else:
        text = f"VALID until {iso_z(s.expires_at)}: no deny covers it"
    return {"state": text, "active": True, "ended_at": None, "covered_by": covered}


def _findings(trace: Any) -> list[dict[str, Any]]:
    found = (
        trace.all_findings()
        if hasattr(trace, "all_findings")
        else [f for n in _nodes(trace) for f in n.findings]
    )
    rows = []
    for f in found:
        rows.append(
            {
                "id": f.id,
                "severity": str(f.severity),
                "title": getattr(f, "title", None) or f.id,
                "summary": f.summary,
                "mitre": list(getattr(f, "mitre", ()) or ()),
                "event_ids": list(f.event_ids),
                "credential": getattr(f, "access_key_id", None),
            }
        )
    return rows


def caveats(
    trace: Any,
    events: pd.DataFrame | None,
    load_report: Mapping[str, Any],
    integrity: IntegrityResult | None,
    evidence_end: datetime | None,
    now: datetime | None,
) -> list[str]:
    """What the evidence does not cover, in sentences."""
    out: list[str] = []
    ev = getattr(trace, "evidence", None)
    data_events = getattr(ev, "data_event_count", None)
    if data_events is None and events is not None and "eventCategory" in events.columns:
        data_events = int((events["eventCategory"].astype(object) == "Data").sum())
    if not data_events:
        out.append(
            "No data events in the evidence: S3 object reads and writes, Lambda invocations and DynamoDB item "
            "access are not logged unless the trail records data events, so what was read may be more than shown."
        )
    else:
        out.append(
            f"{data_events} data events are in the evidence; data events only cover the resources the trail selects."
        )
    regions = sorted(load_report.get("regions") or getattr(ev, "regions", ()) or ())
    accounts = sorted(load_report.get("accounts") or getattr(ev, "accounts", ()) or ())
    if regions:
        out.append(f"Regions in the evidence: {', '.join(regions)}. Calls in any other region are not seen.")
    if accounts:
        out.append(f"Accounts in the evidence: {', '.join(accounts)}.")
    other = sorted(
        {
            arn.split(":")[4]
            for n in _nodes(trace)
            for arn in (n.session.role_arn,)
            if arn and arn.count(":") >= 5 and accounts and arn.split(":")[4] not in accounts
        }
    )
    if other:
        out.append(
            f"The lineage reaches account(s) {', '.join(other)} whose own trail is not loaded: calls there are missing."
        )
    time_range = load_report.get("time_range")
    if isinstance(time_range, Mapping | list | tuple) and time_range:
        start, end = (
            (time_range.get("start"), time_range.get("end"))
            if isinstance(time_range, Mapping)
            else (time_range[0], time_range[-1])
        )
        out.append(f"The evidence spans {start} to {end}; anything outside that window is not covered.")
    if evidence_end is not None:
        lag_note = (
            f"CloudTrail delivers files about 5 minutes after a call, with no guarantee: events of the last "
            f"{int(_DELIVERY_LAG.total_seconds() // 60)} minutes before {iso_z(evidence_end)} may not be delivered yet"
        )
        if now is not None and now - evidence_end > _DELIVERY_LAG:
            lag_note += (
                f"; the evidence ends {_duration((now - evidence_end).total_seconds())} before this report"
            )
        out.append(lag_note + ".")
    for text in load_report.get("caveats") or ():
        out.append(str(text))
    if integrity is None:
        out.append("The digest files were not checked for this report (no integrity result given).")
    elif integrity.status == "no-digests":
        out.append("No CloudTrail-Digest files were loaded: the log files' integrity could not be checked.")
    else:
        out.append(integrity.signature_note)
    out.append(
        "Session tokens and secret keys in the logs are redacted before anything is kept; key ids and ARNs are shown."
    )
    return out


def evidence_csv(files: list[dict[str, Any]]) -> str:
    """The evidence manifest as CSV: path, kind, size, both SHA-256, records, time range."""
    columns = [
        "path",
        "kind",
        "size",
        "sha256",
        "sha256_uncompressed",
        "records",
        "first_event",
        "last_event",
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in files:
        writer.writerow({k: "" if row.get(k) is None else csv_cell(row[k]) for k in columns})
    return buf.getvalue()


def _load_counts(report: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("records_read", "events", "duplicates", "rejects", "id_collisions", "files_read", "files_skipped")
    out: dict[str, Any] = {}
    for k in keys:
        v = report.get(k)
        out[k] = len(v) if isinstance(v, list | tuple) else v
    out["time_range"] = report.get("time_range")
    out["accounts"] = list(report.get("accounts") or [])
    out["regions"] = list(report.get("regions") or [])
    out["sources"] = report.get("sources")
    out["reject_samples"] = (
        [r for r in (report.get("rejects") or [])[:20]] if isinstance(report.get("rejects"), list) else []
    )
    out["skipped"] = (
        list(report.get("files_skipped") or [])[:50] if isinstance(report.get("files_skipped"), list) else []
    )
    return out


def _files(integrity: IntegrityResult | None, load_report: Mapping[str, Any]) -> list[dict[str, Any]]:
    if integrity is not None:
        return [f.to_dict() for f in integrity.files]
    files = load_report.get("files_read")
    if isinstance(files, list):
        return [
            {"path": str(f if not isinstance(f, Mapping) else f.get("path")), "sha256": None} for f in files
        ]
    return []


def _evidence_end(
    events: pd.DataFrame | None, load_report: Mapping[str, Any], calls: pd.DataFrame
) -> datetime | None:
    if events is not None and len(events) and "eventTime" in events.columns:
        return events["eventTime"].max().to_pydatetime()
    time_range = load_report.get("time_range")
    if isinstance(time_range, Mapping) and time_range.get("end"):
        return parse_iso(time_range["end"])
    if len(calls):
        return calls["eventTime"].max().to_pydatetime()
    return None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    sign = "-" if seconds < 0 else ""
    total = abs(int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours or days else []
    parts += [f"{minutes:02d}m" if parts else f"{minutes}m", f"{secs:02d}s"]
    return sign + " ".join(parts)
