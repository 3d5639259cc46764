"""Read-only sweeps across many regions: reconnaissance (aws-facts §5.3)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, make, slim, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

# Discovery calls in at least this many regions make a sweep.
MIN_REGIONS = 4
_PREFIXES = ("List", "Describe", "Get")
# Global services log in us-east-1 (or their home region) whatever the caller meant: not a region swept.
GLOBAL_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "organizations.amazonaws.com",
        "route53.amazonaws.com",
        "route53domains.amazonaws.com",
        "cloudfront.amazonaws.com",
        "waf.amazonaws.com",
        "support.amazonaws.com",
        "health.amazonaws.com",
        "budgets.amazonaws.com",
        "account.amazonaws.com",
        "ce.amazonaws.com",
        "globalaccelerator.amazonaws.com",
        "shield.amazonaws.com",
        "signin.amazonaws.com",
    }
)
# ListBuckets answers for every region from any endpoint.
GLOBAL_CALLS = frozenset({"ListBuckets", "GetCallerIdentity"})

SPEC = FindingSpec(
    id="multi_region_recon",
    title="Discovery calls across many regions",
    severity=Severity.MEDIUM,
    mitre=("TA0007:T1580",),
    description=(
        "Workloads live in one or two regions. List/Describe/Get sweeps over many regions are an intruder "
        "mapping the account, often before launching resources where nobody looks."
    ),
    reference="https://attack.mitre.org/techniques/T1580/",
    runbook=(
        "Note the regions swept and whether the account uses them at all.",
        "Check those regions for resources created later (instances, functions, keys).",
        "Consider an SCP that denies unused regions.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """A finding when discovery calls with this key touch MIN_REGIONS regions or more."""
    calls = slim(trace.calls)
    if calls.empty or len(trace.summary.regions) < MIN_REGIONS:
        return []
    names = col(calls, "eventName")
    regional = ~(
        col(calls, "eventSource").isin(sorted(GLOBAL_SOURCES)).fillna(False)
        | names.isin(sorted(GLOBAL_CALLS)).fillna(False)
    )
    mask = (names.str.startswith(_PREFIXES).fillna(False) & regional).to_numpy(dtype=bool)
    recon = calls.loc[mask]
    where = ""
    severity = Severity.LOW  # the owner's own multi-region work, unless it came from a new address
    if trace.summary.new_source_ips:
        # Prefer the sweep from addresses the issuer never used: the owner's own calls are not recon.
        new = recon.loc[col(recon, "sourceIPAddress").isin(list(trace.summary.new_source_ips)).fillna(False)]
        if col(new, "awsRegion").nunique() >= MIN_REGIONS:
            recon = new
            where = f" from {', '.join(sorted(col(new, 'sourceIPAddress').dropna().unique()))}"
            severity = SPEC.severity
    regions = sorted(col(recon, "awsRegion").dropna().unique())
    if len(regions) < MIN_REGIONS:
        return []
    summary = (
        f"{trace.key} made {len(recon)} regional discovery calls{where} in {len(regions)} regions "
        f"({', '.join(regions)}; global services such as IAM and STS not counted) between "
        f"{when(recon['eventTime'].min())} and {when(recon['eventTime'].max())}"
    )
    return [make(SPEC, trace, summary, ids(recon), severity=severity)]
