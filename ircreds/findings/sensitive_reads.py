"""Bulk or sensitive reads: secrets, decryption, password data, S3 object sprees (aws-facts §3.10)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, make, slim, succeeded, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

SECRET_READS = frozenset(
    {
        "GetSecretValue",
        "BatchGetSecretValue",
        "GetParameter",
        "GetParameters",
        "GetParametersByPath",
        "Decrypt",
        "GetPasswordData",
    }
)
# At least this many object reads make a spree.
OBJECT_SPREE = 20
OBJECT_READS = frozenset({"GetObject", "CopyObject", "SelectObjectContent"})

SPEC = FindingSpec(
    id="sensitive_reads",
    title="Secrets read or objects read in bulk",
    severity=Severity.HIGH,
    mitre=("TA0006:T1555.006", "TA0009:T1530"),
    description=(
        "What was read cannot be un-read: secrets, SSM parameters, KMS decryptions, Windows password data "
        "and bulk S3 reads are data already taken, whatever the containment. They decide who must rotate "
        "what and whether the incident is a breach."
    ),
    reference="https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html",
    runbook=(
        "List the secrets, parameters, keys and buckets named in the requests.",
        "Rotate every secret read and every credential it contains.",
        "For S3, count objects and bytes per bucket; remember GetObject is only logged with data events.",
    ),
)


def _targets(calls, field: str) -> list[str]:
    import orjson

    names: dict[str, None] = {}
    for text in col(calls, "requestParameters").dropna().tolist():
        try:
            params = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(params, dict):
            continue
        for name in (field, "secretId", "name", "bucketName", "keyId", "instanceId"):
            value = params.get(name)
            if isinstance(value, str):
                names.setdefault(value, None)
                break
        for v in params.get("names", []) if isinstance(params.get("names"), list) else []:
            names.setdefault(str(v), None)
    return list(names)


def detect(trace: Trace) -> list[Finding]:
    """A finding for successful secret/decrypt reads, and one for an object-read spree."""
    calls = slim(trace.calls)
    if calls.empty:
        return []
    names = col(calls, "eventName")
    if not names.isin(sorted(SECRET_READS | OBJECT_READS)).any():
        return []
    ok = succeeded(calls)
    found = []
    secret = calls.loc[(names.isin(sorted(SECRET_READS)).fillna(False) & ok).to_numpy()]
    new_ips = list(trace.summary.new_source_ips)
    # How unusual: reads from an address the owner never used are data taken (high); the same reads from
    # the owner's usual places are the workload's routine (a service decrypting its data key): low.
    unusual = col(secret, "sourceIPAddress").isin(new_ips).fillna(False).to_numpy(dtype=bool)
    for part, severity in ((secret.loc[unusual], SPEC.severity), (secret.loc[~unusual], Severity.LOW)):
        if not len(part):
            continue
        counts = col(part, "eventName").value_counts()
        what = ", ".join(f"{a}×{c}" for a, c in counts.items())
        targets = _targets(part, "secretId")
        named = f" on {', '.join(targets[:5])}" + (" …" if len(targets) > 5 else "") if targets else ""
        where = (
            f" from {', '.join(sorted(col(part, 'sourceIPAddress').dropna().unique()))}"
            if severity is SPEC.severity
            else " from its usual addresses"
        )
        summary = (
            f"{trace.key} read secrets or decrypted data ({what}){named}{where} between "
            f"{when(part['eventTime'].min())} and {when(part['eventTime'].max())}"
        )
        found.append(make(SPEC, trace, summary, ids(part), severity=severity))
    objects = calls.loc[(names.isin(sorted(OBJECT_READS)).fillna(False) & ok).to_numpy()]
    from_new = objects.loc[
        col(objects, "sourceIPAddress").isin(list(trace.summary.new_source_ips)).fillna(False)
    ]
    if len(objects) >= OBJECT_SPREE or len(from_new):
        # Objects read from an address the issuer never used (high), else a spree from its usual ones (low).
        shown = from_new if len(from_new) else objects
        buckets = _targets(shown, "bucketName")
        where = (
            f" from {', '.join(sorted(col(shown, 'sourceIPAddress').dropna().unique()))}"
            if len(from_new)
            else " from its usual addresses"
        )
        summary = (
            f"{trace.key} read {len(shown)} S3 objects in {', '.join(buckets[:5]) or 'unnamed buckets'}{where} "
            f"between {when(shown['eventTime'].min())} and {when(shown['eventTime'].max())}"
        )
        severity = SPEC.severity if len(from_new) else Severity.LOW
        found.append(make(SPEC, trace, summary, ids(shown), severity=severity))
    return found
