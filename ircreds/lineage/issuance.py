"""Issuing events into credential rows: who issued which key, and keys seen only in their calls.

One row (a dict with the keys of ``ircreds.lineage.index.SESSION_COLUMNS``, plus private ``_``
keys) per successful issuing event (aws-facts §1.2), cross-account copies merged through
``sharedEventID``; one row per credential seen only in its calls (``Observed``, from their
``sessionContext``), linked back to its issuing event or console sign-in by ``principalId`` +
``creationDate`` where the key join fails (§1.6). Failed issuing calls issue nothing.

Example:
    >>> sorted(ISSUING_EVENTS)[:2]
    ['AssumeRole', 'AssumeRoleWithSAML']
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ircreds.lineage.values import (
    _account_of,
    _json,
    _key,
    _role_name,
    _session_name_of,
    _str,
)
from ircreds.model import CredentialKind
from ircreds.times import parse_expiration, parse_time

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

# creationDate and the issuing eventTime are equal to the second (aws-facts §1.5); allow a little slack.
_LINK_TOLERANCE = timedelta(seconds=2)
# Console API calls carry a creationDate close to, but not always equal to, the ConsoleLogin time.
_CONSOLE_TOLERANCE = timedelta(minutes=5)


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
    issued_at = parse_time(rec["eventTime"])
    expires = parse_time(rec["issued.expiration"]) or parse_expiration(_str(creds.get("expiration")))
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
        "issued_at": parse_time(rec["userIdentity.sessionContext.attributes.creationDate"]),
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
                    t = parse_time(rec["eventTime"])
                    if (
                        t is not None
                        and abs(t - created) <= _CONSOLE_TOLERANCE
                        and (best is None or abs(t - created) < abs(parse_time(best["eventTime"]) - created))
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
