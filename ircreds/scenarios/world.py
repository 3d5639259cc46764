"""The simulated account: its IAM principals, the cut-offs in force, and the calls they allow.

Every call goes through :meth:`World.call`, which applies the ``aws:TokenIssueTime`` cut-offs
the story has put in place (explicit deny for sessions issued before, except
``GetCallerIdentity``) and refuses calls made with expired credentials, so the story's
invariants hold by construction.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ircreds.errors import ScenarioError
from ircreds.scenarios import catalog
from ircreds.scenarios.records import Cred, Ids, base_record


@dataclass(slots=True, kw_only=True)
class Role:
    """An IAM role of the story (becomes an entry of ``account.json``)."""

    name: str
    account: str
    role_id: str
    trust_policy: dict[str, Any]
    max_session_duration: int = 3600
    path: str = "/"
    description: str = ""
    inline_policies: dict[str, Any] = field(default_factory=dict)
    managed_policy_arns: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        """The role's ARN."""
        return f"arn:aws:iam::{self.account}:role{self.path}{self.name}"

    def to_json(self) -> dict[str, Any]:
        """As ``account.json`` lists it."""
        return {
            "name": self.name,
            "arn": self.arn,
            "path": self.path,
            "role_id": self.role_id,
            "trust_policy": self.trust_policy,
            "inline_policies": self.inline_policies,
            "managed_policy_arns": self.managed_policy_arns,
            "max_session_duration": self.max_session_duration,
            "description": self.description,
        }


