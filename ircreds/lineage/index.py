"""The lineage index: built once per events frame, cached while the frame lives, reused by every trace.

It holds the sessions frame (one row per credential, columns ``SESSION_COLUMNS``) and the lookups a
trace walks: calls by key, sessions rows by key, children by parent key, and integer codes of the
columns a trace summarises.

Example:
    >>> import pandas as pd
    >>> lineage_index(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})).events_len
    0
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ircreds.lineage.issuance import (
    _ISSUE_FIELDS,
    _OBS_FIELDS,
    ISSUING_EVENTS,
    _issued_row,
    _link_observed,
    _merge_cross_account,
    _observed_row,
)
from ircreds.lineage.values import _col, _json, _key, _records, _str, _time_col
from ircreds.times import parse_time

SESSION_COLUMNS: tuple[str, ...] = (
    "access_key_id",
    "kind",
    "role_arn",
    "session_name",
    "principal_id",
    "principal_arn",
    "account_id",
    "issued_at",
    "expires_at",
    "issuing_event_ids",
    "issuer_type",
    "issuer_arn",
    "issuer_name",
    "issuer_access_key_id",
    "issuer_source_ip",
    "issuer_user_agent",
    "parent_key",
    "source_identity",
    "mfa_authenticated",
    "observed_only",
    "linked_by",
    "first_used",
    "last_used",
    "call_count",
    "used_before_issued",
)

_TIME_COLUMNS = ("issued_at", "expires_at", "first_used", "last_used")


@dataclass(slots=True, kw_only=True)
class LineageIndex:
    """Lookups built once per events frame: calls by key, sessions by key, children by parent."""

    sessions: pd.DataFrame
    calls_by_key: dict[str, np.ndarray]
    rows_by_key: dict[str, list[int]]
    children_by_key: dict[str, list[str]]
    events_len: int
    start: datetime | None = None
    end: datetime | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    data_event_count: int = 0
    codes: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    times_ns: np.ndarray | None = None
    errors: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


#: frame id -> (weak reference to it, its fingerprint, a shallow copy of it, its index).
_CACHE: dict[int, tuple[weakref.ref[pd.DataFrame], tuple[Any, ...], pd.DataFrame, LineageIndex]] = {}


def lineage_index(events: pd.DataFrame) -> LineageIndex:
    """The lineage index of ``events``, built on first use and cached while the frame lives unchanged.

    The cache cannot go stale: an entry belongs to the frame object itself (a weak reference: a new
    frame at a reused address is a miss), and to its column buffers as they were (the fingerprint).
    The entry keeps a shallow copy of the frame, so under pandas' copy-on-write any in-place edit of
    the frame (``events.loc[i, col] = v``, a column assigned) moves the edited column to new buffers,
    the fingerprint differs, and the index is rebuilt.
    """
    ident = id(events)
    hit = _CACHE.get(ident)
    mark = _fingerprint(events)
    if hit is not None:
        ref, seen, _, index = hit
        if ref() is events and seen == mark:
            return index
    index = _build_index(events)
    try:
        ref = weakref.ref(events, lambda _r, ident=ident: _CACHE.pop(ident, None))
    except TypeError:  # pragma: no cover - frames support weak references
        return index
    _CACHE[ident] = (ref, mark, events.copy(deep=False), index)
    return index


def _fingerprint(frame: pd.DataFrame) -> tuple[Any, ...]:
    """Which buffers the frame's columns are (not their content): cheap, and changed by any edit."""
    parts: list[Any] = [len(frame), tuple(frame.columns)]
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i].array
        if isinstance(values, pd.arrays.DatetimeArray | pd.arrays.TimedeltaArray):
            data = values.asi8  # a view of the frame's block: where its data lives
        elif isinstance(values, pd.arrays.NumpyExtensionArray):
            data = values.to_numpy()
        else:  # an extension array (string, categorical, masked): the column's own object
            parts.append(id(values))
            continue
        parts.append((data.__array_interface__["data"][0], data.strides))
    return tuple(parts)


def _is_data_event(events: pd.DataFrame) -> np.ndarray:
    if "eventCategory" in events.columns:
        mask = _is_one_of(events["eventCategory"], ("Data",))
        if mask.any():
            return mask
    if "managementEvent" in events.columns:
        me = events["managementEvent"].astype("string").str.lower()
        return (me == "false").fillna(False).to_numpy(dtype=bool)
    return _is_one_of(_col(events, "eventName"), DATA_EVENT_NAMES)


