"""Apply a containment plan to AWS (or the moto sandbox): dry run first, confirmed, recorded, reversible.

The only edge of ircreds that changes an account. :func:`apply` writes each revocation's inline policy
(``AWSRevokeOlderSessions``) with ``iam:PutRolePolicy`` / ``iam:PutUserPolicy`` and nothing else: other
inline and attached policies are read, never written (merge, not clobber). It refuses a plan for
another account, skips documents already in place (idempotent), reads every document back, and writes
a JSON action record (who, when, where, what, before and after) that :func:`rollback` replays
backwards. :func:`audit` is read-only; :func:`verify_live` asks IAM's policy simulator.

The same functions take a ``boto3.Session`` (any profile), an IAM client, or an
:class:`ircreds.sandbox.Sandbox`. Clients made here use botocore's ``standard`` retry mode, so
throttling is retried with backoff before it becomes an error.

Example::

    from datetime import UTC, datetime
    record = apply(plan, sandbox, now=datetime.now(UTC))                  # dry run: touches nothing
    record = apply(plan, sandbox, dry_run=False, confirm=True, now=...)   # writes + action record
    rollback(record, sandbox, dry_run=False, confirm=True, now=...)
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ircreds.containment import Plan, Revocation, Verdict
from ircreds.errors import AwsError, PlanError
from ircreds.evaluate import parse_date
from ircreds.policy import (
    POLICY_NAME,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    TargetKind,
    canonical,
    policy_size,
)

log = logging.getLogger(__name__)

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
)
THROTTLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
DEFAULT_RECORD_DIR = Path("ircreds-actions")


# ------------------------------------------------------------------------------------- clients


@dataclass(slots=True)
class _Clients:
    iam: Any
    sts: Any
    endpoint_url: str | None
    profile: str | None
    region: str | None


def _is_aws_endpoint(url: str | None) -> bool:
    return not url or url.endswith(".amazonaws.com") or ".amazonaws.com/" in url


def _clients(target: Any, *, endpoint_url: str | None = None) -> _Clients:
    """IAM and STS clients from a Sandbox, a boto3 Session, or an IAM client."""
    if isinstance(target, boto3.session.Session):
        region = target.region_name or "us-east-1"
        kw = {"endpoint_url": endpoint_url, "config": RETRY_CONFIG, "region_name": region}
        profile = target.profile_name if target.profile_name != "default" else None
        return _Clients(target.client("iam", **kw), target.client("sts", **kw), endpoint_url, profile, region)
    if isinstance(target, BaseClient):
        if target.meta.service_model.service_name != "iam":
            raise PlanError(
                f"pass an IAM client, a boto3 Session or a Sandbox, not a {target.meta.service_model.service_name} client"
            )
        url = target.meta.endpoint_url
        # botocore keeps the client's credentials on its request signer; reuse them for STS
        creds = target._request_signer._credentials.get_frozen_credentials()
        sts = boto3.session.Session(
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            region_name=target.meta.region_name,
        ).client("sts", endpoint_url=None if _is_aws_endpoint(url) else url, config=RETRY_CONFIG)
        return _Clients(target, sts, None if _is_aws_endpoint(url) else url, None, target.meta.region_name)
    if callable(getattr(target, "client", None)) and getattr(target, "endpoint_url", None):  # a Sandbox
        return _Clients(target.client("iam"), target.client("sts"), target.endpoint_url, None, "us-east-1")
    raise PlanError(
        f"cannot reach AWS through a {type(target).__name__}; pass a boto3 Session, an IAM client or a Sandbox"
    )


def session(profile: str | None = None) -> boto3.session.Session:
    """A boto3 session for ``profile`` (default credentials chain when ``None``)."""
    try:
        return boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    except BotoCoreError as err:
        raise AwsError(f"cannot open AWS profile {profile!r} ({err}); check ~/.aws/config") from None


def _aws_error(err: Exception, *, action: str, resource: str) -> AwsError:
    if not isinstance(err, ClientError):
        return AwsError(
            f"{action} on {resource} could not reach AWS ({type(err).__name__}: {err}); check the endpoint and credentials"
        )
    code = str(err.response.get("Error", {}).get("Code") or "Unknown")
    message = str(err.response.get("Error", {}).get("Message") or "")
    if code in DENIED_CODES or "AccessDenied" in code:
        return AwsError(
            f"the caller is not allowed to call {action} on {resource}: grant {action} on {resource} "
            f"(or use a principal that has it) and retry (AWS {code})",
            code=code,
        )
    if code == "NoSuchEntity":
        return AwsError(
            f"{resource} does not exist in this account: check the plan's target and the profile or endpoint (AWS {code})",
            code=code,
        )
    if code in THROTTLE_CODES:
        return AwsError(
            f"AWS kept throttling {action} on {resource} after botocore's standard retries; wait a minute and retry (AWS {code})",
            code=code,
        )
    if code in (
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "UnrecognizedClientException",
    ):
        return AwsError(
            f"the credentials were rejected calling {action}: refresh them or pick another profile (AWS {code})",
            code=code,
        )
    return AwsError(f"{action} on {resource} failed: {message} (AWS {code})", code=code)


def _call(fn: Any, *, action: str, resource: str, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as err:
        raise _aws_error(err, action=action, resource=resource) from err


# ------------------------------------------------------------------------------------- records


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _doc(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        from urllib.parse import unquote

        text = value if value.lstrip().startswith("{") else unquote(value)
        return dict(json.loads(text))
    return dict(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One inline policy on one role or user: what it was, what it became, and the read-back."""

    target: str
    target_kind: TargetKind
    arn: str
    policy_name: str
    operation: str
    """``put`` (written or would be), ``unchanged`` (already in place), ``delete`` / ``restore`` (rollback)."""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    readback_ok: bool | None = None
    other_inline: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()

    def diff(self) -> str:
        """A unified diff of the before and after documents."""
        a = json.dumps(self.before, indent=2, sort_keys=True).splitlines() if self.before is not None else []
        b = json.dumps(self.after, indent=2, sort_keys=True).splitlines() if self.after is not None else []
        label = f"{self.target_kind} {self.target} inline policy {self.policy_name}"
        return "\n".join(difflib.unified_diff(a, b, f"{label} (before)", f"{label} (after)", lineterm=""))

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target": self.target,
            "target_kind": str(self.target_kind),
            "arn": self.arn,
            "policy_name": self.policy_name,
            "operation": self.operation,
            "before": self.before,
            "after": self.after,
            "readback_ok": self.readback_ok,
            "other_inline": list(self.other_inline),
            "attached": list(self.attached),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        """Inverse of :meth:`to_dict`."""
        return cls(
            target=data["target"],
            target_kind=TargetKind(data["target_kind"]),
            arn=data["arn"],
            policy_name=data["policy_name"],
            operation=data["operation"],
            before=data.get("before"),
            after=data.get("after"),
            readback_ok=data.get("readback_ok"),
            other_inline=tuple(data.get("other_inline") or ()),
            attached=tuple(data.get("attached") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRecord:
    """Who changed what, when and where, with the documents before and after (the audit trail)."""

    action: str
    """``apply`` or ``rollback``."""
    dry_run: bool
    who: str
    when: datetime
    account_id: str
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    cutoff: datetime | None = None
    plan_key: str | None = None
    changes: tuple[Change, ...] = ()
    path: str | None = None

    def __post_init__(self) -> None:
        if self.when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, got {self.when!r}")

    @property
    def changed(self) -> tuple[Change, ...]:
        """The changes that write (or, in a dry run, would write) something."""
        return tuple(c for c in self.changes if c.operation != "unchanged")

    def diff(self) -> str:
        """Every change's diff, or a line saying nothing changes."""
        parts = [c.diff() for c in self.changed]
        return "\n".join(p for p in parts if p) or "no change: every policy is already in place"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what is written to the record file)."""
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "who": self.who,
            "when": _iso(self.when),
            "where": {
                "account_id": self.account_id,
                "endpoint_url": self.endpoint_url,
                "profile": self.profile,
                "region": self.region,
            },
            "cutoff": _iso(self.cutoff),
            "plan_key": self.plan_key,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> ActionRecord:
        """Inverse of :meth:`to_dict`."""
        try:
            where = data.get("where") or {}
            return cls(
                action=data["action"],
                dry_run=bool(data["dry_run"]),
                who=data["who"],
                when=parse_date(data["when"]),
                account_id=where["account_id"],
                endpoint_url=where.get("endpoint_url"),
                profile=where.get("profile"),
                region=where.get("region"),
                cutoff=parse_date(data["cutoff"]) if data.get("cutoff") else None,
                plan_key=data.get("plan_key"),
                changes=tuple(Change.from_dict(c) for c in data.get("changes") or ()),
                path=path,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PlanError(f"not an ircreds action record ({type(err).__name__}: {err})") from None

    @classmethod
    def load(cls, path: str | Path) -> ActionRecord:
        """Read a record file written by :func:`apply` or :func:`rollback`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as err:
            raise PlanError(f"cannot read action record {p} ({err})") from None
        return cls.from_dict(data, path=str(p))

    def save(self, directory: str | Path) -> ActionRecord:
        """Write the record as ``<when>-<action>-<account>.json`` in ``directory``; return it with ``path``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        stem = f"{self.when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{self.action}-{self.account_id}"
        path = d / f"{stem}.json"
        n = 1
        while path.exists():
            n += 1
            path = d / f"{stem}-{n}.json"
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        log.info("action record written to %s", path)
        return replace(self, path=str(path))


# ---------------------------------------------------------------------------------- IAM access


def _policy_api(kind: TargetKind) -> dict[str, str]:
    if kind is TargetKind.ROLE:
        return {
            "param": "RoleName",
            "get": "get_role_policy",
            "put": "put_role_policy",
            "delete": "delete_role_policy",
            "list": "list_role_policies",
            "attached": "list_attached_role_policies",
            "noun": "Role",
        }
    return {
        "param": "UserName",
        "get": "get_user_policy",
        "put": "put_user_policy",
        "delete": "delete_user_policy",
        "list": "list_user_policies",
        "attached": "list_attached_user_policies",
        "noun": "User",
    }


def _get_inline(iam: Any, kind: TargetKind, name: str, arn: str, policy_name: str) -> dict[str, Any] | None:
    api = _policy_api(kind)
    try:
        response = getattr(iam, api["get"])(**{api["param"]: name, "PolicyName": policy_name})
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise _aws_error(err, action=f"iam:Get{api['noun']}Policy", resource=arn) from err
    except BotoCoreError as err:
        raise _aws_error(err, action=f"iam:Get{api['noun']}Policy", resource=arn) from err
    return _doc(response["PolicyDocument"])


def _inventory(iam: Any, kind: TargetKind, name: str, arn: str) -> tuple[list[str], list[str]]:
    api = _policy_api(kind)
    inline: list[str] = []
    attached: list[str] = []
    try:
        for page in iam.get_paginator(api["list"]).paginate(**{api["param"]: name}):
            inline.extend(page["PolicyNames"])
        for page in iam.get_paginator(api["attached"]).paginate(**{api["param"]: name}):
            attached.extend(p["PolicyArn"] for p in page["AttachedPolicies"])
    except (ClientError, BotoCoreError) as err:
        raise _aws_error(err, action=f"iam:List{api['noun']}Policies", resource=arn) from err
    return sorted(inline), sorted(attached)


def _caller(clients: _Clients) -> tuple[str, str]:
    identity = _call(clients.sts.get_caller_identity, action="sts:GetCallerIdentity", resource="the caller")
    return str(identity["Arn"]), str(identity["Account"])


def _select(plan: Plan, targets: Iterable[str] | None) -> list[Revocation]:
    revs = list(plan.revocations)
    if targets is not None:
        wanted = set(targets)
        revs = [r for r in revs if wanted & {r.target, r.arn}]
        missing = wanted - {r.target for r in revs} - {r.arn for r in revs}
        if missing:
            raise PlanError(
                f"{sorted(missing)} not in the plan; its targets are {[r.target for r in plan.revocations]}"
            )
    if not revs:
        raise PlanError(
            "the plan has no revocation to apply (nothing the cut-off deny can reach; see its uncovered items)"
        )
    for r in revs:
        if not r.policy:
            raise PlanError(
                f"the revocation of {r.target} has no policy (the plan has no cut-off); build the plan with a cut-off"
            )
    return revs


def _writes_allowed(dry_run: bool, confirm: bool) -> None:
    if not dry_run and not confirm:
        raise PlanError(
            "refusing to change the account without confirm=True (dry_run=False alone is not enough)"
        )


# ---------------------------------------------------------------------------------------- apply


def apply(
    plan: Plan,
    session_or_client: Any,
    *,
    now: datetime,
    dry_run: bool = True,
    confirm: bool = False,
    record_dir: str | Path | None = DEFAULT_RECORD_DIR,
    targets: Iterable[str] | None = None,
    endpoint_url: str | None = None,
) -> ActionRecord:
    """Put each revocation's deny on its role or user; by default a dry run that changes nothing.

    Args:
        plan: the containment plan (or ``Plan.from_dict`` of its JSON).
        session_or_client: a ``boto3.Session``, an IAM client, or a :class:`~ircreds.sandbox.Sandbox`.
        now: the time of the action (the caller's clock; ircreds never reads it).
        dry_run: only read: show each before/after, write nothing, save no record.
        confirm: must be True, with ``dry_run=False``, to write.
        record_dir: where a real apply writes its JSON action record.
        targets: apply only these revocations (names or ARNs).
        endpoint_url: for a Session, the endpoint to use (a sandbox URL).

    Raises:
        PlanError: account mismatch, no confirmation, or an inline-policy size limit that would be exceeded.
        AwsError: an AWS call failed (the message names the missing permission for AccessDenied).
    """
    _writes_allowed(dry_run, confirm)
    if now.tzinfo is None:
        raise PlanError("now must be timezone-aware (UTC)")
    revs = _select(plan, targets)
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    who, account = _caller(clients)
    foreign = [r for r in revs if r.account_id and r.account_id != account]
    if foreign:
        mine = [r.target for r in revs if not r.account_id or r.account_id == account]
        hint = (
            f"; apply targets={mine} with these credentials and the rest with a profile of their account"
            if mine
            else ""
        )
        raise PlanError(
            f"the plan targets {foreign[0].arn} in account {foreign[0].account_id} but the credentials belong to "
            f"account {account} ({who}): nothing was changed{hint}"
        )
    changes = [_apply_one(clients.iam, rev, dry_run=dry_run) for rev in revs]
    record = ActionRecord(
        action="apply",
        dry_run=dry_run,
        who=who,
        when=now,
        account_id=account,
        endpoint_url=clients.endpoint_url,
        profile=clients.profile,
        region=clients.region,
        cutoff=plan.cutoff,
        plan_key=plan.key,
        changes=tuple(changes),
    )
    if dry_run:
        return record
    record = record.save(record_dir or DEFAULT_RECORD_DIR)
    bad = [c.target for c in changes if c.readback_ok is False]
    if bad:
        raise AwsError(
            f"read-back differs from what was written on {', '.join(bad)}; see the action record {record.path}"
        )
    return record


def _apply_one(iam: Any, rev: Revocation, *, dry_run: bool) -> Change:
    kind, name, arn = rev.target_kind, rev.target, rev.arn
    api = _policy_api(kind)
    before = _get_inline(iam, kind, name, arn, rev.policy_name)
    inline, attached = _inventory(iam, kind, name, arn)
    others = [n for n in inline if n != rev.policy_name]
    change = Change(
        target=name,
        target_kind=kind,
        arn=arn,
        policy_name=rev.policy_name,
        before=before,
        after=rev.policy,
        operation="put",
        other_inline=tuple(others),
        attached=tuple(attached),
    )
    if before is not None and canonical(before) == canonical(rev.policy):
        return replace(change, operation="unchanged", readback_ok=None if dry_run else True)
    limit = ROLE_INLINE_POLICY_LIMIT if kind is TargetKind.ROLE else USER_INLINE_POLICY_LIMIT
    total = policy_size(rev.policy) + sum(
        policy_size(_get_inline(iam, kind, name, arn, n) or {}) for n in others
    )
    if total > limit:
        raise PlanError(
            f"{name}'s inline policies would total {total} characters with {rev.policy_name}, over IAM's {limit}: "
            "nothing was written; trim another inline policy or attach the deny as a managed policy"
        )
    if dry_run:
        return change
    _call(
        getattr(iam, api["put"]),
        action=f"iam:Put{api['noun']}Policy",
        resource=arn,
        **{api["param"]: name, "PolicyName": rev.policy_name, "PolicyDocument": json.dumps(rev.policy)},
    )
    after = _get_inline(iam, kind, name, arn, rev.policy_name)
    inline2, attached2 = _inventory(iam, kind, name, arn)
    untouched = [n for n in inline2 if n != rev.policy_name] == others and attached2 == attached
    ok = after is not None and canonical(after) == canonical(rev.policy) and untouched
    log.info("put %s on %s %s (read-back %s)", rev.policy_name, kind, arn, "ok" if ok else "MISMATCH")
    return replace(change, after=after, readback_ok=ok)


# ------------------------------------------------------------------------------------- rollback


def rollback(
    record: ActionRecord | str | Path,
    session_or_client: Any,
    *,
    now: datetime,
    dry_run: bool = True,
    confirm: bool = False,
    force: bool = False,
    record_dir: str | Path | None = DEFAULT_RECORD_DIR,
    endpoint_url: str | None = None,
) -> ActionRecord:
    """Restore exactly the state before an apply: delete the policy it created, or put the old one back.

    Refuses when the policy was changed since the apply (someone clicked the console button again,
    say), unless ``force=True``. Dry run by default; a real rollback writes its own action record.
    """
    _writes_allowed(dry_run, confirm)
    rec = record if isinstance(record, ActionRecord) else ActionRecord.load(record)
    if rec.action != "apply" or rec.dry_run:
        raise PlanError("only a real (not dry-run) apply record can be rolled back")
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    who, account = _caller(clients)
    if account != rec.account_id:
        raise PlanError(
            f"the record is for account {rec.account_id} but the credentials belong to account {account} ({who})"
        )
    changes: list[Change] = []
    for change in rec.changes:
        if change.operation != "put":
            continue
        current = _get_inline(clients.iam, change.target_kind, change.target, change.arn, change.policy_name)
        if not force and (
            current is None or change.after is None or canonical(current) != canonical(change.after)
        ):
            raise PlanError(
                f"{change.policy_name} on {change.target} changed since the apply; nothing was rolled back "
                "(pass force=True to restore the recorded state anyway)"
            )
        changes.append(_rollback_one(clients.iam, change, current, dry_run=dry_run))
    out = ActionRecord(
        action="rollback",
        dry_run=dry_run,
        who=who,
        when=now,
        account_id=account,
        endpoint_url=clients.endpoint_url,
        profile=clients.profile,
        region=clients.region,
        cutoff=rec.cutoff,
        plan_key=rec.plan_key,
        changes=tuple(changes),
    )
    if dry_run:
        return out
    out = out.save(record_dir or DEFAULT_RECORD_DIR)
    bad = [c.target for c in changes if c.readback_ok is False]
    if bad:
        raise AwsError(f"rollback read-back differs on {', '.join(bad)}; see the action record {out.path}")
    return out


def _rollback_one(iam: Any, change: Change, current: dict[str, Any] | None, *, dry_run: bool) -> Change:
    api = _policy_api(change.target_kind)
    kind, name, arn = change.target_kind, change.target, change.arn
    operation = "delete" if change.before is None else "restore"
    out = Change(
        target=name,
        target_kind=kind,
        arn=arn,
        policy_name=change.policy_name,
        operation=operation,
        before=current,
        after=change.before,
        other_inline=change.other_inline,
        attached=change.attached,
    )
    if dry_run:
        return out
    if change.before is None:
        if current is not None:
            _call(
                getattr(iam, api["delete"]),
                action=f"iam:Delete{api['noun']}Policy",
                resource=arn,
                **{api["param"]: name, "PolicyName": change.policy_name},
            )
    else:
        _call(
            getattr(iam, api["put"]),
            action=f"iam:Put{api['noun']}Policy",
            resource=arn,
            **{
                api["param"]: name,
                "PolicyName": change.policy_name,
                "PolicyDocument": json.dumps(change.before),
            },
        )
    after = _get_inline(iam, kind, name, arn, change.policy_name)
    ok = (
        after is None
        if change.before is None
        else after is not None and canonical(after) == canonical(change.before)
    )
    return replace(out, readback_ok=ok)


# ----------------------------------------------------------------------------------------- audit


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFinding:
    """One guardrail gap: what, on which role, and what to do."""

    code: str
    target: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "target": self.target, "severity": self.severity, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """Read-only review of the account's roles against the revocation guardrails."""

    account_id: str
    roles_checked: int
    findings: tuple[AuditFinding, ...] = ()
    assumers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "account_id": self.account_id,
            "roles_checked": self.roles_checked,
            "findings": [f.to_dict() for f in self.findings],
            "assumers": {k: list(v) for k, v in self.assumers.items()},
            "cutoffs": dict(self.cutoffs),
        }


_RESTRICTING_KEYS = (
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "sts:externalid",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:sourceidentity",
    "aws:principaltag",
    "aws:sourceip",
    "aws:sourcevpc",
)


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    out: list[str] = []
    if isinstance(principal, Mapping):
        for kind, value in principal.items():
            for v in value if isinstance(value, list) else [value]:
                out.append(str(v) if kind == "AWS" else f"{kind}:{v}")
    return out


def _restricted(statement: Mapping[str, Any]) -> bool:
    text = json.dumps(statement.get("Condition") or {}).lower()
    return any(k in text for k in _RESTRICTING_KEYS)


def audit(
    session_or_client: Any, *, roles: Iterable[str] | None = None, endpoint_url: str | None = None
) -> AuditReport:
    """Review every role (read-only): long ``MaxSessionDuration``, trust policies open to wildcards or whole
    accounts without MFA / external-id conditions, who can assume ``roles`` (the compromised ones), and any
    ``AWSRevokeOlderSessions`` cut-off already in place."""
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    _, account = _caller(clients)
    wanted = set(roles or ())
    findings: list[AuditFinding] = []
    assumers: dict[str, tuple[str, ...]] = {}
    cutoffs: dict[str, str] = {}
    count = 0
    for page in _call(
        clients.iam.get_paginator("list_roles").paginate,
        action="iam:ListRoles",
        resource=f"account {account}",
    ):
        for role in page["Roles"]:
            count += 1
            name, path = role["RoleName"], role.get("Path", "/")
            if path.startswith("/aws-service-role/"):
                continue
            hours = int(role.get("MaxSessionDuration", 3600)) / 3600
            if hours > 1:
                findings.append(
                    AuditFinding(
                        code="long-max-session",
                        target=name,
                        severity="medium",
                        message=f"{name} allows {hours:g} h sessions: a leaked session stays valid that long; lower "
                        "MaxSessionDuration to what its users need",
                    )
                )
            trust = _doc(role.get("AssumeRolePolicyDocument")) or {}
            principals: list[str] = []
            for stmt in (
                trust.get("Statement", [])
                if isinstance(trust.get("Statement"), list)
                else [trust.get("Statement") or {}]
            ):
                if stmt.get("Effect") != "Allow":
                    continue
                found = _principals(stmt)
                principals.extend(found)
                restricted = _restricted(stmt)
                for p in found:
                    if p == "*" and not restricted:
                        findings.append(
                            AuditFinding(
                                code="open-trust",
                                target=name,
                                severity="critical",
                                message=f"{name}'s trust policy lets any AWS principal assume it without a condition; "
                                "name the principals and add conditions",
                            )
                        )
                    elif (p.endswith(":root") or p.isdigit()) and not restricted:
                        other = p.split(":")[4] if p.count(":") >= 5 else p
                        where = "another account" if other != account else "the whole account"
                        findings.append(
                            AuditFinding(
                                code="account-trust-without-condition",
                                target=name,
                                severity="high" if other != account else "medium",
                                message=f"{name} trusts {where} ({other}) with no MFA, external-id or principal condition: "
                                "any principal there with sts:AssumeRole can mint new sessions after a cut-off",
                            )
                        )
            if not wanted or name in wanted:
                assumers[name] = tuple(principals)
            if not wanted or name in wanted:
                doc = _get_inline(clients.iam, TargetKind.ROLE, name, role["Arn"], POLICY_NAME)
                if doc:
                    value = json.dumps(doc)
                    marker = '"aws:TokenIssueTime": "'
                    if marker in value:
                        cutoffs[name] = value.split(marker, 1)[1].split('"', 1)[0]
    return AuditReport(
        account_id=account, roles_checked=count, findings=tuple(findings), assumers=assumers, cutoffs=cutoffs
    )


# ----------------------------------------------------------------------------------- verify_live


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCheck:
    """IAM's simulator versus ircreds' evaluator for one issue time on one target."""

    target_arn: str
    issued_at: datetime
    access_key_ids: tuple[str, ...]
    simulator: str
    expected_deny: bool

    @property
    def agrees(self) -> bool:
        """True when IAM's decision matches ircreds' verdict."""
        return (self.simulator == "explicitDeny") == self.expected_deny

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target_arn": self.target_arn,
            "issued_at": _iso(self.issued_at),
            "access_key_ids": list(self.access_key_ids),
            "simulator": self.simulator,
            "expected_deny": self.expected_deny,
            "agrees": self.agrees,
        }


