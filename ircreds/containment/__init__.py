"""The containment plan for a traced lineage, and the check that the cut-off worked.

:func:`plan` turns a :class:`~ircreds.model.Trace` into revocations (one cut-off deny per role or
IAM user the lineage touched, with the sessions it cuts and spares), warnings, what no session
revocation reaches (``uncovered``), the narrower deny options, and, last, who depends on each role
(what deleting it would break). :func:`verify` reads the logs after the apply and lists the calls
of cut sessions that still succeeded. Pure: no boto3, no clock (``now`` comes in as an argument;
``ircreds.plan``, in :mod:`ircreds.clock`, is this :func:`plan` with ``now`` defaulting to the real clock).

Example::

    events = ircreds.load("data/samples/walkthrough")
    p = ircreds.plan(ircreds.trace(events, key), events=events, now=now)
    p.to_dict()["revocations"][0]["target"]          # 'ExampleRole'
    p.with_cutoff(other_time).warnings                 # cheap: re-partitions the stored sessions

Modules (import the names from here, the package, not from them):

- ``records``: the enums and the records of a plan (:class:`SessionImpact`, :class:`Revocation`,
  :class:`PlanWarning`, :class:`Uncovered`, :class:`RoleDeletion`, :class:`Alternative`) with their
  JSON forms.
- ``cutoff``: :func:`recommend_cutoff` and the per-session verdict, judged at ``now`` and at the cut-off.
- ``plans``: the :class:`Plan` record (``with_cutoff``, ``impact_on_calls``, JSON round trip).
- ``targets``: which role or IAM user a credential's deny goes on.
- ``persistence``: the catalog of what a deny cannot reach, and the lineage's uncovered items.
- ``build``: :func:`plan`.
- ``verification``: :func:`verify` and :class:`VerifyResult`.
- ``scope_plan``: :func:`plan_scope` (one plan for a whole scope, across accounts), the resource-policy
  grants the attacker made with their undo calls, :func:`revocations_by_account`.
"""

from __future__ import annotations

from ircreds.containment.build import plan
from ircreds.containment.cutoff import DEFAULT_MARGIN, recommend_cutoff
from ircreds.containment.plans import Plan
from ircreds.containment.records import (
    Alternative,
    Dependent,
    PlanWarning,
    Revocation,
    RoleDeletion,
    SessionImpact,
    Uncovered,
    UncoveredKind,
    Verdict,
    WarningCode,
)
from ircreds.containment.scope_plan import (
    check_accounts_covered,
    grant_undo,
    plan_scope,
    resource_grants,
    revocations_by_account,
)
from ircreds.containment.targets import ROLE_KINDS, USER_SESSION_KINDS
from ircreds.containment.verification import (
    DEFAULT_ALLOWANCE,
    DENIED_CODES,
    MINTING_CALLS,
    CallOutcome,
    VerifyResult,
    verify,
)

__all__ = [
    "DEFAULT_ALLOWANCE",
    "DEFAULT_MARGIN",
    "DENIED_CODES",
    "MINTING_CALLS",
    "ROLE_KINDS",
    "USER_SESSION_KINDS",
    "Alternative",
    "CallOutcome",
    "Dependent",
    "Plan",
    "PlanWarning",
    "Revocation",
    "RoleDeletion",
    "SessionImpact",
    "Uncovered",
    "UncoveredKind",
    "Verdict",
    "VerifyResult",
    "WarningCode",
    "check_accounts_covered",
    "grant_undo",
    "plan",
    "plan_scope",
    "recommend_cutoff",
    "resource_grants",
    "revocations_by_account",
    "verify",
]