def _is_one_of(column: pd.Series, values: Any) -> np.ndarray:
    """Which rows hold one of ``values`` (a categorical is read through its codes, not its strings)."""
    wanted = sorted(values)
    if isinstance(column.dtype, pd.CategoricalDtype):
        hit = np.append(np.asarray(column.cat.categories.astype(str).isin(wanted), dtype=bool), False)
        return hit[column.cat.codes.to_numpy()]  # code -1 (missing) reads the final False
    return column.astype("string").isin(wanted).fillna(False).to_numpy(dtype=bool)


DATA_EVENT_NAMES = frozenset(
    {
        "GetObject",
        "PutObject",
        "DeleteObject",
        "DeleteObjects",
        "HeadObject",
        "CopyObject",
        "GetObjectAcl",
        "PutObjectAcl",
        "Invoke",
        "GetItem",
        "PutItem",
        "Query",
        "Scan",
    }
)


def _build_index(events: pd.DataFrame) -> LineageIndex:
    n = len(events)
    key_series = _col(events, "userIdentity.accessKeyId")
    times = _time_col(events, "eventTime")
    # Calls by key, built once (perf-notes: groupby indices answer in well under a millisecond).
    calls_by_key: dict[str, np.ndarray] = {}
    stats: dict[str, tuple[Any, Any, int]] = {}
    if n:
        keys = key_series.reset_index(drop=True)
        if not isinstance(keys.dtype, pd.CategoricalDtype):
            keys = keys.astype("category")
        for k, idx in keys.groupby(keys, sort=False, observed=True).indices.items():
            key = _key(k)
            if key is not None:
                calls_by_key[key] = idx
        if calls_by_key:
            frame = pd.DataFrame({"k": keys, "t": times.reset_index(drop=True)})
            agg = frame.groupby("k", sort=False, observed=True)["t"].agg(["min", "max", "size"])
            for k, first, last, count in zip(agg.index, agg["min"], agg["max"], agg["size"], strict=True):
                key = _key(k)
                if key is not None:
                    stats[key] = (first, last, int(count))

    names = _col(events, "eventName")
    issue_mask = _is_one_of(names, ISSUING_EVENTS)
    issued: list[dict[str, Any]] = []
    for rec in _records(events, issue_mask, _ISSUE_FIELDS):
        row = _issued_row(rec)
        if row is not None:
            issued.append(row)
    issued = _merge_cross_account(issued)
    issued_keys = {row["access_key_id"] for row in issued}

    # Credentials seen only in their calls: one row from each key's first call.
    observed: list[dict[str, Any]] = []
    obs_keys = [k for k in calls_by_key if k not in issued_keys]
    if obs_keys:
        first_pos = np.array([calls_by_key[k][0] for k in obs_keys])
        mask = np.zeros(n, dtype=bool)
        mask[first_pos] = True
        for rec in _records(events, mask, _OBS_FIELDS):
            if _key(rec["userIdentity.accessKeyId"]) is not None:
                observed.append(_observed_row(rec))
    login_mask = _is_one_of(names, ("ConsoleLogin",))
    logins = [
        rec
        for rec in _records(
            events,
            login_mask,
            (
                "eventTime",
                "eventID",
                "sourceIPAddress",
                "userAgent",
                "userIdentity.arn",
                "userIdentity.principalId",
                "responseElements",
                "errorCode",
            ),
        )
        if not _str(rec["errorCode"])
        and _json(rec["responseElements"]).get("ConsoleLogin", "Success") == "Success"
    ]
    _link_observed(observed, issued, logins)

    rows = issued + observed
    for row in rows:
        first, last, count = stats.get(row["access_key_id"], (None, None, 0))
        row["first_used"] = parse_time(first) if count else None
        row["last_used"] = parse_time(last) if count else None
        row["call_count"] = count
    frame = _frame(rows)

    rows_by_key: dict[str, list[int]] = {}
    children: dict[str, list[str]] = {}
    for pos, (key, parent) in enumerate(zip(frame["access_key_id"], frame["parent_key"], strict=True)):
        rows_by_key.setdefault(key, []).append(pos)
        if isinstance(parent, str) and parent != key:
            lst = children.setdefault(parent, [])
            if key not in lst:
                lst.append(key)

    start = parse_time(times.min()) if n else None
    end = parse_time(times.max()) if n else None
    accounts = sorted({str(a) for a in _col(events, "recipientAccountId").dropna().unique() if str(a)})
    regions = sorted({str(a) for a in _col(events, "awsRegion").dropna().unique() if str(a)})
    # Integer codes of the columns a trace summarises, so each hop is numpy work, not a frame copy.
    codes: dict[str, tuple[np.ndarray, list[str]]] = {}
    for name in ("sourceIPAddress", "userAgent", "awsRegion", "eventSource"):
        if name in events.columns and n:
            c, uniques = pd.factorize(events[name], use_na_sentinel=True)
            codes[name] = (np.asarray(c), [str(u) for u in uniques])
    times_ns = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]") if n else None
    errors = _col(events, "errorCode").notna().to_numpy(dtype=bool) if n else None
    return LineageIndex(
        codes=codes,
        times_ns=times_ns,
        errors=errors,
        sessions=frame,
        calls_by_key=calls_by_key,
        rows_by_key=rows_by_key,
        children_by_key=children,
        events_len=n,
        start=start,
        end=end,
        accounts=tuple(accounts),
        regions=tuple(regions),
        data_event_count=int(_is_data_event(events).sum()) if n else 0,
    )


