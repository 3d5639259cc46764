"""What the evidence says about the accounts of a case: its IAM roles and users, and what had to be assumed.

A practice account (the sandbox) needs every role and user the case touches, in every account the case
spans, with their trust and permission policies. A real case has no ``account.json``: this module reads
them from the logs themselves and says, for each item, what the evidence showed and what it had to assume.

Where each fact comes from (successful calls only):

- roles: the ``sessionIssuer`` of assumed-role callers, the role of every issued session (``AssumeRole``,
  SAML, web identity, service-issued), ``CreateRole`` (path, trust, ``maxSessionDuration``),
  ``UpdateAssumeRolePolicy``, ``UpdateRole``, ``PutRolePolicy`` / ``DeleteRolePolicy``,
  ``AttachRolePolicy`` / ``DetachRolePolicy`` request parameters and ``GetRole`` responses;
- users: ``IAMUser`` callers, the users that issued sessions, ``CreateUser``, ``PutUserPolicy`` /
  ``DeleteUserPolicy``, ``AttachUserPolicy`` / ``DetachUserPolicy``, ``CreateAccessKey``;
- accounts: ``recipientAccountId``, callers' ``accountId`` and the account part of every ARN above.

Assumed when the logs are silent: a trust policy allowing whoever the evidence shows assuming the role
(the issuers' accounts, identity providers or services), a ``MaxSessionDuration`` of the longest session
seen (rounded up to the hour, 1 h at least), no permission policies. The responder's own
``AWSRevokeOlderSessions`` is left out: the model is the account *before* containment.

Example:
    >>> import pandas as pd
    >>> account_model(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})).accounts
    {}
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ircreds.lineage.index import lineage_index
from ircreds.lineage.values import _col, _json, _str

log = logging.getLogger(__name__)

REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"
_MAX_SESSION = 43200
_ROLE_EVENTS = (
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "GetRole",
)
_USER_EVENTS = (
    "CreateUser",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "CreateAccessKey",
)
_FIELDS = (
    "eventName",
    "eventID",
    "recipientAccountId",
    "userIdentity.accountId",
    "requestParameters",
    "responseElements",
)


@dataclass(slots=True)
class Principal:
    """One role or user as the evidence shows it: the ``account.json`` fields plus what is known or assumed."""

    kind: str  # "role" or "user"
    name: str
    account_id: str
    path: str = "/"
    trust_policy: dict[str, Any] | None = None
    max_session_duration: int | None = None
    inline_policies: dict[str, Any] = field(default_factory=dict)
    managed_policy_arns: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)
    # what the sessions show, for the assumptions
    _trusted: dict[tuple[str, str], None] = field(default_factory=dict)
    _longest: float = 0.0

    @property
    def arn(self) -> str:
        """The principal's ARN, ``arn:aws:iam::ACCOUNT:role/PATH/NAME``."""
        return f"arn:aws:iam::{self.account_id}:{self.kind}{self.path}{self.name}"

    def note(self, fact: str) -> None:
        """Record one known fact once."""
        if fact not in self.known:
            self.known.append(fact)

    def to_dict(self) -> dict[str, Any]:
        """The ``account.json`` entry (with ``known`` and ``assumed``)."""
        out: dict[str, Any] = {"name": self.name, "arn": self.arn, "path": self.path}
        if self.kind == "role":
            out["trust_policy"] = self.trust_policy
            out["max_session_duration"] = self.max_session_duration
        out["inline_policies"] = dict(self.inline_policies)
        out["managed_policy_arns"] = list(self.managed_policy_arns)
        out["known"] = list(self.known)
        out["assumed"] = list(self.assumed)
        return out


