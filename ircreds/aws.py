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

This module only calls AWS. The decisions over plain documents live in the core:
:mod:`ircreds.containment.actions` (:class:`Change`, :class:`ActionRecord`, apply/rollback checks),
:mod:`ircreds.containment.audit` (:class:`AuditReport`, trust-policy review, :class:`LiveCheck`) and
:mod:`ircreds.containment.aws_errors` (what an AWS error code says); their types are re-exported here.

Example::

    from datetime import UTC, datetime
    record = apply(plan, sandbox, now=datetime.now(UTC))                  # dry run: touches nothing
    record = apply(plan, sandbox, dry_run=False, confirm=True, now=...)   # writes + action record
    rollback(record, sandbox, dry_run=False, confirm=True, now=...)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ircreds.containment import Plan, Revocation, actions

# ActionRecord, Change, AuditFinding, AuditReport, LiveCheck, DENIED_CODES and THROTTLE_CODES live in the
# pure core; callers keep importing them from ircreds.aws.
from ircreds.containment.actions import ActionRecord, Change, policy_document
from ircreds.containment.audit import AuditFinding, AuditReport, LiveCheck, live_checks, review_account  # noqa: F401
from ircreds.containment.aws_errors import DENIED_CODES, THROTTLE_CODES, error_for_code, unreachable_error  # noqa: F401
from ircreds.containment.policy import POLICY_NAME, TargetKind
from ircreds.errors import AwsError, PlanError
from ircreds.times import iso_z

log = logging.getLogger(__name__)

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})


def default_record_dir() -> Path:
    """Where action records go when no folder is given: ``$IRCREDS_RECORD_DIR``, else
    ``$XDG_DATA_HOME/ircreds/actions``, else ``~/.local/share/ircreds/actions`` (never the current folder).
    """
    return actions.default_record_dir(os.environ, Path.home())


DEFAULT_RECORD_DIR = default_record_dir()
"""The default folder as resolved when this module was imported (``record_dir=None`` resolves it again)."""


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
        return unreachable_error(err, action=action, resource=resource)
    code = str(err.response.get("Error", {}).get("Code") or "Unknown")
    message = str(err.response.get("Error", {}).get("Message") or "")
    return error_for_code(code, message, action=action, resource=resource)


