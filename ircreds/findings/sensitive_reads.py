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
    if len(secret):
        counts = col(secret, "eventName").value_counts()
        what = ", ".join(f"{a}×{c}" for a, c in counts.items())
        targets = _targets(secret, "secretId")
        named = f" on {', '.join(targets[:5])}" + (" …" if len(targets) > 5 else "") if targets else ""
        summary = (
            f"{trace.key} read secrets or decrypted data ({what}){named} between "
            f"{when(secret['eventTime'].min())} and {when(secret['eventTime'].max())}"
        )
        found.append(make(SPEC, trace, summary, ids(secret)))
    objects = calls.loc[(names.isin(sorted(OBJECT_READS)).fillna(False) & ok).to_numpy()]
    from_new = objects.loc[
        col(objects, "sourceIPAddress").isin(list(trace.summary.new_source_ips)).fillna(False)
    ]
    if len(objects) >= OBJECT_SPREE or len(from_new):
        # A spree anywhere, or any object read from an IP the issuer never used.
        shown = objects if len(objects) >= OBJECT_SPREE else from_new
        buckets = _targets(shown, "bucketName")
        where = (
            ""
            if shown is objects
            else f" from {', '.join(sorted(col(shown, 'sourceIPAddress').dropna().unique()))}"
        )
        summary = (
            f"{trace.key} read {len(shown)} S3 objects in {', '.join(buckets[:5]) or 'unnamed buckets'}{where} "
            f"between {when(shown['eventTime'].min())} and {when(shown['eventTime'].max())}"
        )
        found.append(make(SPEC, trace, summary, ids(shown)))
    return found