@dataclass(slots=True)
class AccountModel:
    """Every account of a case, each with the roles and users the evidence shows."""

    accounts: dict[str, dict[str, dict[str, Principal]]] = field(default_factory=dict)
    event_counts: Counter[str] = field(default_factory=Counter)

    def principal(self, kind: str, account_id: str, name: str, path: str = "/") -> Principal:
        """The role or user, created on first mention."""
        group = self.accounts.setdefault(account_id, {"roles": {}, "users": {}})[kind + "s"]
        if name not in group:
            group[name] = Principal(kind=kind, name=name, account_id=account_id, path=path or "/")
        elif path and path != "/" and group[name].path == "/":
            group[name].path = path
        return group[name]

    def main_account(self) -> str | None:
        """The account with the most events (the case's own), or ``None`` without any."""
        for account, _ in self.event_counts.most_common():
            if account in self.accounts:
                return account
        return next(iter(sorted(self.accounts)), None)

    def to_account_json(self, account_id: str | None = None) -> dict[str, Any]:
        """An ``account.json`` document: ``account_id``, ``roles``, ``users`` and ``linked_accounts``.

        ``account_id`` chooses the main account (the one the sandbox's administrator key belongs to);
        default :meth:`main_account`.
        """
        main = account_id or self.main_account() or "123456789012"
        order = [main, *sorted(a for a in self.accounts if a != main)]
        docs = []
        for account in order:
            groups = self.accounts.get(account, {"roles": {}, "users": {}})
            docs.append(
                {
                    "account_id": account,
                    "roles": [groups["roles"][n].to_dict() for n in sorted(groups["roles"])],
                    "users": [groups["users"][n].to_dict() for n in sorted(groups["users"])],
                }
            )
        out = dict(docs[0])
        out["linked_accounts"] = docs[1:]
        out["source"] = "evidence"
        return out


def account_model(events: pd.DataFrame) -> AccountModel:
    """Read the roles and users of every account ``events`` spans (the events frame of ``ircreds.load``).

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"eventTime": pd.to_datetime(["2025-01-20T09:00:00Z"], utc=True),
        ...     "eventName": ["ListBuckets"], "userIdentity.type": ["IAMUser"],
        ...     "userIdentity.arn": ["arn:aws:iam::123456789012:user/Alice"],
        ...     "recipientAccountId": ["123456789012"]})
        >>> [u["name"] for u in account_model(frame).to_account_json()["users"]]
        ['Alice']
    """
    model = AccountModel()
    if not len(events):
        return model
    for account, count in _col(events, "recipientAccountId").value_counts().items():
        model.event_counts[str(account)] += int(count)
    _from_callers(model, events)
    _from_sessions(model, events)
    _from_iam_calls(model, events)
    for groups in model.accounts.values():
        for role in groups["roles"].values():
            _assume_role_gaps(role)
        for user in groups["users"].values():
            if not user.inline_policies and not user.managed_policy_arns:
                user.assumed.append("no permission policies (the evidence shows none)")
    return model


# ---------------------------------------------------------------------------------------------- readers
def _arn_parts(arn: str | None) -> tuple[str, str, str, str] | None:
    """(account, kind, path, name) of an IAM role/user ARN or an STS assumed-role ARN, else ``None``."""
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) < 6 or not parts[4]:
        return None
    account, resource = parts[4], parts[5]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        name = resource.split("/")[1] if resource.count("/") >= 1 else ""
        return (account, "role", "/", name) if name else None
    if parts[2] != "iam":
        return None
    for kind in ("role", "user"):
        if resource.startswith(kind + "/"):
            rest = resource[len(kind) :]
            path, _, name = rest.rpartition("/")
            return (account, kind, (path + "/") if path else "/", name) if name else None
    return None


def _from_callers(model: AccountModel, events: pd.DataFrame) -> None:
    kinds = _col(events, "userIdentity.type").astype("string")
    issuers = _col(events, "userIdentity.sessionContext.sessionIssuer.arn").astype("string")
    arns = _col(events, "userIdentity.arn").astype("string")
    for arn, count in issuers[kinds.eq("AssumedRole").fillna(False)].value_counts().items():
        _mention(model, str(arn), f"signs {int(count)} call(s) as an assumed role")
    for arn, count in arns[kinds.eq("IAMUser").fillna(False)].value_counts().items():
        _mention(model, str(arn), f"signs {int(count)} call(s) as an IAM user")


def _mention(model: AccountModel, arn: str, fact: str) -> Principal | None:
    parts = _arn_parts(arn)
    if parts is None:
        return None
    account, kind, path, name = parts
    principal = model.principal(kind, account, name, path)
    principal.note(fact)
    return principal