def _call(fn: Any, *, action: str, resource: str, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as err:
        raise _aws_error(err, action=action, resource=resource) from err


def _caller(clients: _Clients) -> tuple[str, str]:
    identity = _call(clients.sts.get_caller_identity, action="sts:GetCallerIdentity", resource="the caller")
    return str(identity["Arn"]), str(identity["Account"])


# ---------------------------------------------------------------------------------- IAM access


def _policy_api(kind: TargetKind) -> dict[str, str]:
    noun = "Role" if kind is TargetKind.ROLE else "User"
    low = noun.lower()
    return {
        "param": f"{noun}Name",
        "get": f"get_{low}_policy",
        "put": f"put_{low}_policy",
        "delete": f"delete_{low}_policy",
        "list": f"list_{low}_policies",
        "attached": f"list_attached_{low}_policies",
        "noun": noun,
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
    return policy_document(response["PolicyDocument"])


def _put_inline(
    iam: Any, kind: TargetKind, name: str, arn: str, policy_name: str, doc: dict[str, Any]
) -> None:
    api = _policy_api(kind)
    _call(
        getattr(iam, api["put"]),
        action=f"iam:Put{api['noun']}Policy",
        resource=arn,
        **{api["param"]: name, "PolicyName": policy_name, "PolicyDocument": json.dumps(doc)},
    )


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


def _finish(record: ActionRecord, record_dir: str | Path | None, what: str) -> ActionRecord:
    """Save a real action's record, then fail loudly if any read-back differed."""
    if record.dry_run:
        return record
    record = record.save(record_dir or default_record_dir())
    bad = [c.target for c in record.changes if c.readback_ok is False]
    if bad:
        raise AwsError(f"{what} on {', '.join(bad)}; see the action record {record.path}")
    return record


def _origin(clients: _Clients, who: str, account: str) -> dict[str, Any]:
    """The ``ActionRecord`` fields that say who acted, in which account, through which endpoint."""
    return {
        "who": who,
        "account_id": account,
        "endpoint_url": clients.endpoint_url,
        "profile": clients.profile,
        "region": clients.region,
    }


# ---------------------------------------------------------------------------------------- apply


def apply(
    plan: Plan,
    session_or_client: Any,
    *,
    now: datetime,
    dry_run: bool = True,
    confirm: bool = False,
    record_dir: str | Path | None = None,
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
        record_dir: where a real apply writes its JSON action record (default :func:`default_record_dir`:
            ``$IRCREDS_RECORD_DIR`` or ``~/.local/share/ircreds/actions``; the record's ``path`` says where).
        targets: apply only these revocations (names or ARNs).
        endpoint_url: for a Session, the endpoint to use (a sandbox URL).

    The plan is untrusted input (a file passed between people): before any AWS call, every revocation
    must write ``AWSRevokeOlderSessions`` on a well-formed role or user, with exactly the document
    :mod:`ircreds.containment.policy` builds for the plan's cut-off (or a narrower option); anything
    else is refused naming the field. A record against a sandbox or any non-AWS endpoint is a
    *rehearsal* (``record.rehearsal``): it contains nothing.

    Raises:
        PlanError: a hand-edited plan, account mismatch, no confirmation, or an inline-policy size limit
            that would be exceeded.
        AwsError: an AWS call failed (the message names the missing permission for AccessDenied).
    """
    actions.require_confirmation(dry_run, confirm)
    if now.tzinfo is None:
        raise PlanError("now must be timezone-aware (UTC)")
    revs = actions.select_revocations(plan, targets)
    actions.check_plan_revocations(plan, revs)
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    who, account = _caller(clients)
    actions.check_apply_account(revs, account, who)
    # read every target first (a missing role, a permission or size problem stops everything before any write)
    planned = [_read_one(clients.iam, rev, dry_run=dry_run) for rev in revs]

    def record_of(changes: list[Change]) -> ActionRecord:
        return ActionRecord(
            action="apply",
            dry_run=dry_run,
            when=now,
            **_origin(clients, who, account),
            cutoff=plan.cutoff,
            plan_key=plan.key,
            changes=tuple(changes),
        )

    if dry_run:
        return record_of(planned)
    written: list[Change] = []
    try:
        for rev, change in zip(revs, planned, strict=True):
            written.append(_write_one(clients.iam, rev, change))
    except AwsError as err:
        done = [c for c in written if c.operation == "put"]
        if not done:
            raise
        partial = record_of(written).save(record_dir or default_record_dir())
        raise AwsError(
            f"{err}; {len(done)} change(s) were already written ({', '.join(c.target for c in done)}): "
            f"see the action record {partial.path} (ircreds rollback undoes them)",
            code=err.code,
        ) from err
    return _finish(record_of(written), record_dir, "read-back differs from what was written")


def _read_one(iam: Any, rev: Revocation, *, dry_run: bool) -> Change:
    """What a revocation would change on its target (reads only; refuses an inline size overflow)."""
    kind, name, arn = rev.target_kind, rev.target, rev.arn
    before = _get_inline(iam, kind, name, arn, rev.policy_name)
    inline, attached = _inventory(iam, kind, name, arn)
    change = actions.planned_change(rev, before=before, inline=inline, attached=attached, dry_run=dry_run)
    if change.operation == "unchanged":
        return change
    actions.check_inline_size(rev, [_get_inline(iam, kind, name, arn, n) or {} for n in change.other_inline])
    return change


def _write_one(iam: Any, rev: Revocation, change: Change) -> Change:
    """Put the revocation's document (unless already in place) and read it back."""
    if change.operation == "unchanged":
        return change
    kind, name, arn = rev.target_kind, rev.target, rev.arn
    _put_inline(iam, kind, name, arn, rev.policy_name, rev.policy)
    after = _get_inline(iam, kind, name, arn, rev.policy_name)
    ok = actions.apply_readback_ok(change, after, *_inventory(iam, kind, name, arn))
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
    record_dir: str | Path | None = None,
    endpoint_url: str | None = None,
) -> ActionRecord:
    """Restore exactly the state before an apply: delete the policy it created, or put the old one back.

    The record is untrusted input: it must name only ``AWSRevokeOlderSessions`` changes whose documents
    are cut-off denies (or narrower options) ircreds or the console writes, and it is rolled back only
    where the apply ran (same endpoint, profile, account and caller). Refuses when the live policy no
    longer equals the record's ``after`` (someone clicked the console button again, say), unless
    ``force=True``. Dry run by default; a real rollback writes its own action record.
    """
    actions.require_confirmation(dry_run, confirm)
    rec = record if isinstance(record, ActionRecord) else ActionRecord.load(record)
    actions.check_rollback(rec)
    actions.check_rollback_documents(rec)
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    who, account = _caller(clients)
    actions.check_record_account(rec, account, who)
    actions.check_rollback_target(
        rec, endpoint_url=clients.endpoint_url, profile=clients.profile, account=account, who=who
    )
    changes: list[Change] = []
    for change in rec.changes:
        if change.operation != "put":
            continue
        current = _get_inline(clients.iam, change.target_kind, change.target, change.arn, change.policy_name)
        actions.check_unchanged_since_apply(change, current, force=force)
        changes.append(_rollback_one(clients.iam, change, current, dry_run=dry_run))
    out = ActionRecord(
        action="rollback",
        dry_run=dry_run,
        when=now,
        **_origin(clients, who, account),
        cutoff=rec.cutoff,
        plan_key=rec.plan_key,
        changes=tuple(changes),
    )
    return _finish(out, record_dir, "rollback read-back differs")


def _rollback_one(iam: Any, change: Change, current: dict[str, Any] | None, *, dry_run: bool) -> Change:
    undo = actions.rollback_change(change, current)
    if dry_run:
        return undo
    kind, name, arn = change.target_kind, change.target, change.arn
    if change.before is None:
        if current is not None:
            api = _policy_api(kind)
            _call(
                getattr(iam, api["delete"]),
                action=f"iam:Delete{api['noun']}Policy",
                resource=arn,
                **{api["param"]: name, "PolicyName": change.policy_name},
            )
    else:
        _put_inline(iam, kind, name, arn, change.policy_name, change.before)
    after = _get_inline(iam, kind, name, arn, change.policy_name)
    return replace(undo, readback_ok=actions.rollback_readback_ok(undo, after))


# ----------------------------------------------------------------------------------------- audit


def audit(
    session_or_client: Any, *, roles: Iterable[str] | None = None, endpoint_url: str | None = None
) -> AuditReport:
    """Review every role (read-only): long ``MaxSessionDuration``, trust policies open to wildcards or whole
    accounts without MFA / external-id conditions, who can assume ``roles`` (the compromised ones), and any
    ``AWSRevokeOlderSessions`` cut-off already in place.
    """
    clients = _clients(session_or_client, endpoint_url=endpoint_url)
    _, account = _caller(clients)
    pages = _call(
        clients.iam.get_paginator("list_roles").paginate,
        action="iam:ListRoles",
        resource=f"account {account}",
    )
    return review_account(
        (role for page in pages for role in page["Roles"]),
        account_id=account,
        wanted=roles,
        revoke_policy=lambda role: _get_inline(
            clients.iam, TargetKind.ROLE, role["RoleName"], role["Arn"], POLICY_NAME
        ),
    )


# ----------------------------------------------------------------------------------- verify_live


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

    def simulate(arn: str, issued: datetime) -> str:
        response = _call(
            clients.iam.simulate_principal_policy,
            action="iam:SimulatePrincipalPolicy",
            resource=arn,
            PolicySourceArn=arn,
            ActionNames=[action],
            ContextEntries=[
                {
                    "ContextKeyName": "aws:TokenIssueTime",
                    "ContextKeyValues": [iso_z(issued)],
                    "ContextKeyType": "date",
                }
            ],
        )
        return str(response["EvaluationResults"][0]["EvalDecision"])

    return live_checks(plan, simulate)


def apply_by_account(
    plan: Plan,
    targets: Mapping[str, Any],
    *,
    now: datetime,
    dry_run: bool = True,
    confirm: bool = False,
    record_dir: str | Path | None = None,
) -> dict[str, ActionRecord]:
    """Apply a plan that spans accounts: each account's revocations through that account's target.

    ``targets`` maps an account id to a boto3 Session, an IAM client or a Sandbox of that account.
    Refuses, before any change, when an account of the plan has no target. One action record per account.
    """
    from ircreds.containment import check_accounts_covered

    by_account = check_accounts_covered(plan, targets)
    return {
        account: apply(
            plan,
            targets[account],
            now=now,
            dry_run=dry_run,
            confirm=confirm,
            record_dir=record_dir,
            targets=[rev.arn for rev in revs],
        )
        for account, revs in by_account.items()
    }


def rollback_by_account(
    records: Mapping[str, ActionRecord],
    targets: Mapping[str, Any],
    *,
    now: datetime,
    dry_run: bool = True,
    confirm: bool = False,
    record_dir: str | Path | None = None,
) -> dict[str, ActionRecord]:
    """Roll back :func:`apply_by_account`'s records, each through its account's target."""
    missing = sorted(a for a in records if a not in targets)
    if missing:
        raise PlanError(
            f"no target given for account(s) {', '.join(missing)}; cannot roll back their changes"
        )
    return {
        account: rollback(
            record, targets[account], now=now, dry_run=dry_run, confirm=confirm, record_dir=record_dir
        )
        for account, record in records.items()
    }
