"""Indicators and key calls of a traced lineage: what to block, and which events to read first.

Pure core (pandas only). :func:`indicators` lists source IPs, user agents, access key ids, regions
and the principals created from the lineage, each flagged ``suspicious`` or not, for blocklists;
:func:`key_calls` orders the lineage's calls so the ones behind findings, the writes and the
sensitive reads come first, each with its ``eventID``.

Example:
    >>> indicators_csv([]).strip()
    'type,value,suspicious,first_seen,last_seen,count,credentials,note'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ircreds.escape import CSV_CELL_LIMIT, TEXT_LIMIT, csv_cell, truncate
from ircreds.times import iso_z

SENSITIVE_READS = frozenset(
    {
        "GetObject",
        "GetSecretValue",
        "BatchGetSecretValue",
        "Decrypt",
        "GenerateDataKey",
        "GetParameter",
        "GetParameters",
        "GetParametersByPath",
        "GetPasswordData",
        "GetSessionToken",
        "GetFederationToken",
        "GetSigninToken",
        "GetCallerIdentity",
        "ListSecrets",
        "ListBuckets",
        "ListUsers",
        "ListRoles",
        "GetAccountAuthorizationDetails",
        "Scan",
        "Query",
        "GetItem",
        "ExportTableToPointInTime",
        "CreateSnapshot",
        "GetAuthorizationToken",
    }
)

_MINTING = frozenset(
    {"CreateUser", "CreateRole", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"}
)


def key_calls(calls: pd.DataFrame, findings: list[dict[str, Any]], *, max_calls: int = 200) -> dict[str, Any]:
    """The calls worth reading first: events behind findings, writes, sensitive reads, then the rest."""
    if not len(calls):
        return {"rows": [], "total": 0, "shown": 0, "omitted": 0}
    flagged = {e for f in findings for e in f["event_ids"]}
    names = calls["eventName"].astype(object)
    read_only = calls["readOnly"] if "readOnly" in calls.columns else pd.Series(pd.NA, index=calls.index)
    rank = pd.Series(3, index=calls.index)
    rank[names.isin(SENSITIVE_READS)] = 2
    rank[(read_only == False).fillna(False).astype(bool)] = 1  # noqa: E712 - nullable boolean
    rank[calls["eventID"].astype(object).isin(flagged)] = 0
    # order on the rank and time alone, then take the shown rows: the calls' other columns (a huge user
    # agent) are never copied by the sort
    order = pd.DataFrame({"_rank": rank, "eventTime": calls["eventTime"]}).sort_values(
        ["_rank", "eventTime"], kind="stable"
    )
    important = int((rank < 3).sum())
    shown = order.head(max(max_calls, 0))
    rows = []
    why = {0: "finding", 1: "write", 2: "sensitive", 3: "read"}
    for index, ranked in zip(shown.index, shown["_rank"], strict=True):
        item = _call_row(calls.loc[index])
        item["why"] = why[int(ranked)]
        rows.append(item)
    return {
        "rows": rows,
        "total": len(calls),
        "important": important,
        "shown": len(rows),
        "omitted": len(calls) - len(rows),
    }


def _call_row(row: pd.Series) -> dict[str, Any]:
    def get(name: str) -> Any:
        value = row.get(name)
        return (
            None
            if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))
            else value
        )

    def text(name: str) -> str | None:
        # a displayed call: an attacker's 200 MB user agent is cut here (the frame and the
        # indicators appendix keep it whole), so the report data holds no more copies of it
        value = _s(get(name))
        return value if value is None or len(value) <= TEXT_LIMIT else truncate(value, TEXT_LIMIT)

    when = get("eventTime")
    return {
        "time": iso_z(when),
        "event_name": text("eventName"),
        "event_source": text("eventSource"),
        "region": text("awsRegion"),
        "source_ip": text("sourceIPAddress"),
        "user_agent": text("userAgent"),
        "error_code": text("errorCode"),
        "credential": text("credential"),
        "read_only": None if get("readOnly") is None else bool(get("readOnly")),
        "event_id": text("eventID"),
    }


def indicators(trace: Any, calls: pd.DataFrame, events: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Indicators for blocklists: source IPs, user agents, key ids, regions, principals created.

    ``suspicious`` is True for what the issuer never used (IPs, agents), the keys of the lineage below
    the leaked one, and principals created from it; the issuer's own IPs stay listed, flagged False,
    so a blocklist built from the file does not lock the legitimate user out.
    """
    nodes = _nodes(trace)
    new_ips = set(_suspicious_ips(trace))
    new_agents = {ua for n in nodes for ua in getattr(n.summary, "new_user_agents", ())}
    rows: list[dict[str, Any]] = []
    for column, kind, flagged in (
        ("sourceIPAddress", "source_ip", new_ips),
        ("userAgent", "user_agent", new_agents),
    ):
        if column not in calls.columns or not len(calls):
            continue
        # S3 wraps agents in [...]; the tracer compares them unwrapped
        grouped = _by_value(calls, column, unwrap=column == "userAgent")
        for value, group in grouped:
            rows.append(
                _indicator(
                    kind,
                    str(value),
                    suspicious=str(value) in flagged,
                    first=group["eventTime"].min(),
                    last=group["eventTime"].max(),
                    count=len(group),
                    credentials=sorted({str(c) for c in group["credential"].astype(object).dropna()}),
                    note="" if str(value) in flagged else "also used by the issuer or before the leak",
                )
            )
    for node in nodes:
        s = node.session
        rows.append(
            _indicator(
                "access_key_id",
                s.access_key_id,
                suspicious=True,
                first=node.summary.first,
                last=node.summary.last,
                count=int(node.summary.count),
                credentials=[s.access_key_id],
                note=f"{s.kind}"
                + (f" of {s.role_arn}" if s.role_arn else "")
                + (f", from {s.parent_key}" if s.parent_key else ""),
            )
        )
    if "awsRegion" in calls.columns and len(calls):
        for value, group in _by_value(calls, "awsRegion", extra=("sourceIPAddress",)):
            rows.append(
                _indicator(
                    "region",
                    str(value),
                    suspicious=bool(set(group["sourceIPAddress"].astype(object)) & new_ips),
                    first=group["eventTime"].min(),
                    last=group["eventTime"].max(),
                    count=len(group),
                    credentials=sorted({str(c) for c in group["credential"].astype(object).dropna()}),
                    note="",
                )
            )
    rows += _principals_created(calls, nodes)
    return rows


