"""Read-only guardrail review of roles, from plain role descriptions and policy documents.

The pure half of :func:`ircreds.aws.audit` and :func:`ircreds.aws.verify_live`. :func:`review_role`
reads one role as ``iam:ListRoles`` describes it (``RoleName``, ``Path``, ``MaxSessionDuration``,
``AssumeRolePolicyDocument``) and says which revocation guardrails it lacks: sessions longer than an
hour, a trust policy open to any principal, or a whole account trusted with no MFA, external-id or
principal condition (any principal there can mint new sessions after a cut-off).
:class:`LiveCheck` compares IAM's policy simulator with the plan's verdict for one issue time.

Example:
    >>> role = {"RoleName": "OpenRole", "MaxSessionDuration": 3600,
    ...         "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}}]}}
    >>> [(f.code, f.severity) for f in review_role(role, account_id="123456789012").findings]
    [('open-trust', 'critical')]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ircreds.containment import Verdict
from ircreds.containment.actions import policy_document
from ircreds.times import iso_z

if TYPE_CHECKING:
    from ircreds.containment import Plan, Revocation


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFinding:
    """One guardrail gap: what, on which role, and what to do."""

    code: str
    target: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "target": self.target, "severity": self.severity, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """Read-only review of the account's roles against the revocation guardrails."""

    account_id: str
    roles_checked: int
    findings: tuple[AuditFinding, ...] = ()
    assumers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "account_id": self.account_id,
            "roles_checked": self.roles_checked,
            "findings": [f.to_dict() for f in self.findings],
            "assumers": {k: list(v) for k, v in self.assumers.items()},
            "cutoffs": dict(self.cutoffs),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleReview:
    """What :func:`review_role` found on one role: its guardrail gaps and every principal it trusts."""

    findings: tuple[AuditFinding, ...] = ()
    principals: tuple[str, ...] = ()


_RESTRICTING_KEYS = (
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "sts:externalid",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:sourceidentity",
    "aws:principaltag",
    "aws:sourceip",
    "aws:sourcevpc",
)
_CUTOFF_MARKER = '"aws:TokenIssueTime": "'


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    out: list[str] = []
    if isinstance(principal, Mapping):
        for kind, value in principal.items():
            for v in value if isinstance(value, list) else [value]:
                out.append(str(v) if kind == "AWS" else f"{kind}:{v}")
    return out


def _restricted(statement: Mapping[str, Any]) -> bool:
    text = json.dumps(statement.get("Condition") or {}).lower()
    return any(k in text for k in _RESTRICTING_KEYS)


def is_service_linked(role: Mapping[str, Any]) -> bool:
    """True for a service-linked role (path ``/aws-service-role/``), which the audit leaves alone."""
    return str(role.get("Path", "/")).startswith("/aws-service-role/")


def review_role(role: Mapping[str, Any], *, account_id: str) -> RoleReview:
    """The guardrail gaps of one role described as ``iam:ListRoles`` returns it (trust policy as dict or text).

    Args:
        role: ``RoleName``, ``MaxSessionDuration`` (seconds, default 3600) and ``AssumeRolePolicyDocument``.
        account_id: the audited account, to tell "the whole account" from "another account".
    """
    name = role["RoleName"]
    findings: list[AuditFinding] = []
    hours = int(role.get("MaxSessionDuration", 3600)) / 3600
    if hours > 1:
        findings.append(
            AuditFinding(
                code="long-max-session",
                target=name,
                severity="medium",
                message=f"{name} allows {hours:g} h sessions: a leaked session stays valid that long; lower "
                "MaxSessionDuration to what its users need",
            )
        )
    trust = policy_document(role.get("AssumeRolePolicyDocument")) or {}
    principals: list[str] = []
    for stmt in (
        trust.get("Statement", [])
        if isinstance(trust.get("Statement"), list)
        else [trust.get("Statement") or {}]
    ):
        if stmt.get("Effect") != "Allow":
            continue
        found = _principals(stmt)
        principals.extend(found)
        restricted = _restricted(stmt)
        for p in found:
            if p == "*" and not restricted:
                findings.append(
                    AuditFinding(
                        code="open-trust",
                        target=name,
                        severity="critical",
                        message=f"{name}'s trust policy lets any AWS principal assume it without a condition; "
                        "name the principals and add conditions",
                    )
                )
            elif (p.endswith(":root") or p.isdigit()) and not restricted:
                other = p.split(":")[4] if p.count(":") >= 5 else p
                where = "another account" if other != account_id else "the whole account"
                findings.append(
                    AuditFinding(
                        code="account-trust-without-condition",
                        target=name,
                        severity="high" if other != account_id else "medium",
                        message=f"{name} trusts {where} ({other}) with no MFA, external-id or principal condition: "
                        "any principal there with sts:AssumeRole can mint new sessions after a cut-off",
                    )
                )
    return RoleReview(findings=tuple(findings), principals=tuple(principals))


