"""Privilege escalation: policies attached or edited, policy versions, Lambda changes, PassRole to compute."""

from __future__ import annotations

import orjson
import pandas as pd

from ircreds.findings._util import col, ids, listing, make, slim, succeeded, texts, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

POLICY_ACTIONS = frozenset(
    {
        "AttachUserPolicy",
        "AttachRolePolicy",
        "AttachGroupPolicy",
        "PutUserPolicy",
        "PutRolePolicy",
        "PutGroupPolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
    }
)
# Lambda event names carry an API-version suffix (UpdateFunctionCode20150331v2).
LAMBDA_PREFIXES = ("UpdateFunctionCode", "UpdateFunctionConfiguration", "AddPermission", "CreateFunction")
# Calls that hand a role to compute (iam:PassRole is not logged itself): the parameter that names it.
PASSROLE = {
    "RunInstances": "iamInstanceProfile",
    "AssociateIamInstanceProfile": "iamInstanceProfile",
    "ReplaceIamInstanceProfileAssociation": "iamInstanceProfile",
    "RegisterTaskDefinition": "taskRoleArn",
    "CreateStack": "roleARN",
    "CreateProject": "serviceRole",
    "CreateJob": "role",
    "CreateTrainingJob": "roleArn",
    "CreateNotebookInstance": "roleArn",
}

SPEC = FindingSpec(
    id="privilege_escalation",
    title="Permissions widened, code changed or a role passed to compute",
    severity=Severity.HIGH,
    mitre=("TA0004:T1098.003", "TA0004:T1548", "TA0003:T1525"),
    description=(
        "Attaching or editing policies, publishing a new default policy version, changing a Lambda "
        "function's code or invoke permissions, and launching compute with a role are how a limited key "
        "becomes an administrator, or leaves code running with a role after the key is cut off."
    ),
    reference="https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",
    runbook=(
        "Diff each edited policy against its previous version and revert.",
        "For Lambda changes, compare code hashes and remove added permissions.",
        "For compute launched with a role, stop it and cut off that role's sessions too.",
    ),
)


def _passes_role(name: str, params: str | None) -> bool:
    field = PASSROLE.get(name)
    if field is None or not params:
        return False
    try:
        parsed = orjson.loads(params)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and bool(parsed.get(field))


_INLINE_PUTS = frozenset({"PutUserPolicy", "PutRolePolicy", "PutGroupPolicy"})


def _deny_only(name: str, params: str | None) -> bool:
    """An inline policy of Deny statements only (a revocation such as AWSRevokeOlderSessions) widens nothing."""
    if name not in _INLINE_PUTS or not params:
        return False
    try:
        doc = orjson.loads(params).get("policyDocument")
        if isinstance(doc, str):
            doc = orjson.loads(doc)
    except (orjson.JSONDecodeError, AttributeError):
        return False
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return (
        isinstance(statements, list)
        and bool(statements)
        and all(isinstance(st, dict) and st.get("Effect") == "Deny" for st in statements)
    )


def detect(trace: Trace) -> list[Finding]:
    """One finding listing the successful escalation calls made with this credential."""
    calls = slim(trace.calls)
    if calls.empty:
        return []
    names = col(calls, "eventName")
    ok = succeeded(calls)
    policy = names.isin(sorted(POLICY_ACTIONS)).fillna(False)
    lam = names.str.startswith(LAMBDA_PREFIXES).fillna(False)
    params = texts(calls, "requestParameters")
    passrole = [_passes_role(str(n), p) for n, p in zip(names.fillna("").tolist(), params, strict=True)]
    deny = [_deny_only(str(n), p) for n, p in zip(names.fillna("").tolist(), params, strict=True)]
    mask = (((policy | lam) & ok).to_numpy() & ~pd.array(deny, dtype=bool).to_numpy(dtype=bool)) | (
        ok.to_numpy() & passrole
    )
    hits = calls.loc[mask]
    if hits.empty:
        return []
    parts = [f"{n} at {when(t)}" for n, t in zip(col(hits, "eventName"), hits["eventTime"], strict=True)]
    listed = listing(parts)
    summary = f"{trace.key} widened permissions or changed compute: {listed}"
    return [make(SPEC, trace, summary, ids(hits))]