@dataclass(slots=True, kw_only=True)
class User:
    """An IAM user of the story with its long-term access keys."""

    name: str
    account: str
    user_id: str
    keys: list[str] = field(default_factory=list)
    inline_policies: dict[str, Any] = field(default_factory=dict)
    managed_policy_arns: list[str] = field(default_factory=list)
    created_by_attacker: bool = False

    @property
    def arn(self) -> str:
        """The user's ARN."""
        return f"arn:aws:iam::{self.account}:user/{self.name}"

    def to_json(self) -> dict[str, Any]:
        """As ``account.json`` lists it."""
        return {
            "name": self.name,
            "arn": self.arn,
            "user_id": self.user_id,
            "access_key_ids": list(self.keys),
            "inline_policies": self.inline_policies,
            "managed_policy_arns": self.managed_policy_arns,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Cutoff:
    """A ``DateLessThan aws:TokenIssueTime`` deny on a role or user, in force from ``applied_at``."""

    target_arn: str
    value: datetime
    applied_at: datetime


def cutoff_policy(value: str) -> dict[str, Any]:
    """The document the IAM console's "Revoke active sessions" writes (``AWSRevokeOlderSessions``)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": value}},
            }
        ],
    }


def trust(principal: dict[str, Any], action: str = "sts:AssumeRole", condition: Any = None) -> dict[str, Any]:
    """A one-statement trust policy."""
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        stmt["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [stmt]}


class World:
    """One or two accounts' principals, the active cut-offs, and the call builder."""

    def __init__(self, account: str, ids: Ids, rng: random.Random) -> None:
        self.account = account
        self.ids = ids
        self.rng = rng
        self.roles: dict[str, Role] = {}
        self.users: dict[str, User] = {}
        self.cutoffs: list[Cutoff] = []

    # principals --------------------------------------------------------------------------
    def add_role(
        self, name: str, trust_policy: dict[str, Any], *, account: str | None = None, **kw: Any
    ) -> Role:
        """A new role of the world (this account unless ``account``) with its trust policy."""
        role = Role(
            name=name,
            account=account or self.account,
            role_id=self.ids.unique("AROA"),
            trust_policy=trust_policy,
            **kw,
        )
        self.roles[name] = role
        return role

    def add_user(self, name: str, *, keys: int = 1, account: str | None = None, **kw: Any) -> User:
        """A new IAM user with ``keys`` access keys."""
        user = User(name=name, account=account or self.account, user_id=self.ids.unique("AIDA"), **kw)
        user.keys = [self.ids.key("AKIA") for _ in range(keys)]
        self.users[name] = user
        return user

    def user_cred(self, user: User, key_index: int = 0) -> Cred:
        """The long-term key of ``user`` as a signing credential."""
        from ircreds.scenarios.records import iam_user_identity

        key = user.keys[key_index]
        return Cred(
            key_id=key,
            identity=iam_user_identity(user.account, user.name, user.user_id, key),
            kind="IAMUserKey",
            label=user.arn,
            account=user.account,
            user_arn=user.arn,
            temporary=False,
        )

    def account_json(self, account: str | None = None) -> dict[str, Any]:
        """The ``account.json`` document (principals that exist before the incident)."""
        acct = account or self.account
        return {
            "account_id": acct,
            "users": [
                u.to_json() for u in self.users.values() if u.account == acct and not u.created_by_attacker
            ],
            "roles": [r.to_json() for r in self.roles.values() if r.account == acct],
        }

    # cut-offs ----------------------------------------------------------------------------
    def denied_by_cutoff(self, cred: Cred, t: datetime) -> bool:
        """Whether a cut-off in force at ``t`` denies ``cred`` (strict ``DateLessThan``)."""
        if not cred.temporary or cred.issued_at is None:
            return False
        for c in self.cutoffs:
            if (
                t >= c.applied_at
                and cred.issued_at < c.value
                and c.target_arn in (cred.role_arn, cred.user_arn)
            ):
                return True
        return False

    def cut_time(self, cred: Cred) -> datetime | None:
        """When the first cut-off reaching ``cred`` applied, if any does."""
        if not cred.temporary or cred.issued_at is None:
            return None
        times = [
            c.applied_at
            for c in self.cutoffs
            if cred.issued_at < c.value and c.target_arn in (cred.role_arn, cred.user_arn)
        ]
        return min(times, default=None)

    # calls -------------------------------------------------------------------------------
    def call(
        self,
        cred: Cred,
        t: datetime,
        name: str,
        *,
        region: str,
        ip: str,
        ua: str,
        params: Any = ...,
        response: Any = None,
        error: tuple[str, str] | str | None = None,
        resources: list[dict[str, str]] | None = None,
        additional: dict[str, Any] | None = None,
        resource_arn: str | None = None,
        recipient: str | None = None,
        extra: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        shared_event_id: str | None = None,
    ) -> dict[str, Any]:
        """One call made with ``cred`` at ``t``; ``error="denied"`` means no Allow for it.

        Cut-offs in force turn the call into an explicit-deny failure, except
        ``GetCallerIdentity``, which no policy can deny.
        """
        if cred.expires_at is not None and t >= cred.expires_at:
            raise ScenarioError(
                f"{cred.key_id} used at {t.isoformat()} after it expired at {cred.expires_at.isoformat()}"
            )
        if cred.issued_at is not None and t < cred.issued_at:
            raise ScenarioError(f"{cred.key_id} used at {t.isoformat()} before it was issued")
        spec = catalog.SPECS[name]
        ident = identity or cred.identity
        arn = ident.get("arn", "")
        if params is ...:
            params = catalog.default_params(name, region)
        err: tuple[str, str] | None
        if name != "GetCallerIdentity" and self.denied_by_cutoff(cred, t):
            err = catalog.denied_error(spec, arn, explicit=True, resource=resource_arn)
        elif error == "denied":
            err = catalog.denied_error(spec, arn, explicit=False, resource=resource_arn)
        else:
            err = error if isinstance(error, tuple) else None
        if spec.data and additional is None and spec.source == "s3.amazonaws.com":
            additional = {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": self.ids.hex(24),
                "bytesTransferredOut": 0,
            }
        if spec.source == "s3.amazonaws.com" and not ua.startswith("[") and not ip.endswith(".amazonaws.com"):
            ua = f"[{ua}]"  # S3 records show SDK and CLI user agents in brackets
        xtra = dict(extra or {})
        if cred.console:
            xtra.setdefault("sessionCredentialFromConsole", "true")
        return base_record(
            self.ids,
            identity=ident,
            t=t,
            source=spec.source,
            name=name,
            region=region,
            ip=ip,
            ua=ua,
            params=params,
            response=response,
            recipient=recipient or cred.account,
            read_only=spec.read_only,
            error=err,
            resources=resources,
            additional=additional,
            data_event=spec.data,
            host=None
            if ip.endswith(".amazonaws.com") or ip == "AWS Internal"
            else catalog.host(spec, region),
            shared_event_id=shared_event_id,
            extra=xtra or None,
        )

    def put_cutoff(
        self, cred: Cred, t: datetime, role: Role, value: datetime, *, ip: str, ua: str
    ) -> dict[str, Any]:
        """The responder's ``PutRolePolicy`` of ``AWSRevokeOlderSessions``; the cut-off applies from ``t``."""
        from ircreds.scenarios.records import iso

        doc = cutoff_policy(iso(value))
        rec = self.call(
            cred,
            t,
            "PutRolePolicy",
            region="us-east-1",
            ip=ip,
            ua=ua,
            params={
                "roleName": role.name,
                "policyName": "AWSRevokeOlderSessions",
                "policyDocument": json.dumps(doc, separators=(",", ":")),
            },
        )
        if "errorCode" not in rec:
            self.cutoffs.append(Cutoff(target_arn=role.arn, value=value, applied_at=t))
        return rec