def _by_value(
    calls: pd.DataFrame, column: str, *, unwrap: bool = False, extra: tuple[str, ...] = ()
) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(value, rows)`` for each distinct value of ``column`` (missing ones left out), by value.

    The values are factorised where they are stored (Arrow: one Python string per distinct value, not
    per row) and ``rows`` hold only the times, credentials and ``extra`` columns: a 200 MB user agent
    on many calls is never copied per row or per group.
    """
    codes, uniques = _factorize(calls[column])
    labels = [_unwrap(u) if unwrap else str(u) for u in uniques]
    if not labels:
        return
    order = sorted(set(labels))
    rank = {label: i for i, label in enumerate(order)}
    keys = np.asarray([rank[label] for label in labels], dtype=np.int64)[codes]
    columns = [c for c in ("eventTime", "credential", *extra) if c in calls.columns]
    narrow = calls[columns].assign(_k=keys)[codes >= 0]
    for key, group in narrow.groupby("_k", sort=True):
        yield order[int(key)], group


#: Values longer than this (characters) are read one at a time: hashing a column of them at once would
#: copy each (an attacker's 200 MB user agent on many calls) and grow Arrow's buffers to several times it.
_LONG_VALUE = 65_536


def _factorize(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """``(codes, uniques)`` of ``values``: -1 for a missing value, one Python object per distinct value."""
    try:
        lengths = values.str.len().fillna(0).to_numpy(dtype=np.int64)
    except (AttributeError, TypeError):  # not text: nothing long
        lengths = np.zeros(len(values), dtype=np.int64)
    long = lengths > _LONG_VALUE
    if not long.any():
        codes, found = pd.factorize(values)
        return np.asarray(codes, dtype=np.int64), list(found)
    codes = np.full(len(values), -1, dtype=np.int64)
    short = np.flatnonzero(~long)
    short_codes, found = pd.factorize(values.iloc[short])
    codes[short] = short_codes
    uniques = list(found)
    seen = {value: i for i, value in enumerate(uniques)}
    for position in np.flatnonzero(long):
        value = values.iat[position]  # one copy at a time; an equal one already seen is dropped again
        codes[position] = seen.setdefault(value, len(uniques))
        if codes[position] == len(uniques):
            uniques.append(value)
    return codes, uniques


def _unwrap(agent: Any) -> Any:
    text = str(agent)
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def _principals_created(calls: pd.DataFrame, nodes: list[Any]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    if len(calls) and "eventName" in calls.columns:
        mask = calls["eventName"].astype(object).isin(_MINTING)
        if "errorCode" in calls.columns:
            mask &= calls["errorCode"].isna()
        # in time order (the first call that created a principal names it); only these rows are copied
        for _, row in calls[mask].sort_values("eventTime", kind="stable").iterrows():
            req = _json(row.get("requestParameters"))
            resp = _json(row.get("responseElements"))
            name = str(row["eventName"])
            inner = (
                resp.get("user")
                or resp.get("role")
                or resp.get("accessKey")
                or resp.get("loginProfile")
                or {}
            )
            value = inner.get("arn") if isinstance(inner, Mapping) else None
            if name == "CreateAccessKey":
                value = (inner.get("accessKeyId") if isinstance(inner, Mapping) else None) or value
                detail = f"access key for user {req.get('userName') or inner.get('userName') or '?'}"
            elif name in ("CreateLoginProfile", "UpdateLoginProfile"):
                detail = "console password for user " + str(req.get("userName") or "?")
                value = value or f"login-profile:{req.get('userName')}"
            else:
                detail = name.removeprefix("Create").lower()
                value = value or req.get("userName") or req.get("roleName")
            if not value:
                continue
            when = row["eventTime"]
            rows.setdefault(
                str(value),
                _indicator(
                    "principal_created",
                    str(value),
                    suspicious=True,
                    first=when,
                    last=when,
                    count=1,
                    credentials=[_s(row.get("credential")) or ""],
                    note=f"{name}: {detail} (event {row.get('eventID')})",
                ),
            )
    for node in nodes:
        s = node.session
        arn = getattr(s, "principal_arn", None)
        if str(s.kind) == "CreateAccessKey" and arn and arn not in rows:
            rows[arn] = _indicator(
                "principal_created",
                arn,
                suspicious=True,
                first=s.issued_at,
                last=s.issued_at,
                count=1,
                credentials=[s.parent_key or ""],
                note=f"owner of minted key {s.access_key_id}",
            )
    return list(rows.values())


def _indicator(
    kind: str,
    value: str,
    *,
    suspicious: bool,
    first: Any,
    last: Any,
    count: int,
    credentials: list[str],
    note: str,
) -> dict[str, Any]:
    return {
        "type": kind,
        "value": value,
        "suspicious": bool(suspicious),
        "first_seen": iso_z(first),
        "last_seen": iso_z(last),
        "count": int(count),
        "credentials": credentials,
        "note": note,
    }


def indicators_csv(rows: list[dict[str, Any]]) -> str:
    """The indicators appendix as CSV (credentials joined by spaces).

    A text cell starting with ``= + - @``, tab or CR gets a leading ``'`` (:func:`ircreds.escape.csv_cell`,
    OWASP's advice against formula injection); :func:`ircreds.escape.csv_uncell` takes it off again.
    A cell longer than a spreadsheet holds (:data:`ircreds.escape.CSV_CELL_LIMIT`) is cut, saying how
    much; the JSON appendix keeps the whole value.
    """
    buf = io.StringIO()
    columns = ["type", "value", "suspicious", "first_seen", "last_seen", "count", "credentials", "note"]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {
            **row,
            "credentials": " ".join(row["credentials"]),
            "suspicious": str(row["suspicious"]).lower(),
        }
        # attacker-written values (user agents, names): no cell may start a spreadsheet formula
        writer.writerow(
            {k: csv_cell(v, CSV_CELL_LIMIT) if isinstance(v, str) else v for k, v in cells.items()}
        )
    return buf.getvalue()


def _suspicious_ips(trace: Any) -> tuple[str, ...]:
    if hasattr(trace, "suspicious_ips"):
        return tuple(trace.suspicious_ips())
    out: dict[str, None] = {}
    for node in _nodes(trace):
        for ip in getattr(node.summary, "new_source_ips", ()):
            out.setdefault(ip, None)
    return tuple(out)


def _nodes(trace: Any) -> list[Any]:
    return list(trace.walk()) if hasattr(trace, "walk") else [trace]


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _s(value: Any) -> str | None:
    return None if value is None or value is pd.NA else str(value)
