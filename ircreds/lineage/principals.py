"""Who is behind each credential: the principal whose habits make a credential's baseline.

A role session belongs to whoever obtained it: the IAM user that assumed the role (or called
GetSessionToken, signed in, switched role), the SAML or OIDC subject, the instance or function of a
service-issued session (``role/session``, the session name is the instance id); a chained session and a
minted key belong to the principal of the credential that made them; a long-term key to its user.
Findings judge "new" against the principal's other credentials, and the scope pivots on it.

Example:
    >>> import pandas as pd
    >>> from ircreds.lineage import lineage_index
    >>> principal_of_keys(lineage_index(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})))
    {}
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ircreds.lineage.index import LineageIndex

_INSTANCE = re.compile(r"^i-[0-9a-f]{8,17}$")


def _s(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None


def principal_of_row(rows: dict[str, dict[str, Any]], key: str, seen: frozenset[str] = frozenset()) -> str:
    """The principal behind credential ``key`` (``rows``: sessions rows by access key id)."""
    row = rows.get(key)
    if row is None:
        return key
    kind = _s(row.get("kind")) or ""
    itype = _s(row.get("issuer_type"))
    role, session = _s(row.get("role_arn")), _s(row.get("session_name"))
    if kind == "CreateAccessKey" or (kind == "Observed" and key.startswith("AKIA")):
        return _s(row.get("principal_arn")) or key
    if itype == "AWSService" or kind == "Service" or (session and _INSTANCE.match(session)):
        return f"{role}/{session}" if role else (_s(row.get("principal_arn")) or key)
    if itype in ("SAMLUser", "WebIdentityUser"):
        return f"{_s(row.get('issuer_arn'))}/{_s(row.get('issuer_name'))}"
    parent = _s(row.get("parent_key"))
    if itype == "AssumedRole" and parent and parent not in seen and parent in rows:
        return principal_of_row(rows, parent, seen | {key})
    return _s(row.get("issuer_arn")) or _s(row.get("principal_arn")) or key


def principal_of_keys(index: LineageIndex) -> dict[str, str]:
    """Every credential's principal, computed once per events frame (cached on the index)."""
    hit = index.extra.get("principal_of_keys")
    if hit is None:
        rows: dict[str, dict[str, Any]] = {}
        for row in index.sessions.to_dict("records"):
            rows.setdefault(str(row["access_key_id"]), row)
        hit = index.extra["principal_of_keys"] = {k: principal_of_row(rows, k) for k in rows}
    return hit


def keys_of_principals(index: LineageIndex) -> dict[str, list[str]]:
    """The credentials of each principal (the inverse of :func:`principal_of_keys`), cached."""
    hit = index.extra.get("keys_of_principals")
    if hit is None:
        hit = {}
        for k, p in principal_of_keys(index).items():
            hit.setdefault(p, []).append(k)
        index.extra["keys_of_principals"] = hit
    return hit
