"""Who issued which credential: the sessions table, built from the events frame.

One row per credential issued or seen (aws-facts §1.2): ``AssumeRole`` (by users, by role
sessions = chaining, cross-account copies merged through ``sharedEventID``), ``AssumeRoleWithSAML``,
``AssumeRoleWithWebIdentity``, ``GetSessionToken``, ``GetFederationToken``, service-issued sessions
(``AWSService`` callers), console sign-in and switch-role (linked by ``principalId`` +
``creationDate`` where the key join fails, §1.6), keys minted by ``iam:CreateAccessKey``, and
credentials whose issuing event is outside the evidence (``Observed``, built from their calls'
``sessionContext``). Failed issuing calls issue nothing.

Example:
    >>> import pandas as pd
    >>> sessions(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})).columns[:3].tolist()
    ['access_key_id', 'kind', 'role_arn']
"""

from __future__ import annotations

import logging
import re
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ircreds.model import CredentialKind

log = logging.getLogger(__name__)

ISSUING_EVENTS = frozenset(
    {
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "CreateAccessKey",
    }
)

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
)

_TIME_COLUMNS = ("issued_at", "expires_at", "first_used", "last_used")
# creationDate and the issuing eventTime are equal to the second (aws-facts §1.5); allow a little slack.
_LINK_TOLERANCE = timedelta(seconds=2)
# Console API calls carry a creationDate close to, but not always equal to, the ConsoleLogin time.
_CONSOLE_TOLERANCE = timedelta(minutes=5)
_NO_KEY = frozenset({"", "Unknown", "unknown", "None", "null"})
_EXPIRATION = re.compile(
    r"^\s*([A-Za-z]{3})\s+(\d{1,2}),?\s+(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AaPp][Mm])?\s*$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per credential issued or seen in ``events`` (the events frame of ``ircreds.load``).

    Args:
        events: the events frame (CloudTrail's dotted column names).

    Returns:
        A new frame with the columns of ``SESSION_COLUMNS``, sorted by ``issued_at``.

    Example:
        >>> import pandas as pd
        >>> len(sessions(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})))
        0
    """
    return lineage_index(events).sessions.copy()


# ---------------------------------------------------------------------------------------------
# the index: built once per frame, reused by every trace
# ---------------------------------------------------------------------------------------------


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


_CACHE: dict[int, tuple[weakref.ref[pd.DataFrame], int, LineageIndex]] = {}


def lineage_index(events: pd.DataFrame) -> LineageIndex:
    """The lineage index of ``events``, built on first use and cached while the frame lives."""
    ident = id(events)
    hit = _CACHE.get(ident)
    if hit is not None:
        ref, length, index = hit
        if ref() is events and length == len(events):
            return index
    index = _build_index(events)
    try:
        ref = weakref.ref(events, lambda _r, ident=ident: _CACHE.pop(ident, None))
    except TypeError:  # pragma: no cover - frames support weak references
        return index
    _CACHE[ident] = (ref, len(events), index)
    return index


def _col(events: pd.DataFrame, name: str) -> pd.Series:
    if name in events.columns:
        return events[name]
    return pd.Series(pd.NA, index=events.index, dtype=object)


def _time_col(events: pd.DataFrame, name: str) -> pd.Series:
    s = _col(events, name)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")


def _str(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    text = str(value)
    return text if text else None


def _key(value: Any) -> str | None:
    text = _str(value)
    if text is None or text in _NO_KEY:
        return None
    return text


def _ts(value: Any) -> datetime | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = pd.to_datetime(value, utc=True, errors="coerce", format="ISO8601")
        if pd.isna(parsed):
            return parse_expiration(value)
        return parsed.to_pydatetime()
    return None


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = _str(value)
    if not text or text[0] != "{":
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_expiration(text: str | None) -> datetime | None:
    """Parse STS's text expiration (``"Jan 20, 2025, 9:14:27 PM"``, also without commas) as UTC.

    Example:
        >>> parse_expiration("Sep 17, 2020 8:04:10 PM").isoformat()
        '2020-09-17T20:04:10+00:00'
        >>> parse_expiration("not a date") is None
        True
    """
    if not text:
        return None
    m = _EXPIRATION.match(text)
    if not m:
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        return None if pd.isna(parsed) else parsed.to_pydatetime()
    mon, day, year, hour, minute, second, ampm = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    h = int(hour)
    if ampm:
        # "0:00:00 PM" has been seen in the wild: treat hour 0 as written.
        if ampm.lower() == "pm" and 0 < h < 12:
            h += 12
        elif ampm.lower() == "am" and h == 12:
            h = 0
    try:
        return datetime(int(year), month, int(day), h, int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None


def _account_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _session_name_of(arn: str | None, principal_id: str | None) -> str | None:
    if arn and ":assumed-role/" in arn:
        return arn.rsplit("/", 1)[-1]
    if arn and ":federated-user/" in arn:
        return arn.rsplit("/", 1)[-1]
    if principal_id and ":" in principal_id:
        return principal_id.split(":", 1)[1]
    return None


def _role_name(role_arn: str | None) -> str | None:
    return role_arn.rsplit("/", 1)[-1] if role_arn else None


_ISSUE_FIELDS = (
    "eventTime",
    "eventName",
    "eventID",
    "sharedEventID",
    "errorCode",
    "sourceIPAddress",
    "userAgent",
    "recipientAccountId",
    "userIdentity.type",
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.identityProvider",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.sourceIdentity",
    "requestParameters",
    "responseElements",
    "issued.accessKeyId",
    "issued.expiration",
)


def _records(events: pd.DataFrame, mask: pd.Series | np.ndarray, fields: tuple[str, ...]) -> list[dict]:
    sub = events.loc[mask]
    cols = {name: _col(sub, name).tolist() for name in fields}
    n = len(sub)
    return [{name: cols[name][i] for name in fields} for i in range(n)]


def _issuer_of(rec: dict[str, Any]) -> dict[str, Any]:
    """The issuer columns from an issuing record's caller identity."""
    itype = _str(rec["userIdentity.type"])
    arn = _str(rec["userIdentity.arn"])
    pid = _str(rec["userIdentity.principalId"])
    user = _str(rec["userIdentity.userName"])
    invoked = _str(rec["userIdentity.invokedBy"])
    name = user
    if itype == "AWSService":
        name = invoked
        arn = arn or invoked
    elif itype == "AssumedRole":
        # "Role/session", from the session ARN (arn:aws:sts::acct:assumed-role/Role/session)
        name = (
            arn.split(":assumed-role/", 1)[1]
            if arn and ":assumed-role/" in arn
            else _session_name_of(arn, pid)
        )
    elif itype in ("SAMLUser", "WebIdentityUser"):
        name = user or pid
        arn = arn or pid
    elif itype == "AWSAccount":
        name = pid
    elif itype == "Root":
        name = name or "root"
    return {
        "issuer_type": itype,
        "issuer_arn": arn,
        "issuer_name": name,
        "issuer_access_key_id": _key(rec["userIdentity.accessKeyId"]),
        "issuer_source_ip": _str(rec["sourceIPAddress"]),
        "issuer_user_agent": _str(rec["userAgent"]),
    }