def verify_live(
    plan: Plan,
    session_or_client: Any,
    *,
    action: str = "s3:ListAllMyBuckets",
    endpoint_url: str | None = None,
) -> tuple[LiveCheck, ...]:
    """Ask IAM's policy simulator (``iam:SimulatePrincipalPolicy``, ``aws:TokenIssueTime`` in the context)
    whether each session's issue time is denied on its target now, and compare with the plan.

    Run it after the apply, against a real account: moto does not implement the simulator.
    """
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    checks: list[LiveCheck] = []
    for rev in plan.revocations:
        by_time: dict[datetime, list[Any]] = {}
        for s in rev.sessions:
            if s.issued_at is not None:
                by_time.setdefault(s.issued_at.astimezone(UTC).replace(microsecond=0), []).append(s)
        for issued, sessions in sorted(by_time.items()):
            response = _call(
                clients.iam.simulate_principal_policy,
                action="iam:SimulatePrincipalPolicy",
                resource=rev.arn,
                PolicySourceArn=rev.arn,
                ActionNames=[action],
                ContextEntries=[
                    {
                        "ContextKeyName": "aws:TokenIssueTime",
                        "ContextKeyValues": [_iso(issued)],
                        "ContextKeyType": "date",
                    }
                ],
            )
            decision = str(response["EvaluationResults"][0]["EvalDecision"])
            expected = any(s.verdict in (Verdict.CUT, Verdict.EXPIRED) for s in sessions)
            checks.append(
                LiveCheck(
                    target_arn=rev.arn,
                    issued_at=issued,
                    access_key_ids=tuple(s.access_key_id for s in sessions),
                    simulator=decision,
                    expected_deny=expected,
                )
            )
    return tuple(checks)
