"""Bursts of AccessDenied: permission enumeration with the credential (aws-facts §5.3)."""

from __future__ import annotations

import pandas as pd

from ircreds.findings._util import col, denied, ids, make, slim, when
from ircreds.model import Finding, FindingSpec, Severity, Trace

# At least this many denied calls within WINDOW make a burst.
THRESHOLD = 5
WINDOW = pd.Timedelta(minutes=10)

SPEC = FindingSpec(
    id="access_denied_burst",
    title="Burst of AccessDenied errors (permission enumeration)",
    severity=Severity.MEDIUM,
    mitre=("TA0007:T1580", "TA0007:T1069.003"),
    description=(
        "A workload knows what it may do; an intruder has to find out. Many refused calls in a few minutes, "
        "across services, is what enumeration tools (Pacu, enumerate-iam) leave behind."
    ),
    reference="https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-iam.html",
    runbook=(
        "List the denied actions: they show what the intruder was looking for.",
        "Check which calls in the same minutes succeeded: that is what they found.",
        "Denials after a cut-off are the deny working; look at the ones before it.",
    ),
)


def detect(trace: Trace) -> list[Finding]:
    """One finding per window of at least THRESHOLD denied calls within WINDOW."""
    calls = slim(trace.calls)
    if calls.empty:
        return []
    bad = calls.loc[denied(calls).to_numpy()]
    if len(bad) < THRESHOLD:
        return []
    times = bad["eventTime"].reset_index(drop=True)
    found = []
    start = 0
    n = len(times)
    while start < n:
        end = start
        while end + 1 < n and times[end + 1] - times[start] <= WINDOW:
            end += 1
        if end - start + 1 >= THRESHOLD:
            # extend the burst while calls keep coming within WINDOW of the previous one
            while end + 1 < n and times[end + 1] - times[end] <= WINDOW:
                end += 1
            burst = bad.iloc[start : end + 1]
            actions = col(burst, "eventName").value_counts()
            services = col(burst, "eventSource").nunique()
            top = ", ".join(f"{a}×{c}" for a, c in actions.head(5).items())
            ips = ", ".join(sorted(col(burst, "sourceIPAddress").dropna().unique()))
            summary = (
                f"{len(burst)} calls with {trace.key} were denied between {when(times[start])} and "
                f"{when(times[end])} across {services} service(s) from {ips or 'unknown IPs'} ({top})"
            )
            found.append(make(SPEC, trace, summary, ids(burst)))
            start = end + 1
        else:
            start += 1
    return found