def _issued_row(rec: dict[str, Any]) -> dict[str, Any] | None:
    """The sessions row for one successful issuing event, or None when it issued nothing."""
    if _str(rec["errorCode"]):
        return None
    name = _str(rec["eventName"])
    resp = _json(rec["responseElements"])
    req = _json(rec["requestParameters"])
    creds = resp.get("credentials") if isinstance(resp.get("credentials"), dict) else {}
    key = _key(rec["issued.accessKeyId"])
    if key is None:
        key = _key(creds.get("accessKeyId"))
    access_key = resp.get("accessKey") if isinstance(resp.get("accessKey"), dict) else {}
    if key is None and name == "CreateAccessKey":
        key = _key(access_key.get("accessKeyId"))
    if key is None:
        return None
    issued_at = _ts(rec["eventTime"])
    expires = _ts(rec["issued.expiration"]) or parse_expiration(_str(creds.get("expiration")))
    caller_arn = _str(rec["userIdentity.arn"])
    caller_type = _str(rec["userIdentity.type"])
    issuer = _issuer_of(rec)
    role_arn = session_name = principal_id = principal_arn = None
    account = None
    source_identity = _str(req.get("sourceIdentity")) or _str(resp.get("sourceIdentity"))
    source_identity = source_identity or _str(rec["userIdentity.sessionContext.sourceIdentity"])
    mfa_text = _str(rec["userIdentity.sessionContext.attributes.mfaAuthenticated"])
    mfa: bool | None = None if mfa_text is None else mfa_text.lower() == "true"
    kind = CredentialKind(name) if name in ISSUING_EVENTS else CredentialKind.OBSERVED
    if name in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"):
        role_arn = _str(req.get("roleArn"))
        session_name = _str(req.get("roleSessionName"))
        aru = resp.get("assumedRoleUser") if isinstance(resp.get("assumedRoleUser"), dict) else {}
        principal_id = _str(aru.get("assumedRoleId"))
        principal_arn = _str(aru.get("arn"))
        account = _account_of(role_arn)
        if principal_arn is None and role_arn and session_name and account:
            # Lambda's service AssumeRole responses carry no assumedRoleUser (corpus: OpenSearch).
            principal_arn = f"arn:aws:sts::{account}:assumed-role/{_role_name(role_arn)}/{session_name}"
        if session_name is None:
            session_name = _session_name_of(principal_arn, principal_id)
        if name == "AssumeRole":
            if caller_type == "AWSService" or (caller_type is None and rec["userIdentity.invokedBy"]):
                kind = CredentialKind.SERVICE
            elif _str(rec["sourceIPAddress"]) == "AWS Internal" or (
                _str(rec["userIdentity.invokedBy"]) == "AWS Internal"
            ):
                kind = CredentialKind.SWITCH_ROLE
        if name in ("AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"):
            # The identity provider's ARN names the issuer better than nameQualifier:subject.
            provider = _str(req.get("principalArn")) or _str(resp.get("provider"))
            provider = provider or _str(rec["userIdentity.identityProvider"])
            if provider and provider.startswith("arn:"):
                issuer["issuer_arn"] = provider
            mfa = None
    elif name == "GetFederationToken":
        fed = resp.get("federatedUser") if isinstance(resp.get("federatedUser"), dict) else {}
        session_name = _str(req.get("name"))
        principal_arn = _str(fed.get("arn"))
        principal_id = _str(fed.get("federatedUserId"))
        account = _account_of(principal_arn) or _account_of(caller_arn)
        role_arn = None
    elif name == "GetSessionToken":
        principal_arn = caller_arn
        principal_id = _str(rec["userIdentity.principalId"])
        account = _account_of(caller_arn)
        mfa = bool(req.get("serialNumber")) or bool(mfa)
    elif name == "CreateAccessKey":
        user = _str(access_key.get("userName")) or _str(req.get("userName"))
        account = _account_of(caller_arn) or _str(rec["recipientAccountId"])
        if user is None:  # a user creating a key for itself
            principal_arn = caller_arn
            user = _str(rec["userIdentity.userName"])
        elif account:
            principal_arn = f"arn:aws:iam::{account}:user/{user}"
        session_name = user
        expires = None
    account = account or _str(rec["userIdentity.accountId"]) or _str(rec["recipientAccountId"])
    return {
        "access_key_id": key,
        "kind": str(kind),
        "role_arn": role_arn,
        "session_name": session_name,
        "principal_id": principal_id,
        "principal_arn": principal_arn,
        "account_id": account,
        "issued_at": issued_at,
        "expires_at": expires,
        "issuing_event_ids": (_str(rec["eventID"]),) if _str(rec["eventID"]) else (),
        **issuer,
        "parent_key": issuer["issuer_access_key_id"],
        "source_identity": source_identity,
        "mfa_authenticated": mfa,
        "observed_only": False,
        "linked_by": "issued key",
        "_shared": _str(rec["sharedEventID"]),
        "_caller_type": caller_type,
    }


