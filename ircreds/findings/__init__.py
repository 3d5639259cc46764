"""Findings: small pure detectors over one traced credential, modelled on panther-analysis rules.

Each module ``ircreds/findings/<id>.py`` defines ``SPEC`` (a ``FindingSpec``: id, title,
severity, MITRE technique, why it matters, reference, runbook) and a pure
``detect(trace) -> list[Finding]`` that looks at one node of the lineage (its calls, its
summary, the evidence's coverage). Register a new one with one line in ``FINDINGS``.

Example:
    >>> [spec.id for spec in specs()][:2]
    ['new_source_ip', 'new_user_agent']
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import TYPE_CHECKING

from ircreds.findings._util import is_public_ip

if TYPE_CHECKING:
    import pandas as pd

    from ircreds.model import Finding, FindingSpec, Trace

__all__ = ["FINDINGS", "is_public_ip", "run_findings", "spec", "specs", "trace"]

log = logging.getLogger(__name__)

# One line per finding module, in report order.
FINDINGS: tuple[str, ...] = (
    "new_source_ip",
    "new_user_agent",
    "caller_identity_probe",
    "access_denied_burst",
    "multi_region_recon",
    "sensitive_reads",
    "iam_persistence",
    "privilege_escalation",
    "defense_evasion",
    "instance_credential_exfiltration",
    "coverage_gaps",
)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"ircreds.findings.{name}")


def specs() -> list[FindingSpec]:
    """Every registered finding's metadata, in report order."""
    return [_module(name).SPEC for name in FINDINGS]


def spec(finding_id: str) -> FindingSpec:
    """The metadata of one finding by id.

    Raises:
        KeyError: no finding has that id (the message lists the ids).
    """
    if finding_id not in FINDINGS:
        raise KeyError(f"no finding {finding_id!r}; known: {', '.join(FINDINGS)}")
    return _module(finding_id).SPEC


def run_findings(trace: Trace) -> list[Finding]:
    """Run every registered finding on one node of a trace (not its children), most severe first."""
    view = _prepared(trace)
    found: list[Finding] = []
    for name in FINDINGS:
        found.extend(_module(name).detect(view))
    found.sort(key=lambda f: -f.severity.rank)
    return found


def _prepared(trace: Trace) -> Trace:
    """The node with only the columns detectors read, categoricals turned to strings once."""
    from dataclasses import replace

    import pandas as pd

    from ircreds.findings._util import slim

    calls = slim(trace.calls)
    strings = {
        name: calls[name].astype("string")
        for name in calls.columns
        if isinstance(calls[name].dtype, pd.CategoricalDtype)
    }
    if strings:
        calls = calls.assign(**strings)
    return replace(trace, calls=calls)


def trace(
    events: pd.DataFrame,
    key: str | None = None,
    *,
    role_arn: str | None = None,
    session_name: str | None = None,
    findings: bool = True,
) -> Trace:
    """Trace a credential by key (``ASIA…``/``AKIA…``) or by role ARN and session name (``ircreds.trace``).

    The lineage of :func:`ircreds.tracer.trace` (issuer up to the root, every call, every
    credential spawned), with the registered findings run on every node.

    Args:
        events: the events frame of ``ircreds.load``.
        key: the leaked access key id.
        role_arn: with ``session_name``, the session to trace when the key is not known.
        session_name: the role session name (with ``role_arn``).
        findings: run the findings on every node (default True).

    Raises:
        SessionNotFoundError: the credential is not in the evidence; the message says what the
            evidence covers and what to load next.
        ValueError: neither a key nor a role ARN and session name were given.

    Example:
        >>> import pandas as pd
        >>> empty = pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})
        >>> try:
        ...     trace(empty, "ASIAIOSFODNN7EXAMPLE")
        ... except LookupError as err:
        ...     print(type(err).__name__)
        SessionNotFoundError
    """
    from ircreds import tracer

    return tracer.trace(
        events,
        key,
        role_arn=role_arn,
        session_name=session_name,
        detectors=run_findings if findings else None,
    )