def _from_sessions(model: AccountModel, events: pd.DataFrame) -> None:
    sessions = lineage_index(events).sessions
    if not len(sessions):
        return
    for row in sessions.itertuples(index=False):
        issuer_arn = _str(row.issuer_arn)
        issuer_type = _str(row.issuer_type) or ""
        if issuer_type == "IAMUser" and issuer_arn:
            _mention(model, issuer_arn, "issued or used session credentials")
        role_arn = _str(row.role_arn)
        if not role_arn:
            continue
        role = _mention(model, role_arn, f"sessions issued by {row.kind}")
        if role is None or role.kind != "role":
            continue
        trusted = _trusted_principal(str(row.kind), issuer_type, issuer_arn)
        if trusted is not None:
            role._trusted.setdefault(trusted, None)
        if (
            str(row.kind) in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")
            and issuer_type != "AssumedRole"
        ):
            issued, expires = row.issued_at, row.expires_at
            if pd.notna(issued) and pd.notna(expires):
                role._longest = max(role._longest, (expires - issued).total_seconds())


def _trusted_principal(kind: str, issuer_type: str, issuer_arn: str | None) -> tuple[str, str] | None:
    """(principal type, value) the role's trust must allow for this issuer."""
    if not issuer_arn:
        return None
    if kind == "AssumeRoleWithSAML" or ":saml-provider/" in issuer_arn:
        return ("Federated", issuer_arn)
    if kind == "AssumeRoleWithWebIdentity" or ":oidc-provider/" in issuer_arn:
        return ("Federated", issuer_arn)
    if issuer_type == "AWSService" or issuer_arn.endswith(".amazonaws.com"):
        return ("Service", issuer_arn)
    account = issuer_arn.split(":")[4] if issuer_arn.count(":") >= 5 else ""
    return ("AWS", f"arn:aws:iam::{account}:root") if account.isdigit() else None


def _policy(value: Any) -> Any:
    """A policy document given as JSON text (CloudTrail) or URL-encoded JSON (IAM responses)."""
    if isinstance(value, dict):
        return value
    text = _str(value)
    if not text:
        return None
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _from_iam_calls(model: AccountModel, events: pd.DataFrame) -> None:
    names = _col(events, "eventName").astype("string")
    ok = _col(events, "errorCode").isna()
    mask = (names.isin(_ROLE_EVENTS + _USER_EVENTS).fillna(False) & ok).to_numpy()
    if not mask.any():
        return
    rows = events.loc[mask, [c for c in _FIELDS if c in events.columns]]
    for rec in rows.to_dict("records"):
        name = str(rec.get("eventName"))
        account = _str(rec.get("recipientAccountId")) or _str(rec.get("userIdentity.accountId"))
        if not account:
            continue
        params = _json(rec.get("requestParameters"))
        event_id = _str(rec.get("eventID")) or "?"
        if name in _USER_EVENTS:
            _user_call(model, name, account, params, event_id)
        else:
            _role_call(model, name, account, params, _json(rec.get("responseElements")), event_id)


def _user_call(model: AccountModel, name: str, account: str, params: dict[str, Any], event_id: str) -> None:
    user_name = _str(params.get("userName"))
    if not user_name:
        return
    user = model.principal("user", account, user_name, _str(params.get("path")) or "/")
    if name == "CreateUser":
        user.note(f"created by CreateUser ({event_id})")
    elif name == "CreateAccessKey":
        user.note(f"given an access key by CreateAccessKey ({event_id})")
    elif name == "PutUserPolicy" and params.get("policyName"):
        document = _policy(params.get("policyDocument"))
        if document is not None:
            user.inline_policies[str(params["policyName"])] = document
            user.note(f"inline policy {params['policyName']} from PutUserPolicy ({event_id})")
    elif name == "DeleteUserPolicy":
        user.inline_policies.pop(str(params.get("policyName")), None)
    elif name == "AttachUserPolicy" and params.get("policyArn"):
        if params["policyArn"] not in user.managed_policy_arns:
            user.managed_policy_arns.append(str(params["policyArn"]))
        user.note(f"managed policy {params['policyArn']} from AttachUserPolicy ({event_id})")
    elif name == "DetachUserPolicy" and params.get("policyArn") in user.managed_policy_arns:
        user.managed_policy_arns.remove(params["policyArn"])