def cutoff_in(policy: Mapping[str, Any] | None) -> str | None:
    """The ``aws:TokenIssueTime`` value of an ``AWSRevokeOlderSessions`` document already in place, if any.

    Example:
        >>> cutoff_in({"Statement": [{"Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"}}}]})
        '2025-01-20T12:00:00Z'
    """
    if not policy:
        return None
    value = json.dumps(policy)
    if _CUTOFF_MARKER not in value:
        return None
    return value.split(_CUTOFF_MARKER, 1)[1].split('"', 1)[0]


def review_account(
    roles: Iterable[Mapping[str, Any]],
    *,
    account_id: str,
    wanted: Iterable[str] | None = None,
    revoke_policy: Callable[[Mapping[str, Any]], Mapping[str, Any] | None],
) -> AuditReport:
    """Review every role of an account; service-linked roles are counted but not reviewed.

    Args:
        roles: role descriptions as ``iam:ListRoles`` returns them (read lazily, one at a time).
        account_id: the audited account.
        wanted: the roles whose assumers and cut-off to report (the compromised ones); all when empty.
        revoke_policy: the role's ``AWSRevokeOlderSessions`` document, or ``None`` (asked for wanted roles only).

    Example:
        >>> r = review_account([{"RoleName": "App", "Arn": "arn:aws:iam::123456789012:role/App"}],
        ...                    account_id="123456789012", revoke_policy=lambda role: None)
        >>> r.roles_checked, r.findings, r.assumers
        (1, (), {'App': ()})
    """
    want = set(wanted or ())
    findings: list[AuditFinding] = []
    assumers: dict[str, tuple[str, ...]] = {}
    cutoffs: dict[str, str] = {}
    count = 0
    for role in roles:
        count += 1
        if is_service_linked(role):
            continue
        name = role["RoleName"]
        review = review_role(role, account_id=account_id)
        findings.extend(review.findings)
        if not want or name in want:
            assumers[name] = review.principals
            cutoff = cutoff_in(revoke_policy(role))
            if cutoff is not None:
                cutoffs[name] = cutoff
    return AuditReport(
        account_id=account_id,
        roles_checked=count,
        findings=tuple(findings),
        assumers=assumers,
        cutoffs=cutoffs,
    )


# ----------------------------------------------------------------------------------- live checks


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCheck:
    """IAM's simulator versus ircreds' evaluator for one issue time on one target."""

    target_arn: str
    issued_at: datetime
    access_key_ids: tuple[str, ...]
    simulator: str
    expected_deny: bool

    @property
    def agrees(self) -> bool:
        """True when IAM's decision matches ircreds' verdict."""
        return (self.simulator == "explicitDeny") == self.expected_deny

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "target_arn": self.target_arn,
            "issued_at": iso_z(self.issued_at),
            "access_key_ids": list(self.access_key_ids),
            "simulator": self.simulator,
            "expected_deny": self.expected_deny,
            "agrees": self.agrees,
        }


def issue_times(rev: Revocation) -> list[tuple[datetime, list[Any]]]:
    """The revocation's sessions grouped by issue time (UTC, whole seconds, as IAM compares), oldest first."""
    by_time: dict[datetime, list[Any]] = {}
    for s in rev.sessions:
        if s.issued_at is not None:
            by_time.setdefault(s.issued_at.astimezone(UTC).replace(microsecond=0), []).append(s)
    return sorted(by_time.items())


def expects_deny(sessions: Iterable[Any]) -> bool:
    """True when the plan says the deny reaches any of these sessions (cut, or expired anyway)."""
    return any(s.verdict in (Verdict.CUT, Verdict.EXPIRED) for s in sessions)


def live_checks(plan: Plan, simulate: Callable[[str, datetime], str]) -> tuple[LiveCheck, ...]:
    """One :class:`LiveCheck` per target and issue time, oldest first, from ``simulate(target_arn, issued_at)``.

    ``simulate`` returns IAM's ``EvalDecision`` (``explicitDeny``, ``allowed``, ``implicitDeny``) for a
    session issued at that second; :func:`ircreds.aws.verify_live` asks the policy simulator.
    """
    checks: list[LiveCheck] = []
    for rev in plan.revocations:
        for issued, sessions in issue_times(rev):
            checks.append(
                LiveCheck(
                    target_arn=rev.arn,
                    issued_at=issued,
                    access_key_ids=tuple(s.access_key_id for s in sessions),
                    simulator=simulate(rev.arn, issued),
                    expected_deny=expects_deny(sessions),
                )
            )
    return tuple(checks)
