"""The containment plan's records: sessions and their verdicts, revocations, warnings, uncovered items.

Every record is a frozen dataclass with a ``to_dict`` JSON form (times ISO 8601 UTC with ``Z``) and,
where a plan file needs it back, a ``from_dict`` inverse. The closed sets (:class:`Verdict`,
:class:`WarningCode`, :class:`UncoveredKind`) are string enums whose values are the JSON contract.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from ircreds.containment.policy import POLICY_NAME, PolicyOption, TargetKind
from ircreds.times import iso_z, parse_iso


class Verdict(enum.StrEnum):
    """What the cut-off does to one session, judged when the deny lands (``now``) and at the cut-off.

    A deny put on at ``now`` reaches every session issued before the cut-off that is still valid at
    ``now``, even one that would expire before a later cut-off: it is cut the moment the policy lands.
    Without a ``now`` (a plan built for a bare cut-off) the cut-off itself is the reference.
    """

    CUT = "cut"
    """Issued before the cut-off and still valid when the deny lands: denied from then on."""
    SURVIVES = "survives"
    """Issued in the cut-off second or later: ``DateLessThan`` spares it."""
    EXPIRED = "expired"
    """Issued before the cut-off but already expired at ``now`` (or at the cut-off without a ``now``): a note."""


class WarningCode(enum.StrEnum):
    """Closed set of plan warnings; the first four depend on the cut-off."""

    ATTACKER_SESSION_SURVIVES = "attacker-session-survives"
    CUTOFF_IN_PAST = "cutoff-in-past"
    LEGITIMATE_SESSIONS_CUT = "legitimate-sessions-cut"
    CUTOFF_AFTER_NOW = "cutoff-after-now"
    """The cut-off is later than now (beyond the propagation margin): every session issued until it is denied."""
    STALE_EVIDENCE = "stale-evidence"
    """The evidence ended long before ``now``: every session in it has expired; plan as of the incident."""
    PROPAGATION = "propagation"
    INSTANCE_PROFILE = "instance-profile"
    CANNOT_TAKE_POLICY = "cannot-take-policy"
    POLICY_SIZE = "policy-size"
    LONG_TERM_KEY_SURVIVES = "long-term-key-survives"
    GET_CALLER_IDENTITY = "get-caller-identity"
    EVIDENCE_INCOMPLETE = "evidence-incomplete"
    ISSUE_TIME_UNKNOWN = "issue-time-unknown"


_DYNAMIC = {
    WarningCode.ATTACKER_SESSION_SURVIVES,
    WarningCode.CUTOFF_IN_PAST,
    WarningCode.LEGITIMATE_SESSIONS_CUT,
    WarningCode.CUTOFF_AFTER_NOW,
}


class UncoveredKind(enum.StrEnum):
    """What a session revocation cannot reach (aws-facts §3.3 and §3.10)."""

    ACCESS_KEY = "access-key"
    USER = "user"
    LOGIN_PROFILE = "login-profile"
    ROLE = "role"
    TRUST_POLICY = "trust-policy"
    POLICY = "policy"
    MFA = "mfa"
    FEDERATION = "federation"
    COMPUTE = "compute"
    RESOURCE_POLICY = "resource-policy"
    DEFENCE_EVASION = "defence-evasion"
    SESSION = "session"
    ROOT_SESSION = "root-session"


# ------------------------------------------------------------------------------------------ values


def _s(value: Any) -> str | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value) or None


def _t(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value if isinstance(value, datetime) else None


def _account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] or None if len(parts) > 5 else None


def _session_order(s: SessionImpact) -> tuple[datetime, str]:
    return (s.issued_at or datetime.min.replace(tzinfo=UTC), s.access_key_id)


# --------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionImpact:
    """One session of a revocation target and what the cut-off does to it."""

    access_key_id: str
    kind: str
    principal: str | None = None
    issuer: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    last_activity: datetime | None = None
    suspicious: bool = False
    source_ips: tuple[str, ...] = ()
    principal_id: str | None = None
    source_identity: str | None = None
    verdict: Verdict = Verdict.SURVIVES
    live_at_now: bool | None = None
    """Valid at the plan's ``now`` (issued by then, not expired); ``None`` when the plan has no ``now``."""

    def __post_init__(self) -> None:
        for name in ("issued_at", "expires_at", "last_activity"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (times ISO 8601 UTC with ``Z``)."""
        return {
            "access_key_id": self.access_key_id,
            "kind": self.kind,
            "principal": self.principal,
            "issuer": self.issuer,
            "issued_at": iso_z(self.issued_at),
            "expires_at": iso_z(self.expires_at),
            "last_activity": iso_z(self.last_activity),
            "suspicious": self.suspicious,
            "status": "suspicious" if self.suspicious else "legitimate",
            "source_ips": list(self.source_ips),
            "principal_id": self.principal_id,
            "source_identity": self.source_identity,
            "verdict": str(self.verdict),
            "live_at_now": self.live_at_now,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionImpact:
        """Inverse of :meth:`to_dict`."""
        return cls(
            access_key_id=data["access_key_id"],
            kind=data.get("kind") or "Observed",
            principal=data.get("principal"),
            issuer=data.get("issuer"),
            issued_at=parse_iso(data.get("issued_at"), strict=True),
            expires_at=parse_iso(data.get("expires_at"), strict=True),
            last_activity=parse_iso(data.get("last_activity"), strict=True),
            suspicious=bool(data.get("suspicious")),
            source_ips=tuple(data.get("source_ips") or ()),
            principal_id=data.get("principal_id"),
            source_identity=data.get("source_identity"),
            verdict=Verdict(data.get("verdict") or "survives"),
            live_at_now=data.get("live_at_now"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """One cut-off deny on one role or IAM user, with its impact on every known session of it."""

    target: str
    target_kind: TargetKind
    arn: str
    account_id: str | None
    policy_name: str
    policy: dict[str, Any]
    sessions: tuple[SessionImpact, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def cuts(self) -> tuple[SessionImpact, ...]:
        """Sessions the deny cuts (issued before the cut-off, still valid when it lands)."""
        return tuple(s for s in self.sessions if s.verdict is Verdict.CUT)

    @property
    def survives(self) -> tuple[SessionImpact, ...]:
        """Sessions issued in the cut-off second or later."""
        return tuple(s for s in self.sessions if s.verdict is Verdict.SURVIVES)

    @property
    def expired(self) -> tuple[SessionImpact, ...]:
        """Sessions issued before the cut-off that have expired by now anyway (a note, nothing to cut)."""
        return tuple(s for s in self.sessions if s.verdict is Verdict.EXPIRED)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: target, arn, policy_name, policy, cuts, survives (+ expired, notes)."""
        return {
            "target": self.target,
            "target_kind": str(self.target_kind),
            "arn": self.arn,
            "account_id": self.account_id,
            "policy_name": self.policy_name,
            "policy": self.policy,
            "cuts": [s.to_dict() for s in self.cuts],
            "survives": [s.to_dict() for s in self.survives],
            "expired": [s.to_dict() for s in self.expired],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Revocation:
        """Inverse of :meth:`to_dict`."""
        sessions = [
            SessionImpact.from_dict(item)
            for part in ("cuts", "survives", "expired")
            for item in data.get(part) or ()
        ]
        return cls(
            target=data["target"],
            target_kind=TargetKind(data.get("target_kind") or "role"),
            arn=data["arn"],
            account_id=data.get("account_id") or _account_of(data["arn"]),
            policy_name=data.get("policy_name") or POLICY_NAME,
            policy=dict(data["policy"]),
            sessions=tuple(sorted(sessions, key=_session_order)),
            notes=tuple(data.get("notes") or ()),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanWarning:
    """Something the analyst must know before applying; ``message`` reads on its own."""

    code: WarningCode
    message: str
    target: str | None = None
    access_key_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": str(self.code),
            "message": self.message,
            "target": self.target,
            "access_key_id": self.access_key_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanWarning:
        """Inverse of :meth:`to_dict`."""
        return cls(
            code=WarningCode(data["code"]),
            message=data["message"],
            target=data.get("target"),
            access_key_id=data.get("access_key_id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Uncovered:
    """Something no session revocation reaches, with the action it needs."""

    kind: UncoveredKind
    target: str
    action: str
    event_ids: tuple[str, ...] = ()
    access_key_id: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": str(self.kind),
            "target": self.target,
            "action": self.action,
            "event_ids": list(self.event_ids),
            "access_key_id": self.access_key_id,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Uncovered:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind=UncoveredKind(data["kind"]),
            target=data["target"],
            action=data["action"],
            event_ids=tuple(data.get("event_ids") or ()),
            access_key_id=data.get("access_key_id"),
            detail=data.get("detail"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependent:
    """Who assumed a role in the evidence: what deleting the role would break."""

    principal: str
    kinds: tuple[str, ...]
    sessions: int
    last_issued: datetime | None = None
    suspicious: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "principal": self.principal,
            "kinds": list(self.kinds),
            "sessions": self.sessions,
            "last_issued": iso_z(self.last_issued),
            "suspicious": self.suspicious,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleDeletion:
    """The last resort, deleting a role, and who depends on it."""

    role_arn: str
    dependents: tuple[Dependent, ...]
    note: str = (
        "deleting the role breaks every workload and trust grant that uses it; policies store its unique id, "
        "so recreating it does not restore them; export the role, its policies and trust policy first"
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "role_arn": self.role_arn,
            "dependents": [d.to_dict() for d in self.dependents],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Alternative:
    """Narrower denies for one suspicious session, offered beside the whole-role cut-off."""

    access_key_id: str
    target_arn: str
    options: tuple[PolicyOption, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "access_key_id": self.access_key_id,
            "target_arn": self.target_arn,
            "options": [o.to_dict() for o in self.options],
        }