def _role_call(
    model: AccountModel,
    name: str,
    account: str,
    params: dict[str, Any],
    response: dict[str, Any],
    event_id: str,
) -> None:
    if name == "GetRole":
        got = response.get("role") if isinstance(response.get("role"), dict) else None
        if not got:
            return
        parts = _arn_parts(_str(got.get("arn")))
        if parts is None:
            return
        role = model.principal("role", parts[0], parts[3], parts[2])
        role.note(f"described by GetRole ({event_id})")
        trust = _policy(got.get("assumeRolePolicyDocument"))
        if trust is not None:
            role.trust_policy = trust
            role.note(f"trust policy from GetRole ({event_id})")
        if got.get("maxSessionDuration"):
            role.max_session_duration = int(got["maxSessionDuration"])
            role.note(f"MaxSessionDuration from GetRole ({event_id})")
        return
    role_name = _str(params.get("roleName"))
    if not role_name:
        return
    role = model.principal("role", account, role_name, _str(params.get("path")) or "/")
    if name == "CreateRole":
        role.note(f"created by CreateRole ({event_id})")
        trust = _policy(params.get("assumeRolePolicyDocument"))
        if trust is not None:
            role.trust_policy = trust
            role.note(f"trust policy from CreateRole ({event_id})")
        if params.get("maxSessionDuration"):
            role.max_session_duration = int(params["maxSessionDuration"])
            role.note(f"MaxSessionDuration from CreateRole ({event_id})")
    elif name == "UpdateAssumeRolePolicy":
        trust = _policy(params.get("policyDocument"))
        if trust is not None:
            role.trust_policy = trust
            role.note(f"trust policy from UpdateAssumeRolePolicy ({event_id})")
    elif name == "UpdateRole" and params.get("maxSessionDuration"):
        role.max_session_duration = int(params["maxSessionDuration"])
        role.note(f"MaxSessionDuration from UpdateRole ({event_id})")
    elif name == "PutRolePolicy" and params.get("policyName"):
        policy_name = str(params["policyName"])
        if policy_name == REVOKE_POLICY_NAME:
            role.note(
                f"{REVOKE_POLICY_NAME} put by PutRolePolicy ({event_id}); left out: the sandbox is the account before containment"
            )
            return
        document = _policy(params.get("policyDocument"))
        if document is not None:
            role.inline_policies[policy_name] = document
            role.note(f"inline policy {policy_name} from PutRolePolicy ({event_id})")
    elif name == "DeleteRolePolicy":
        role.inline_policies.pop(str(params.get("policyName")), None)
    elif name == "AttachRolePolicy" and params.get("policyArn"):
        if params["policyArn"] not in role.managed_policy_arns:
            role.managed_policy_arns.append(str(params["policyArn"]))
        role.note(f"managed policy {params['policyArn']} from AttachRolePolicy ({event_id})")
    elif name == "DetachRolePolicy" and params.get("policyArn") in role.managed_policy_arns:
        role.managed_policy_arns.remove(params["policyArn"])


def _assume_role_gaps(role: Principal) -> None:
    if role.trust_policy is None:
        role.trust_policy = _trust_for(role)
        who = ", ".join(value for _, value in role._trusted) or f"account {role.account_id}"
        role.assumed.append(f"trust policy: allows whoever the evidence shows assuming it ({who})")
    if role.max_session_duration is None:
        hours = max(1, math.ceil(role._longest / 3600 - 1e-9)) if role._longest else 1
        role.max_session_duration = min(hours * 3600, _MAX_SESSION)
        role.assumed.append(
            f"MaxSessionDuration {role.max_session_duration // 3600} h"
            + (" (the longest session seen)" if role._longest else " (IAM's default; no session length seen)")
        )
    if not role.inline_policies and not role.managed_policy_arns:
        role.assumed.append("no permission policies (the evidence shows none)")


def _trust_for(role: Principal) -> dict[str, Any]:
    """A trust policy allowing the principals seen assuming ``role`` (its own account when none)."""
    actions = {"AWS": "sts:AssumeRole", "Service": "sts:AssumeRole"}
    by_type: dict[str, list[str]] = {}
    for principal_type, value in role._trusted:
        by_type.setdefault(principal_type, []).append(value)
    if not by_type:
        by_type["AWS"] = [f"arn:aws:iam::{role.account_id}:root"]
    statements = []
    for principal_type in sorted(by_type):
        values = sorted(set(by_type[principal_type]))
        if principal_type == "Federated":
            for value in values:
                action = (
                    "sts:AssumeRoleWithSAML"
                    if ":saml-provider/" in value
                    else "sts:AssumeRoleWithWebIdentity"
                )
                statements.append({"Effect": "Allow", "Principal": {"Federated": value}, "Action": action})
            continue
        principal: Any = values[0] if len(values) == 1 else values
        statements.append(
            {"Effect": "Allow", "Principal": {principal_type: principal}, "Action": actions[principal_type]}
        )
    return {"Version": "2012-10-17", "Statement": statements}
