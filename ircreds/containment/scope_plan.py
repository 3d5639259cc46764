"""One containment plan for a whole scope (every compromised credential, across accounts).

:func:`plan_scope` plans over the scope's lineage (:meth:`ircreds.scoping.Scope.trace`): one cut-off per
role and IAM user involved, in every account. On top of :func:`~ircreds.containment.plan` it adds what a
scope needs: the EC2 advice for instance-profile roles (aws-facts §3.4), and the resource-policy grants the
attacker made (a Lambda permission for ``*``, a bucket policy or ACL opened, a KMS grant, a trust policy
edited), each with the call that undoes it. :func:`revocations_by_account` groups the revocations by
account, which is how :func:`ircreds.aws.apply_by_account` applies them (after
:func:`check_accounts_covered`).

Example:
    >>> undo = grant_undo("AddPermission20150331v2", {"functionName": "f", "statementId": "s", "principal": "*"})
    >>> undo
    'aws lambda remove-permission --function-name f --statement-id s'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.containment.build import plan
from ircreds.containment.cutoff import DEFAULT_MARGIN
from ircreds.containment.plans import Plan
from ircreds.containment.records import PlanWarning, Revocation, Uncovered, UncoveredKind, WarningCode
from ircreds.errors import PlanError
from ircreds.escape import shell_quote

_LAMBDA_PERMISSION = "AddPermission"


def _obj(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def grant_undo(
    event_name: str, params: Mapping[str, Any], response: Mapping[str, Any] | None = None
) -> str | None:
    """The AWS CLI call that undoes a resource-policy grant, or None when the call grants nothing open."""
    response = response or {}
    params = {k: shell_quote(str(v)) for k, v in params.items() if isinstance(v, str | int)}
    response = {k: shell_quote(str(v)) for k, v in response.items() if isinstance(v, str | int)}
    if event_name.startswith(_LAMBDA_PERMISSION):  # Lambda names carry an API version (…20150331v2)
        if "functionName" not in params:  # lambda:AddPermission, not another service's AddPermission
            return None
        fn, sid = params.get("functionName"), params.get("statementId", "<statement id>")
        return f"aws lambda remove-permission --function-name {fn} --statement-id {sid}"
    bucket = params.get("bucketName")
    if event_name == "PutBucketPolicy":
        return f"aws s3api delete-bucket-policy --bucket {bucket} (or put back the policy it had before)"
    if event_name == "PutBucketAcl":
        return f"aws s3api put-bucket-acl --bucket {bucket} --acl private (or put back the ACL it had before)"
    if event_name == "PutObjectAcl":
        key = params.get("key", "<key>")
        return f"aws s3api put-object-acl --bucket {bucket} --key {key} --acl private"
    if event_name == "DeletePublicAccessBlock":
        return (
            f"aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration "
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
        )
    if event_name == "CreateGrant":
        grant = response.get("grantId", "<grant id from the CreateGrant response>")
        return f"aws kms revoke-grant --key-id {params.get('keyId')} --grant-id {grant}"
    if event_name == "PutKeyPolicy":
        return f"aws kms put-key-policy --key-id {params.get('keyId')} --policy-name default --policy file://previous.json"
    if event_name == "UpdateAssumeRolePolicy":
        return (
            f"aws iam update-assume-role-policy --role-name {params.get('roleName')} "
            "--policy-document file://trust-before-the-incident.json"
        )
    if event_name == "ModifySnapshotAttribute":
        return (
            f"aws ec2 modify-snapshot-attribute --snapshot-id {params.get('snapshotId')} "
            "--attribute createVolumePermission --operation-type remove --group-names all"
        )
    return None


def resource_grants(calls: pd.DataFrame) -> list[Uncovered]:
    """The successful resource-policy grants among ``calls`` (the attacker's), each with its undo call."""
    if not len(calls) or "eventName" not in calls.columns:
        return []
    ok = calls["errorCode"].isna() if "errorCode" in calls.columns else pd.Series(True, index=calls.index)
    out: list[Uncovered] = []
    for row in calls.loc[ok.to_numpy(dtype=bool)].to_dict("records"):
        name = str(row.get("eventName") or "")
        params = _obj(row.get("requestParameters"))
        undo = grant_undo(name, params, _obj(row.get("responseElements")))
        if undo is None:
            continue
        target = str(
            params.get("functionName")
            or params.get("bucketName")
            or params.get("keyId")
            or params.get("roleName")
            or params.get("snapshotId")
            or name
        )
        opened = ""
        if params.get("principal") == "*" or '"*"' in json.dumps(params):
            opened = " to everyone (principal *)"
        kind = (
            UncoveredKind.TRUST_POLICY if name == "UpdateAssumeRolePolicy" else UncoveredKind.RESOURCE_POLICY
        )
        event_id = row.get("eventID")
        out.append(
            Uncovered(
                kind=kind,
                target=target,
                access_key_id=str(row.get("userIdentity.accessKeyId") or "") or None,
                event_ids=(str(event_id),) if isinstance(event_id, str) else (),
                detail=f"{name} on {target}{opened}",
                action=f"undo the grant: {undo}",
            )
        )
    return out


_EC2_ADVICE = (
    "{role} is an instance-profile role whose credentials were used outside the instance: the cut-off also "
    "cuts the instances' cached credentials until IMDS hands out new ones (up to ~6 h), and an attacker on "
    "the instance fetches fresh ones. Isolate the instance and require IMDSv2 first; narrower, deny calls "
    "where aws:SourceVpc differs from aws:Ec2InstanceSourceVpc, or ec2:RoleDelivery = 1.0 (aws-facts §3.4)"
)


def plan_scope(
    scope: Any,
    cutoff: datetime | None = None,
    *,
    now: datetime | None = None,
    events: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    margin: timedelta = DEFAULT_MARGIN,
    account: Mapping[str, Any] | None = None,
) -> Plan:
    """The containment plan for a whole :class:`~ircreds.scoping.Scope` (every account it spans).

    Same arguments as :func:`ircreds.containment.plan`, with the scope in place of one trace.
    """
    p = plan(scope.trace(), cutoff, now=now, events=events, sessions=sessions, margin=margin, account=account)
    warnings = list(p.warnings)
    instance_roles = sorted(
        {c.role_arn for c in scope.compromised if c.role_arn and _instance_session(c)},
    )
    for role in instance_roles:
        warnings.append(
            PlanWarning(
                code=WarningCode.INSTANCE_PROFILE,
                target=role,
                message=_EC2_ADVICE.format(role=role.rsplit("/", 1)[-1]),
            )
        )
    uncovered = list(p.uncovered)
    if events is not None and scope.malicious_event_ids and "eventID" in events.columns:
        mask = events["eventID"].isin(sorted(scope.malicious_event_ids)).to_numpy(dtype=bool)
        for grant in resource_grants(events.loc[mask]):
            # the catalog may list the same call with a generic action: the grant's undo call replaces it
            uncovered = [u for u in uncovered if not (u.event_ids and u.event_ids == grant.event_ids)]
            uncovered.append(grant)
    return replace(p, warnings=tuple(warnings), uncovered=tuple(uncovered))


def _instance_session(c: Any) -> bool:
    principal = c.principal_arn or ""
    return c.kind == "Service" or ":i-" in principal or "/i-" in principal


def revocations_by_account(p: Plan) -> dict[str, list[Revocation]]:
    """The plan's revocations grouped by the account they must be applied in (sorted by account)."""
    out: dict[str, list[Revocation]] = {}
    for rev in p.revocations:
        out.setdefault(rev.account_id or p.account_id or "unknown", []).append(rev)
    return dict(sorted(out.items()))


def check_accounts_covered(p: Plan, accounts: Any) -> dict[str, list[Revocation]]:
    """The plan's revocations by account, after checking that every account has a target to apply them to.

    Raises:
        PlanError: one sentence naming the accounts with revocations but no target.
    """
    by_account = revocations_by_account(p)
    missing = [a for a in by_account if a not in set(accounts)]
    if missing:
        have = ", ".join(sorted(accounts)) or "none"
        raise PlanError(
            f"the plan revokes sessions in account(s) {', '.join(missing)} but no target was given for them "
            f"(targets given for: {have}); pass one session, IAM client or sandbox per account"
        )
    return by_account
