"""Persistence: new IAM users, access keys, login profiles, roles, trust and federation changes (§3.10)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, listing, make, slim, successful_calls_named, texts, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

ACTIONS = frozenset(
    {
        "CreateUser",
        "CreateAccessKey",
        "UpdateAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "AddUserToGroup",
        "CreateSAMLProvider",
        "UpdateSAMLProvider",
        "CreateOpenIDConnectProvider",
        "CreateVirtualMFADevice",
        "DeactivateMFADevice",
        "GetFederationToken",
        "GetSigninToken",
    }
)

SPEC = FindingSpec(
    id="iam_persistence",
    title="New IAM principals, keys, passwords or trust",
    severity=Severity.CRITICAL,
    mitre=("TA0003:T1136.003", "TA0003:T1098.001"),
    description=(
        "A session cut-off stops only the sessions it names. Users, access keys, console passwords, roles, "
        "backdoored trust policies and federation providers created with the key outlive it, and long-term "
        "keys are untouched by any aws:TokenIssueTime deny."
    ),
    reference="https://github.com/aws-samples/aws-incident-response-playbooks/blob/master/playbooks/IRP-STSTokenAbuse.md",
    runbook=(
        "List every principal and key created or changed (the request parameters name them).",
        "Deactivate and delete minted access keys; delete login profiles; restore trust policies.",
        "Trace each minted key too: it is a child of this credential in the lineage.",
    ),
)


def _target(text: str | None) -> str:
    import orjson

    if not text:
        return ""
    try:
        params = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(params, dict):
        return ""
    for name in ("userName", "roleName", "groupName", "name", "serialNumber", "accessKeyId"):
        if isinstance(params.get(name), str):
            return f" {name}={params[name]}"
    return ""


def detect(trace: Trace) -> list[Finding]:
    """One finding listing the successful persistence calls made with this credential."""
    hits = successful_calls_named(slim(trace.calls), ACTIONS)
    if hits.empty:
        return []
    parts = [
        f"{n}{_target(p)} at {when(t)}"
        for n, p, t in zip(
            col(hits, "eventName"), texts(hits, "requestParameters"), hits["eventTime"], strict=True
        )
    ]
    listed = listing(parts)
    summary = f"{trace.key} created or changed IAM access that outlives a session cut-off: {listed}"
    return [make(SPEC, trace, summary, ids(hits))]