def _merge_cross_account(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the caller's and the role owner's copies of one issuing call (same key, sharedEventID)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        ident = row["_shared"] or (row["issuing_event_ids"][0] if row["issuing_event_ids"] else "")
        groups.setdefault((row["access_key_id"], ident), []).append(row)
    merged = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        # The caller's copy names the human; the owner's copy shows only an AWSAccount.
        group.sort(key=lambda r: (r["_caller_type"] == "AWSAccount", r["issuing_event_ids"]))
        primary = dict(group[0])
        ids = [i for r in group for i in r["issuing_event_ids"]]
        primary["issuing_event_ids"] = tuple(dict.fromkeys(ids))
        merged.append(primary)
    return merged


_OBS_FIELDS = (
    "eventTime",
    "eventID",
    "userIdentity.type",
    "userIdentity.arn",
    "userIdentity.principalId",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.userName",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.sourceIdentity",
    "recipientAccountId",
)


def _observed_row(rec: dict[str, Any]) -> dict[str, Any]:
    """A sessions row for a credential seen only in its calls, built from their sessionContext."""
    key = _key(rec["userIdentity.accessKeyId"])
    itype = _str(rec["userIdentity.type"])
    arn = _str(rec["userIdentity.arn"])
    pid = _str(rec["userIdentity.principalId"])
    issuer_arn = _str(rec["userIdentity.sessionContext.sessionIssuer.arn"])
    issuer_type = _str(rec["userIdentity.sessionContext.sessionIssuer.type"])
    issuer_name = _str(rec["userIdentity.sessionContext.sessionIssuer.userName"])
    role_arn = issuer_arn if issuer_type == "Role" else None
    if itype in ("IAMUser", "Root") and not issuer_arn:
        # A long-term key (or a console / GetSessionToken key with an empty sessionIssuer).
        issuer_type, issuer_arn = itype, arn
        issuer_name = _str(rec["userIdentity.userName"]) or ("root" if itype == "Root" else None)
    mfa_text = _str(rec["userIdentity.sessionContext.attributes.mfaAuthenticated"])
    return {
        "access_key_id": key,
        "kind": str(CredentialKind.OBSERVED),
        "role_arn": role_arn,
        "session_name": _session_name_of(arn, pid) if itype in ("AssumedRole", "FederatedUser") else None,
        "principal_id": pid,
        "principal_arn": arn,
        "account_id": _str(rec["userIdentity.accountId"])
        or _account_of(arn)
        or _str(rec["recipientAccountId"]),
        "issued_at": _ts(rec["userIdentity.sessionContext.attributes.creationDate"]),
        "expires_at": None,
        "issuing_event_ids": (),
        "issuer_type": issuer_type,
        "issuer_arn": issuer_arn,
        "issuer_name": issuer_name,
        "issuer_access_key_id": None,
        "issuer_source_ip": None,
        "issuer_user_agent": None,
        "parent_key": None,
        "source_identity": _str(rec["userIdentity.sessionContext.sourceIdentity"]),
        "mfa_authenticated": None if mfa_text is None else mfa_text.lower() == "true",
        "observed_only": True,
        "linked_by": "calls only",
        "_caller_type": itype,
    }


def _link_observed(
    observed: list[dict[str, Any]], issued: list[dict[str, Any]], logins: list[dict[str, Any]]
) -> None:
    """Link observed keys to an issuing event by principalId + creationDate (aws-facts §1.6), in place."""
    by_principal: dict[str, list[dict[str, Any]]] = {}
    for row in issued:
        if row["principal_id"] and row["issued_at"] is not None:
            by_principal.setdefault(row["principal_id"], []).append(row)
    logins_by_arn: dict[str, list[dict[str, Any]]] = {}
    for rec in logins:
        for ident in {_str(rec["userIdentity.arn"]), _str(rec["userIdentity.principalId"])}:
            if ident:
                logins_by_arn.setdefault(ident, []).append(rec)
    for row in observed:
        created = row["issued_at"]
        if created is None:
            continue
        match = None
        for cand in by_principal.get(row["principal_id"] or "", ()):
            if abs(cand["issued_at"] - created) <= _LINK_TOLERANCE:
                match = cand
                break
        if match is not None:
            kind = match["kind"]
            if kind == CredentialKind.ASSUME_ROLE and row["access_key_id"] != match["access_key_id"]:
                # The console re-keys switch-role sessions: the AssumeRole issued another key (§1.6).
                kind = (
                    str(CredentialKind.SWITCH_ROLE) if match["issuer_source_ip"] == "AWS Internal" else kind
                )
            for name in (
                "role_arn",
                "session_name",
                "expires_at",
                "issuing_event_ids",
                "issuer_type",
                "issuer_arn",
                "issuer_name",
                "issuer_access_key_id",
                "issuer_source_ip",
                "issuer_user_agent",
                "parent_key",
                "principal_arn",
            ):
                if match[name] is not None:
                    row[name] = match[name]
            row["kind"] = kind
            row["issued_at"] = match["issued_at"]
            row["observed_only"] = False
            row["linked_by"] = "principalId+creationDate"
            continue
        if row["_caller_type"] in ("IAMUser", "Root") and row["access_key_id"].startswith("ASIA"):
            best = None
            for ident in (row["principal_arn"], row["principal_id"]):
                for rec in logins_by_arn.get(ident or "", ()):
                    t = _ts(rec["eventTime"])
                    if (
                        t is not None
                        and abs(t - created) <= _CONSOLE_TOLERANCE
                        and (best is None or abs(t - created) < abs(_ts(best["eventTime"]) - created))
                    ):
                        best = rec
            if best is not None:
                row.update(
                    kind=str(CredentialKind.CONSOLE_LOGIN),
                    issuing_event_ids=(_str(best["eventID"]),) if _str(best["eventID"]) else (),
                    issuer_source_ip=_str(best["sourceIPAddress"]),
                    issuer_user_agent=_str(best["userAgent"]),
                    observed_only=False,
                    linked_by="ConsoleLogin principal+creationDate",
                )


def _is_data_event(events: pd.DataFrame) -> np.ndarray:
    if "eventCategory" in events.columns:
        cat = events["eventCategory"].astype("string")
        mask = (cat == "Data").fillna(False).to_numpy(dtype=bool)
        if mask.any():
            return mask
    if "managementEvent" in events.columns:
        me = events["managementEvent"].astype("string").str.lower()
        return (me == "false").fillna(False).to_numpy(dtype=bool)
    names = _col(events, "eventName").astype("string")
    return names.isin(sorted(DATA_EVENT_NAMES)).fillna(False).to_numpy(dtype=bool)


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

    names = _col(events, "eventName").astype("string")
    issue_mask = names.isin(sorted(ISSUING_EVENTS)).fillna(False).to_numpy(dtype=bool)
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
    login_mask = (names == "ConsoleLogin").fillna(False).to_numpy(dtype=bool)
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
        row["first_used"] = _ts(first) if count else None
        row["last_used"] = _ts(last) if count else None
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

    start = _ts(times.min()) if n else None
    end = _ts(times.max()) if n else None
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


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    data = {name: [row.get(name) for row in rows] for name in SESSION_COLUMNS}
    frame = pd.DataFrame(data, columns=list(SESSION_COLUMNS))
    for name in _TIME_COLUMNS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["call_count"] = frame["call_count"].astype("int64")
    frame["observed_only"] = frame["observed_only"].astype(bool)
    frame["mfa_authenticated"] = frame["mfa_authenticated"].astype("boolean")
    if len(frame):
        frame = frame.sort_values(
            ["issued_at", "first_used", "access_key_id"], kind="stable", na_position="last", ignore_index=True
        )
    return frame
