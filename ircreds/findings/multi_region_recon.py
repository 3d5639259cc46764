"""Read-only sweeps across many regions: reconnaissance (aws-facts §5.3)."""

from __future__ import annotations

from ircreds.findings._util import col, ids, make, slim, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

# Discovery calls in at least this many regions make a sweep.
MIN_REGIONS = 4
_PREFIXES = ("List", "Describe", "Get")

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
    mask = names.str.startswith(_PREFIXES).fillna(False).to_numpy()
    recon = calls.loc[mask]
    where = ""
    if trace.summary.new_source_ips:
        # Prefer the sweep from addresses the issuer never used: the owner's own calls are not recon.
        new = recon.loc[col(recon, "sourceIPAddress").isin(list(trace.summary.new_source_ips)).fillna(False)]
        if col(new, "awsRegion").nunique() >= MIN_REGIONS:
            recon = new
            where = f" from {', '.join(sorted(col(new, 'sourceIPAddress').dropna().unique()))}"
    regions = sorted(col(recon, "awsRegion").dropna().unique())
    if len(regions) < MIN_REGIONS:
        return []
    summary = (
        f"{trace.key} made {len(recon)} discovery calls{where} in {len(regions)} regions ({', '.join(regions)}) between "
        f"{when(recon['eventTime'].min())} and {when(recon['eventTime'].max())}"
    )
    return [make(SPEC, trace, summary, ids(recon))]