def used_before_issued(frame: pd.DataFrame) -> np.ndarray:
    """Which credentials signed a call earlier than they were issued (``first_used < issued_at``).

    No real key is used before AWS issues it: such a row means a wrong clock, an edited log, or a
    key that existed before the issuing event the evidence holds. The row stays; this flags it
    (the sessions frame's ``used_before_issued`` column).

    Example:
        >>> t = pd.to_datetime(["2025-01-20T10:00:00Z", "2025-01-20T09:00:00Z"], utc=True)
        >>> used_before_issued(pd.DataFrame({"issued_at": t, "first_used": t[::-1]})).tolist()
        [True, False]
    """
    first, issued = frame["first_used"], frame["issued_at"]
    return (first.notna() & issued.notna() & (first < issued)).to_numpy(dtype=bool)


def with_call_stats(frame: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """A sessions frame built from a few rows per key, given every key's whole use.

    The case store and the Athena engine build the sessions table from the issuing events and each
    key's first call only; ``stats`` (indexed by key: ``first_used``, ``last_used``, ``calls``) then
    gives every row the first and last use and the call count of the whole evidence. Keys not in
    ``stats`` signed nothing. Returns the frame re-sorted as :func:`ircreds.sessions` sorts it.

    Example:
        >>> t = pd.to_datetime(["2025-01-20T10:00:00Z"] * 2, utc=True)
        >>> f = pd.DataFrame({"access_key_id": ["ASIAX", "ASIAY"], "issued_at": t,
        ...                   "first_used": t, "last_used": t, "call_count": 0})
        >>> s = pd.DataFrame({"first_used": ["2025-01-20T11:00:00Z"], "last_used": ["2025-01-20T12:00:00Z"],
        ...                   "calls": [3]}, index=["ASIAX"])
        >>> with_call_stats(f, s)[["access_key_id", "call_count"]].values.tolist()
        [['ASIAX', 3], ['ASIAY', 0]]
    """
    if not len(frame):
        return frame
    keys = frame["access_key_id"]
    hit = keys.isin(stats.index).to_numpy(dtype=bool)
    first = pd.Series(pd.NaT, index=frame.index, dtype=frame["first_used"].dtype)
    last = pd.Series(pd.NaT, index=frame.index, dtype=frame["last_used"].dtype)
    count = pd.Series(0, index=frame.index, dtype="int64")
    if hit.any():
        sub = stats.loc[keys[hit].to_numpy()]
        # a day that does not exist (2025-02-30) is no time: empty, as the loader leaves it
        first[hit] = pd.to_datetime(sub["first_used"].to_numpy(), utc=True, errors="coerce").astype(
            first.dtype
        )
        last[hit] = pd.to_datetime(sub["last_used"].to_numpy(), utc=True, errors="coerce").astype(last.dtype)
        count[hit] = sub["calls"].to_numpy(dtype="int64")
    frame["first_used"] = first
    frame["last_used"] = last
    frame["call_count"] = count
    frame["used_before_issued"] = used_before_issued(frame)
    return frame.sort_values(
        ["issued_at", "first_used", "access_key_id"], kind="stable", na_position="last", ignore_index=True
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data = {name: [row.get(name) for row in rows] for name in SESSION_COLUMNS}
    frame = pd.DataFrame(data, columns=list(SESSION_COLUMNS))
    for name in _TIME_COLUMNS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["used_before_issued"] = used_before_issued(frame)
    frame["call_count"] = frame["call_count"].astype("int64")
    frame["observed_only"] = frame["observed_only"].astype(bool)
    frame["mfa_authenticated"] = frame["mfa_authenticated"].astype("boolean")
    if len(frame):
        frame = frame.sort_values(
            ["issued_at", "first_used", "access_key_id"], kind="stable", na_position="last", ignore_index=True
        )
    return frame
