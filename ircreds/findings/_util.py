"""Helpers shared by the finding modules (pure pandas, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from ircreds.addresses import INSIDE_NETWORKS, is_public_ip
from ircreds.model import Finding, FindingSpec, Severity, Trace
from ircreds.schema import DENIED_ERROR_CODES, denied_codes
from ircreds.times import iso_z

# At most this many event ids are attached to one finding (the summary says how many there were).
MAX_EVENT_IDS = 50

#: The 0.1 name of :data:`ircreds.schema.DENIED_ERROR_CODES`.
DENIED_CODES = DENIED_ERROR_CODES


def make(
    spec: FindingSpec,
    trace: Trace,
    summary: str,
    event_ids: Iterable[str] = (),
    severity: Severity | None = None,
) -> Finding:
    """A finding of ``spec`` on ``trace``'s credential."""
    ids = tuple(dict.fromkeys(str(e) for e in event_ids if isinstance(e, str) and e))[:MAX_EVENT_IDS]
    return Finding(
        id=spec.id,
        severity=severity or spec.severity,
        summary=summary,
        event_ids=ids,
        access_key_id=trace.key,
        title=spec.title,
        mitre=spec.mitre,
    )


def col(calls: pd.DataFrame, name: str) -> pd.Series:
    """A column as nullable strings (all NA when missing)."""
    if name in calls.columns:
        column = calls[name]
        return column if isinstance(column.dtype, pd.StringDtype) else column.astype("string")
    return pd.Series(pd.NA, index=calls.index, dtype="string")


def texts(calls: pd.DataFrame, name: str) -> list[str | None]:
    """A column's values as Python strings, None where missing (``pd.NA`` is neither true nor false).

    Example:
        >>> texts(pd.DataFrame({"requestParameters": pd.array(['{"a":1}', None], dtype="string")}), "requestParameters")
        ['{"a":1}', None]
    """
    return [v if isinstance(v, str) else None for v in col(calls, name).tolist()]


def succeeded(calls: pd.DataFrame) -> pd.Series:
    """True where the call has no errorCode."""
    return col(calls, "errorCode").isna()


def denied(calls: pd.DataFrame) -> pd.Series:
    """True where the call was refused for lack of permission."""
    return denied_codes(col(calls, "errorCode"))


def successful_calls_named(calls: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """The calls whose eventName is one of ``names`` and that succeeded."""
    named = col(calls, "eventName").isin(sorted(names)).fillna(False)
    return calls.loc[(named & succeeded(calls)).to_numpy()]


def listing(parts: list[str], limit: int = 8) -> str:
    """The first ``limit`` parts joined by ``; ``, with how many more there were.

    Example:
        >>> listing(["a", "b", "c"], limit=2)
        'a; b; and 1 more'
    """
    return "; ".join(parts[:limit]) + (f"; and {len(parts) - limit} more" if len(parts) > limit else "")


def ids(calls: pd.DataFrame) -> list[str]:
    """The eventIDs of ``calls``, in order."""
    return [v for v in col(calls, "eventID").tolist() if isinstance(v, str)]


def when(value: datetime | pd.Timestamp | None) -> str:
    """A time as ISO 8601 UTC with Z, for summaries."""
    return iso_z(value) or "?"


def issuer_label(trace: Trace) -> str:
    """How a summary names the issuer of the traced credential."""
    issuer = trace.session.issuer
    return issuer.name or issuer.arn or issuer.access_key_id or "its issuer"


#: The networks :func:`is_public_ip` calls private (kept under its 0.1 name).
_INSIDE = INSIDE_NETWORKS


def has_baseline(trace: Trace) -> bool:
    """True when a public address of the issuer, the principal's earlier credentials or the role's peers
    is known: something to call an address "new" against (else a new address says little).
    """
    sm = trace.summary
    known = (*sm.issuer_source_ips, *sm.principal_source_ips, *sm.peer_source_ips)
    return any(is_public_ip(ip) for ip in known)


def plural(n: int, word: str) -> str:
    """``1 call`` / ``3 calls``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def ids_where(calls: pd.DataFrame, mask: Iterable[bool]) -> list[str]:
    """The eventIDs of the calls where ``mask`` is true (no frame copy)."""
    if "eventID" not in calls.columns:
        return []
    values = calls["eventID"].to_numpy(dtype=object)[pd.array(mask, dtype=bool).to_numpy(dtype=bool)]
    return [v for v in values[: MAX_EVENT_IDS * 2] if isinstance(v, str)]


#: At most this many per-IP / per-agent findings; the rest are summed up in one more.
MAX_PER_VALUE = 5


#: The columns the detectors read; taking rows of these only is much cheaper than of the whole frame.
_SLIM = (
    "eventTime",
    "eventName",
    "eventSource",
    "eventID",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "requestParameters",
    "vpcEndpointId",
    "userIdentity.sessionContext.ec2RoleDelivery",
)


def slim(calls: pd.DataFrame) -> pd.DataFrame:
    """``calls`` with only the columns the detectors read (itself when it has no others)."""
    if all(c in _SLIM_SET for c in calls.columns):
        return calls
    return calls[[c for c in _SLIM if c in calls.columns]]


_SLIM_SET = frozenset(_SLIM)
