"""The containment plan for a traced lineage, and the check that the cut-off worked.

:func:`plan` turns a :class:`~ircreds.model.Trace` into revocations (one cut-off deny per role or
IAM user the lineage touched, with the sessions it cuts and spares), warnings, what no session
revocation reaches (``uncovered``), the narrower deny options, and, last, who depends on each role
(what deleting it would break). :func:`verify` reads the logs after the apply and lists the calls
of cut sessions that still succeeded. Pure: no boto3, no clock (``now`` comes in as an argument).

Example::

    events = ircreds.load("data/samples/walkthrough")
    p = ircreds.plan(ircreds.trace(events, key), events=events, now=now)
    p.to_dict()["revocations"][0]["target"]          # 'ExampleRole'
    p.with_cutoff(other_time).warnings                 # cheap: re-partitions the stored sessions
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.errors import PlanError
from ircreds.evaluate import compile_policy, is_temporary_key, session_context
from ircreds.policy import (
    POLICY_NAME,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    PolicyOption,
    TargetKind,
    cutoff_policy,
    narrower_options,
    normalize_cutoff,
    policy_size,
)

log = logging.getLogger(__name__)

DEFAULT_MARGIN = timedelta(seconds=30)
"""Added to the recommended cut-off, like the console's ~30 s, to absorb IAM propagation."""

DEFAULT_ALLOWANCE = timedelta(minutes=5)
"""How long after the apply a cut session's call may still succeed before :func:`verify` flags it."""

ROLE_KINDS = frozenset(
    {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "SwitchRole", "Service"}
)
USER_SESSION_KINDS = frozenset({"GetSessionToken", "GetFederationToken", "ConsoleLogin"})
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "Client.UnauthorizedOperation",
    }
)


class Verdict(enum.StrEnum):
    """What the cut-off does to one session."""

    CUT = "cut"
    SURVIVES = "survives"
    EXPIRED = "expired"
    """Issued before the cut-off but expired by then anyway: the deny changes nothing for it."""


class WarningCode(enum.StrEnum):
    """Closed set of plan warnings; the first three depend on the cut-off."""

    ATTACKER_SESSION_SURVIVES = "attacker-session-survives"
    CUTOFF_IN_PAST = "cutoff-in-past"
    LEGITIMATE_SESSIONS_CUT = "legitimate-sessions-cut"
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


# --------------------------------------------------------------------------------------- records


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


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
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "last_activity": _iso(self.last_activity),
            "suspicious": self.suspicious,
            "status": "suspicious" if self.suspicious else "legitimate",
            "source_ips": list(self.source_ips),
            "principal_id": self.principal_id,
            "source_identity": self.source_identity,
            "verdict": str(self.verdict),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionImpact:
        """Inverse of :meth:`to_dict`."""
        return cls(
            access_key_id=data["access_key_id"],
            kind=data.get("kind") or "Observed",
            principal=data.get("principal"),
            issuer=data.get("issuer"),
            issued_at=_parse_time(data.get("issued_at")),
            expires_at=_parse_time(data.get("expires_at")),
            last_activity=_parse_time(data.get("last_activity")),
            suspicious=bool(data.get("suspicious")),
            source_ips=tuple(data.get("source_ips") or ()),
            principal_id=data.get("principal_id"),
            source_identity=data.get("source_identity"),
            verdict=Verdict(data.get("verdict") or "survives"),
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
        """Sessions the deny cuts (issued before the cut-off, still valid at it)."""
        return tuple(s for s in self.sessions if s.verdict is Verdict.CUT)

    @property
    def survives(self) -> tuple[SessionImpact, ...]:
        """Sessions issued in the cut-off second or later."""
        return tuple(s for s in self.sessions if s.verdict is Verdict.SURVIVES)

    @property
    def expired(self) -> tuple[SessionImpact, ...]:
        """Sessions issued before the cut-off that expire before it anyway."""
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
            "last_issued": _iso(self.last_issued),
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The containment plan: revocations, warnings, uncovered items, alternatives, deletion impact."""

    key: str
    account_id: str | None
    cutoff: datetime | None
    recommended_cutoff: datetime | None = None
    now: datetime | None = None
    margin: timedelta = DEFAULT_MARGIN
    revocations: tuple[Revocation, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    uncovered: tuple[Uncovered, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    deletion: tuple[RoleDeletion, ...] = ()

    def __post_init__(self) -> None:
        for name in ("cutoff", "recommended_cutoff", "now"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def revocation(self, target: str) -> Revocation:
        """The revocation for a role/user name or ARN."""
        for rev in self.revocations:
            if target in (rev.target, rev.arn):
                return rev
        raise KeyError(
            f"no revocation for {target!r}; targets: {', '.join(r.target for r in self.revocations)}"
        )

    def cut_keys(self) -> tuple[str, ...]:
        """Access key ids of every session the plan cuts."""
        return tuple(s.access_key_id for r in self.revocations for s in r.cuts)

    def with_cutoff(self, cutoff: datetime) -> Plan:
        """The same plan at another cut-off: re-evaluates every stored session (cheap, no evidence needed)."""
        cutoff = normalize_cutoff(cutoff)
        revocations = tuple(_evaluate_revocation(r, cutoff) for r in self.revocations)
        static = tuple(w for w in self.warnings if w.code not in _DYNAMIC)
        warnings = _dynamic_warnings(revocations, cutoff, self.now) + static
        return replace(self, cutoff=cutoff, revocations=revocations, warnings=warnings)

    def impact_on_calls(self, events: pd.DataFrame, applied_at: datetime | None = None) -> pd.DataFrame:
        """Every logged call by a session of a planned target, and whether its deny blocks it.

        One row per call (``eventID``, ``eventTime``, ``eventName``, ``access_key_id``, ``target``,
        ``suspicious``, ``denied``); with ``applied_at``, calls before it are not denied (the deny was
        not in place yet). ``GetCallerIdentity`` is never denied.
        """
        from ircreds.evaluate import denied_calls

        columns = ["eventID", "eventTime", "eventName", "access_key_id", "target", "suspicious", "denied"]
        frames = []
        issuer = "userIdentity.sessionContext.sessionIssuer.arn"
        suspicious = {s.access_key_id for r in self.revocations for s in r.sessions if s.suspicious}
        issued = {s.access_key_id: s.issued_at for r in self.revocations for s in r.sessions if s.issued_at}
        for rev in self.revocations:
            if not rev.policy or not len(events):
                continue
            mask = pd.Series(False, index=events.index)
            for col in (issuer, "userIdentity.arn") if rev.target_kind is TargetKind.USER else (issuer,):
                if col in events.columns:
                    mask |= (events[col].astype("string") == rev.arn).fillna(False)
            calls = events[mask.to_numpy(dtype=bool)]
            if not len(calls):
                continue
            keys = calls["userIdentity.accessKeyId"].astype("string")
            frames.append(
                pd.DataFrame(
                    {
                        "eventID": calls["eventID"].astype("string"),
                        "eventTime": calls["eventTime"],
                        "eventName": calls["eventName"].astype("string"),
                        "access_key_id": keys,
                        "target": rev.target,
                        "suspicious": keys.isin(suspicious).fillna(False).astype(bool),
                        "denied": denied_calls(rev.policy, calls, issued_at=issued, after=applied_at),
                    }
                )
            )
        if not frames:
            return pd.DataFrame({c: [] for c in columns})
        return pd.concat(frames).sort_values("eventTime", kind="stable", ignore_index=True)[columns]

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: ``{"cutoff", "revocations", "warnings", "uncovered", ...}``."""
        return {
            "key": self.key,
            "account_id": self.account_id,
            "cutoff": _iso(self.cutoff),
            "recommended_cutoff": _iso(self.recommended_cutoff),
            "now": _iso(self.now),
            "margin_seconds": int(self.margin.total_seconds()),
            "revocations": [r.to_dict() for r in self.revocations],
            "warnings": [w.to_dict() for w in self.warnings],
            "uncovered": [u.to_dict() for u in self.uncovered],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "deletion": [d.to_dict() for d in self.deletion],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Read a plan back from :meth:`to_dict` (what ``ircreds apply PLAN.json`` does).

        Only what apply, verify and :meth:`with_cutoff` need is rebuilt; alternatives and the
        deletion section are informational and stay out.
        """
        try:
            revocations = tuple(Revocation.from_dict(r) for r in data.get("revocations") or ())
            return cls(
                key=data.get("key") or "",
                account_id=data.get("account_id"),
                cutoff=_parse_time(data.get("cutoff")),
                recommended_cutoff=_parse_time(data.get("recommended_cutoff")),
                now=_parse_time(data.get("now")),
                margin=timedelta(seconds=int(data.get("margin_seconds", DEFAULT_MARGIN.total_seconds()))),
                revocations=revocations,
                warnings=tuple(PlanWarning.from_dict(w) for w in data.get("warnings") or ()),
                uncovered=tuple(Uncovered.from_dict(u) for u in data.get("uncovered") or ()),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PlanError(
                f"not an ircreds plan ({type(err).__name__}: {err}); write one with `ircreds plan --out`"
            ) from None


# ------------------------------------------------------------------------------------ evaluation


def _session_order(s: SessionImpact) -> tuple[datetime, str]:
    return (s.issued_at or datetime.min.replace(tzinfo=UTC), s.access_key_id)


def _verdict(compiled: Any, s: SessionImpact, cutoff: datetime) -> Verdict:
    ctx = session_context({"access_key_id": s.access_key_id, "kind": s.kind, "issued_at": s.issued_at})
    if not compiled.denies(ctx):
        return Verdict.SURVIVES
    if s.expires_at is not None and s.expires_at <= cutoff:
        return Verdict.EXPIRED
    return Verdict.CUT


def _evaluate_revocation(rev: Revocation, cutoff: datetime) -> Revocation:
    policy = cutoff_policy(cutoff)
    compiled = compile_policy(policy)
    sessions = tuple(replace(s, verdict=_verdict(compiled, s, cutoff)) for s in rev.sessions)
    return replace(rev, policy=policy, sessions=sessions)


def _dynamic_warnings(
    revocations: Iterable[Revocation], cutoff: datetime, now: datetime | None
) -> tuple[PlanWarning, ...]:
    out: list[PlanWarning] = []
    for rev in revocations:
        for s in rev.survives:
            if s.suspicious:
                out.append(
                    PlanWarning(
                        code=WarningCode.ATTACKER_SESSION_SURVIVES,
                        target=rev.arn,
                        access_key_id=s.access_key_id,
                        message=(
                            f"the cut-off {_iso(cutoff)} is not after attacker session {s.access_key_id} on "
                            f"{rev.target} (issued {_iso(s.issued_at)}): DateLessThan spares it; "
                            "move the cut-off after its issue time"
                        ),
                    )
                )
        legit = [s for s in rev.cuts if not s.suspicious]
        if legit:
            names = ", ".join(sorted({s.principal or s.access_key_id for s in legit}))
            out.append(
                PlanWarning(
                    code=WarningCode.LEGITIMATE_SESSIONS_CUT,
                    target=rev.arn,
                    message=(
                        f"the cut-off also cuts {len(legit)} legitimate session(s) of {rev.target} ({names}); "
                        "they must obtain new credentials (AWS CLI users: clear ~/.aws/cli/cache)"
                    ),
                )
            )
    if now is not None and cutoff < now:
        out.append(
            PlanWarning(
                code=WarningCode.CUTOFF_IN_PAST,
                message=(
                    f"the cut-off {_iso(cutoff)} is before now ({_iso(now)}): any session issued in between, "
                    "an attacker's re-assumption included, survives; prefer a cut-off after now"
                ),
            )
        )
    return tuple(out)


# -------------------------------------------------------------------------------- building a plan


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


def _name_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _is_root(arn: str | None) -> bool:
    return bool(arn) and str(arn).endswith(":root")


def _cannot_take_policy(role_arn: str) -> str | None:
    resource = role_arn.split(":", 5)[-1]
    if resource.startswith("role/aws-service-role/"):
        return "a service-linked role: its policies cannot be edited; contain through the calling service or resource policies"
    if resource.startswith("role/aws-reserved/sso.amazonaws.com/") or _name_of(role_arn).startswith(
        "AWSReservedSSO_"
    ):
        return (
            "an IAM Identity Center role: it cannot be edited in IAM; deny in the permission set (or an SCP) "
            "keyed on identitystore:userId, and remove the user's assignments"
        )
    return None


@dataclass(slots=True)
class _Target:
    kind: TargetKind
    arn: str
    lineage_keys: list[str] = field(default_factory=list)


def _target_of(cred: Mapping[str, Any]) -> tuple[TargetKind, str] | None:
    kind = _s(cred.get("kind")) or ""
    key = _s(cred.get("access_key_id"))
    role_arn = _s(cred.get("role_arn"))
    if not is_temporary_key(key) and kind not in ROLE_KINDS | USER_SESSION_KINDS:
        return None
    if role_arn and (kind in ROLE_KINDS or kind == "Observed"):
        return TargetKind.ROLE, role_arn
    if kind == "GetFederationToken":
        user = _s(cred.get("issuer_arn"))
    elif kind in ("GetSessionToken", "ConsoleLogin") or kind == "Observed":
        user = _s(cred.get("principal_arn"))
    else:
        user = None
    if user and ":user/" in user:
        return TargetKind.USER, user
    if user and _is_root(user):
        return TargetKind.USER, user  # refused later with ROOT_SESSION
    return None


def _cred_dict(node: Any) -> dict[str, Any]:
    s = node.session
    return {
        "access_key_id": s.access_key_id,
        "kind": _s(s.kind),
        "role_arn": s.role_arn,
        "session_name": s.session_name,
        "principal_id": s.principal_id,
        "principal_arn": s.principal_arn,
        "account_id": s.account_id,
        "issued_at": s.issued_at,
        "expires_at": s.expires_at,
        "issuer_arn": s.issuer.arn,
        "issuer_name": s.issuer.name,
        "issuer_type": s.issuer.type,
        "source_identity": s.source_identity,
        "last_used": node.summary.last,
        "issuing_event_ids": s.issuing_event_ids,
    }


def _impact(cred: Mapping[str, Any], *, suspicious: bool, source_ips: tuple[str, ...] = ()) -> SessionImpact:
    issuer = _s(cred.get("issuer_arn")) or _s(cred.get("issuer_name")) or _s(cred.get("issuer_type"))
    return SessionImpact(
        access_key_id=str(cred["access_key_id"]),
        kind=_s(cred.get("kind")) or "Observed",
        principal=_s(cred.get("principal_arn")) or _s(cred.get("session_name")),
        issuer=issuer,
        issued_at=_t(cred.get("issued_at")),
        expires_at=_t(cred.get("expires_at")),
        last_activity=_t(cred.get("last_used")),
        suspicious=suspicious,
        source_ips=source_ips,
        principal_id=_s(cred.get("principal_id")),
        source_identity=_s(cred.get("source_identity")),
    )


def _sessions_rows(events: pd.DataFrame | None, sessions: pd.DataFrame | None) -> list[dict[str, Any]]:
    if sessions is None and events is not None:
        from ircreds.lineage import sessions as build_sessions

        sessions = build_sessions(events)
    if sessions is None or not len(sessions):
        return []
    return sessions.to_dict("records")


def recommend_cutoff(
    issue_times: Iterable[datetime | None], *, now: datetime | None = None, margin: timedelta = DEFAULT_MARGIN
) -> datetime | None:
    """After the newest attacker session (strictly: its second + 1 s) and after ``now``, plus ``margin``.

    Example:
        >>> t = datetime(2025, 1, 20, 11, 5, 9, 400000, tzinfo=UTC)
        >>> recommend_cutoff([t]).isoformat()
        '2025-01-20T11:05:40+00:00'
    """
    times = [t for t in issue_times if t is not None]
    candidates = [t.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1) for t in times]
    if now is not None:
        candidates.append(now)
    if not candidates:
        return None
    return normalize_cutoff(max(candidates) + margin)


def plan(
    trace: Any,
    cutoff: datetime | None = None,
    *,
    now: datetime | None = None,
    events: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    margin: timedelta = DEFAULT_MARGIN,
    account: Mapping[str, Any] | None = None,
) -> Plan:
    """The containment plan for a traced lineage.

    Args:
        trace: :func:`ircreds.trace`'s result for the leaked key.
        cutoff: the cut-off to evaluate; ``None`` recommends one (:func:`recommend_cutoff` over the
            lineage's sessions on the planned targets, and ``now``).
        now: the current time, for the recommendation and the "cut-off in the past" warning.
        events: the events frame, to list the targets' legitimate sessions too (or pass ``sessions``,
            the frame of :func:`ircreds.sessions`, if already built).
        margin: added to the recommended cut-off for IAM propagation.
        account: an ``account.json`` document, to check inline-policy size limits.
    """
    if cutoff is not None:
        cutoff = normalize_cutoff(cutoff)
    if now is not None and now.tzinfo is None:
        raise PlanError("now must be timezone-aware (UTC)")
    nodes = list(trace.walk())
    lineage = {node.key: node for node in nodes}
    creds = {node.key: _cred_dict(node) for node in nodes}
    leaked = creds[trace.key]
    account_id = _s(leaked.get("account_id")) or _account_of(
        _s(leaked.get("role_arn")) or _s(leaked.get("principal_arn"))
    )

    static: list[PlanWarning] = []
    uncovered: list[Uncovered] = []
    targets: dict[str, _Target] = {}
    for key, cred in creds.items():
        target = _target_of(cred)
        if target is None:
            continue
        kind, arn = target
        if kind is TargetKind.USER and _is_root(arn):
            uncovered.append(
                Uncovered(
                    kind=UncoveredKind.ROOT_SESSION,
                    target=arn,
                    access_key_id=key,
                    event_ids=tuple(cred.get("issuing_event_ids") or ()),
                    action=(
                        "root-issued session tokens cannot be restricted in IAM: in a member account use an SCP deny on "
                        "aws:PrincipalArn = root with DateLessThan aws:TokenIssueTime; secure the root credentials"
                    ),
                )
            )
            continue
        reason = _cannot_take_policy(arn) if kind is TargetKind.ROLE else None
        if reason:
            static.append(
                PlanWarning(
                    code=WarningCode.CANNOT_TAKE_POLICY, target=arn, message=f"{_name_of(arn)} is {reason}"
                )
            )
            uncovered.append(
                Uncovered(kind=UncoveredKind.SESSION, target=arn, access_key_id=key, action=reason)
            )
            continue
        targets.setdefault(arn, _Target(kind, arn)).lineage_keys.append(key)

    # every known session of each target, legitimate ones from the evidence
    all_rows = _sessions_rows(events, sessions)
    if not all_rows:
        static.append(
            PlanWarning(
                code=WarningCode.EVIDENCE_INCOMPLETE,
                message="no events were given, so only the lineage's own sessions are listed; "
                "pass events= to see which legitimate sessions the cut-off also cuts",
            )
        )
    per_target: dict[str, dict[str, SessionImpact]] = {arn: {} for arn in targets}
    for row in all_rows:
        t = _target_of(row)
        if t is None or t[1] not in per_target:
            continue
        issued = _t(row.get("issued_at"))
        if now is not None and issued is not None and issued > now:
            continue  # replaying old evidence with now=: sessions from "the future" are not yet known
        key = str(row["access_key_id"])
        per_target[t[1]][key] = _impact(row, suspicious=key in lineage)
    for arn, target in targets.items():
        for key in target.lineage_keys:
            node = lineage[key]
            ips = tuple(ip for ip, _ in node.summary.source_ips)
            cred = dict(creds[key])
            if cred.get("last_used") is None and key in per_target[arn]:
                cred["last_used"] = per_target[arn][key].last_activity
            per_target[arn][key] = _impact(cred, suspicious=True, source_ips=ips)

    attacker_times = [creds[k]["issued_at"] for t in targets.values() for k in t.lineage_keys]
    for t in targets.values():
        for k in t.lineage_keys:
            if creds[k]["issued_at"] is None:
                static.append(
                    PlanWarning(
                        code=WarningCode.ISSUE_TIME_UNKNOWN,
                        target=t.arn,
                        access_key_id=k,
                        message=f"the issue time of {k} is unknown (no issuing event, no creationDate): "
                        "the plan cannot prove the cut-off reaches it",
                    )
                )
    recommended = recommend_cutoff(attacker_times, now=now, margin=margin) if targets else None
    chosen = cutoff or recommended

    revocations: list[Revocation] = []
    for arn, target in targets.items():
        notes: list[str] = []
        if target.kind is TargetKind.USER:
            notes.append(
                "a user-level deny cuts the user's temporary sessions; its long-term access keys keep working"
            )
            static.append(
                PlanWarning(
                    code=WarningCode.LONG_TERM_KEY_SURVIVES,
                    target=arn,
                    message=f"the deny on user {_name_of(arn)} leaves its long-term access keys working; "
                    "deactivate them too if they are compromised",
                )
            )
        rev = Revocation(
            target=_name_of(arn),
            target_kind=target.kind,
            arn=arn,
            account_id=_account_of(arn),
            policy_name=POLICY_NAME,
            policy=cutoff_policy(chosen) if chosen else {},
            sessions=tuple(sorted(per_target[arn].values(), key=_session_order)),
            notes=tuple(notes),
        )
        revocations.append(_evaluate_revocation(rev, chosen) if chosen else rev)
        static.extend(_target_warnings(rev, all_rows, account))

    if revocations:
        static.append(
            PlanWarning(
                code=WarningCode.PROPAGATION,
                message=(
                    "IAM is eventually consistent: the deny takes seconds to minutes to reach every endpoint; "
                    f"the recommended cut-off adds {int(margin.total_seconds())} s so sessions minted meanwhile die too"
                ),
            )
        )
    static.append(
        PlanWarning(
            code=WarningCode.GET_CALLER_IDENTITY,
            message="sts:GetCallerIdentity needs no permission and no deny blocks it: the attacker's probes "
            "will keep succeeding after the cut-off, which is not a failed revocation",
        )
    )
    uncovered.extend(_uncovered_from_lineage(nodes, creds, set(targets)))
    dynamic = _dynamic_warnings(revocations, chosen, now) if chosen else ()
    return Plan(
        key=trace.key,
        account_id=account_id,
        cutoff=chosen,
        recommended_cutoff=recommended,
        now=now,
        margin=margin,
        revocations=tuple(revocations),
        warnings=tuple(dynamic) + tuple(_dedupe(static)),
        uncovered=tuple(_dedupe(uncovered)),
        alternatives=tuple(_alternatives(nodes, creds, targets)),
        deletion=tuple(
            _deletion(rev, all_rows, set(lineage))
            for rev in revocations
            if rev.target_kind is TargetKind.ROLE
        ),
    )


def _dedupe(items: Iterable[Any]) -> list[Any]:
    seen: dict[Any, Any] = {}
    for item in items:
        ident = (
            (item.kind, item.target)
            if isinstance(item, Uncovered)
            else (item.code, item.target, item.access_key_id)
        )
        if ident in seen and isinstance(item, Uncovered):
            prev = seen[ident]
            merged = tuple(dict.fromkeys(prev.event_ids + item.event_ids))
            seen[ident] = replace(prev, event_ids=merged)
        else:
            seen.setdefault(ident, item)
    return list(seen.values())


def _target_warnings(
    rev: Revocation, rows: list[dict[str, Any]], account: Mapping[str, Any] | None
) -> list[PlanWarning]:
    out: list[PlanWarning] = []
    if rev.target_kind is TargetKind.ROLE:
        services = {
            _s(r.get("issuer_name")) or _s(r.get("issuer_arn")) or ""
            for r in rows
            if _s(r.get("role_arn")) == rev.arn and _s(r.get("kind")) == "Service"
        }
        if any("ec2" in s for s in services) or any(
            (s.principal or "").split("/")[-1].startswith("i-") for s in rev.sessions
        ):
            out.append(
                PlanWarning(
                    code=WarningCode.INSTANCE_PROFILE,
                    target=rev.arn,
                    message=(
                        f"{rev.target} is an EC2 instance-profile role: the deny also cuts the credentials cached on "
                        "every instance until IMDS hands out new ones (up to ~6 h), and an attacker still on an "
                        "instance simply fetches fresh ones; isolate the instance and fix IMDS/SSRF first"
                    ),
                )
            )
    if account:
        kind_key = "roles" if rev.target_kind is TargetKind.ROLE else "users"
        limit = ROLE_INLINE_POLICY_LIMIT if rev.target_kind is TargetKind.ROLE else USER_INLINE_POLICY_LIMIT
        for entry in account.get(kind_key) or ():
            if entry.get("name") != rev.target:
                continue
            existing = {n: d for n, d in (entry.get("inline_policies") or {}).items() if n != rev.policy_name}
            total = sum(policy_size(d) for d in existing.values()) + policy_size(rev.policy or {})
            if total > limit:
                out.append(
                    PlanWarning(
                        code=WarningCode.POLICY_SIZE,
                        target=rev.arn,
                        message=f"{rev.target}'s inline policies would total {total} characters with the deny, over the "
                        f"{limit} limit: the put will fail; attach the deny as a managed policy or trim others",
                    )
                )
    return out


# what a session revocation does not undo (aws-facts §3.10): event name -> (kind, action, target params)
# fmt: off
_PERSISTENCE: dict[str, tuple[UncoveredKind, str, tuple[str, ...]]] = {
    "CreateUser": (UncoveredKind.USER, "delete the user the attacker created (after removing its keys, login profile, policies and groups)", ("userName",)),
    "CreateLoginProfile": (UncoveredKind.LOGIN_PROFILE, "delete the console password (iam:DeleteLoginProfile)", ("userName",)),
    "UpdateLoginProfile": (UncoveredKind.LOGIN_PROFILE, "reset or delete the console password the attacker changed", ("userName",)),
    "CreateAccessKey": (UncoveredKind.ACCESS_KEY, "deactivate, then delete, the access key (iam:UpdateAccessKey --status Inactive)", ("userName",)),
    "UpdateAccessKey": (UncoveredKind.ACCESS_KEY, "check the status of the access key the attacker changed", ("accessKeyId", "userName")),
    "CreateRole": (UncoveredKind.ROLE, "delete the role the attacker created (and its instance profiles)", ("roleName",)),
    "AddUserToGroup": (UncoveredKind.USER, "remove the user from the group", ("userName", "groupName")),
    "AttachUserPolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("userName", "policyArn")),
    "AttachRolePolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("roleName", "policyArn")),
    "AttachGroupPolicy": (UncoveredKind.POLICY, "detach the policy the attacker attached", ("groupName", "policyArn")),
    "PutUserPolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("userName", "policyName")),
    "PutRolePolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("roleName", "policyName")),
    "PutGroupPolicy": (UncoveredKind.POLICY, "delete or restore the inline policy the attacker wrote", ("groupName", "policyName")),
    "CreatePolicyVersion": (UncoveredKind.POLICY, "set the previous default version back and delete the attacker's version", ("policyArn",)),
    "SetDefaultPolicyVersion": (UncoveredKind.POLICY, "set the previous default policy version back", ("policyArn",)),
    "UpdateAssumeRolePolicy": (UncoveredKind.TRUST_POLICY, "restore the role's trust policy (the attacker may have trusted an outside principal)", ("roleName",)),
    "PutRolePermissionsBoundary": (UncoveredKind.POLICY, "restore the role's permissions boundary", ("roleName",)),
    "DeleteRolePermissionsBoundary": (UncoveredKind.POLICY, "restore the role's permissions boundary", ("roleName",)),
    "DeactivateMFADevice": (UncoveredKind.MFA, "re-enable MFA for the user", ("userName",)),
    "CreateVirtualMFADevice": (UncoveredKind.MFA, "delete the MFA device the attacker created", ("virtualMFADeviceName",)),
    "EnableMFADevice": (UncoveredKind.MFA, "remove the MFA device the attacker enabled", ("userName",)),
    "CreateSAMLProvider": (UncoveredKind.FEDERATION, "delete the SAML provider the attacker created", ("name",)),
    "UpdateSAMLProvider": (UncoveredKind.FEDERATION, "restore the SAML provider's metadata", ("sAMLProviderArn",)),
    "CreateOpenIDConnectProvider": (UncoveredKind.FEDERATION, "delete the OIDC provider the attacker created", ("url",)),
    "GetFederationToken": (UncoveredKind.FEDERATION, "federation tokens outlive the key that made them (up to 36 h): deny on the issuing IAM user", ("name",)),
    "GetSessionToken": (UncoveredKind.FEDERATION, "session tokens outlive the key that made them (up to 36 h): deny on the issuing IAM user", ()),
    "GetSigninToken": (UncoveredKind.FEDERATION, "a console session was opened from these credentials: revoke on the principal and watch console activity", ()),
    "CreateFunction": (UncoveredKind.COMPUTE, "review and delete the Lambda function the attacker created", ("functionName",)),
    "UpdateFunctionCode": (UncoveredKind.COMPUTE, "restore the Lambda function's code", ("functionName",)),
    "UpdateFunctionConfiguration": (UncoveredKind.COMPUTE, "restore the Lambda function's configuration (role, layers, environment)", ("functionName",)),
    "AddPermission": (UncoveredKind.COMPUTE, "remove the Lambda invoke permission the attacker added", ("functionName",)),
    "RunInstances": (UncoveredKind.COMPUTE, "inspect and terminate instances the attacker launched (check the instance profile)", ("instanceType",)),
    "ModifyInstanceAttribute": (UncoveredKind.COMPUTE, "restore the instance attribute (userData can run code at boot)", ("instanceId",)),
    "CreateKeyPair": (UncoveredKind.COMPUTE, "delete the key pair the attacker created", ("keyName",)),
    "ImportKeyPair": (UncoveredKind.COMPUTE, "delete the key pair the attacker imported", ("keyName",)),
    "AuthorizeSecurityGroupIngress": (UncoveredKind.COMPUTE, "revoke the ingress rule the attacker opened", ("groupId",)),
    "SendCommand": (UncoveredKind.COMPUTE, "review what the SSM command ran on the instances", ("documentName",)),
    "StartSession": (UncoveredKind.COMPUTE, "review the SSM session and the instance", ("target",)),
    "PutBucketPolicy": (UncoveredKind.RESOURCE_POLICY, "restore the bucket policy", ("bucketName",)),
    "PutBucketAcl": (UncoveredKind.RESOURCE_POLICY, "restore the bucket ACL", ("bucketName",)),
    "DeletePublicAccessBlock": (UncoveredKind.RESOURCE_POLICY, "restore the public access block", ("bucketName",)),
    "PutPublicAccessBlock": (UncoveredKind.RESOURCE_POLICY, "check the public access block the attacker changed", ("bucketName",)),
    "PutKeyPolicy": (UncoveredKind.RESOURCE_POLICY, "restore the KMS key policy", ("keyId",)),
    "CreateGrant": (UncoveredKind.RESOURCE_POLICY, "retire the KMS grant the attacker created", ("keyId",)),
    "ModifySnapshotAttribute": (UncoveredKind.RESOURCE_POLICY, "stop sharing the snapshot", ("snapshotId",)),
    "ModifyDBSnapshotAttribute": (UncoveredKind.RESOURCE_POLICY, "stop sharing the DB snapshot", ("dBSnapshotIdentifier",)),
    "StopLogging": (UncoveredKind.DEFENCE_EVASION, "restart CloudTrail logging (cloudtrail:StartLogging)", ("name",)),
    "DeleteTrail": (UncoveredKind.DEFENCE_EVASION, "recreate the trail and look for the gap in evidence", ("name",)),
    "UpdateTrail": (UncoveredKind.DEFENCE_EVASION, "restore the trail's configuration", ("name",)),
    "PutEventSelectors": (UncoveredKind.DEFENCE_EVASION, "restore the trail's event selectors", ("trailName",)),
    "DeleteDetector": (UncoveredKind.DEFENCE_EVASION, "re-enable GuardDuty", ("detectorId",)),
    "UpdateDetector": (UncoveredKind.DEFENCE_EVASION, "restore GuardDuty's configuration", ("detectorId",)),
    "CreateIPSet": (UncoveredKind.DEFENCE_EVASION, "delete the GuardDuty trusted IP set", ("detectorId",)),
    "CreateFilter": (UncoveredKind.DEFENCE_EVASION, "delete the GuardDuty suppression filter", ("detectorId",)),
    "DeleteFlowLogs": (UncoveredKind.DEFENCE_EVASION, "recreate the VPC flow logs", ()),
    "StopConfigurationRecorder": (UncoveredKind.DEFENCE_EVASION, "restart the AWS Config recorder", ()),
}
# fmt: on


def _persistence_name(event_name: str) -> str | None:
    if event_name in _PERSISTENCE:
        return event_name
    for name in ("CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "AddPermission"):
        if event_name.startswith(name):  # Lambda names carry an API version suffix (…20150331v2)
            return name
    return None


def _json_obj(text: Any) -> dict[str, Any]:
    s = _s(text)
    if not s:
        return {}
    try:
        value = json.loads(s)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _uncovered_from_lineage(
    nodes: list[Any], creds: Mapping[str, Mapping[str, Any]], targets: set[str]
) -> list[Uncovered]:
    out: list[Uncovered] = []
    for node in nodes:
        cred = creds[node.key]
        kind = _s(cred.get("kind"))
        if not is_temporary_key(node.key) and kind not in USER_SESSION_KINDS | ROLE_KINDS:
            user = _s(cred.get("session_name")) or _name_of(_s(cred.get("principal_arn")) or node.key)
            out.append(
                Uncovered(
                    kind=UncoveredKind.ACCESS_KEY,
                    target=node.key,
                    access_key_id=node.key,
                    event_ids=tuple(cred.get("issuing_event_ids") or ()),
                    detail=f"long-term key of user {user}",
                    action=(
                        f"deactivate, then delete, access key {node.key} of user {user} "
                        f"(aws iam update-access-key --user-name {user} --access-key-id {node.key} --status Inactive); "
                        "no aws:TokenIssueTime deny reaches a long-term key"
                    ),
                )
            )
        t = _target_of(cred)
        if (
            t is not None
            and t[1] not in targets
            and not _is_root(t[1])
            and not any(u.access_key_id == node.key for u in out)
        ):
            out.append(
                Uncovered(
                    kind=UncoveredKind.SESSION,
                    target=t[1],
                    access_key_id=node.key,
                    action=f"session {node.key} of {t[1]} is outside the plan: apply a cut-off there",
                )
            )
        out.extend(_uncovered_calls(node))
    return out


def _uncovered_calls(node: Any) -> list[Uncovered]:
    calls = node.calls
    if calls is None or not len(calls) or "eventName" not in calls.columns:
        return []
    names = calls["eventName"].astype("string")
    ok = calls["errorCode"].isna() if "errorCode" in calls.columns else pd.Series(True, index=calls.index)
    out: list[Uncovered] = []
    for pos in calls.index[ok.to_numpy(dtype=bool)]:
        name = _persistence_name(str(names.loc[pos]))
        if name is None:
            continue
        kind, action, params = _PERSISTENCE[name]
        row = calls.loc[pos]
        req = _json_obj(row.get("requestParameters"))
        resp = _json_obj(row.get("responseElements"))
        parts = [str(req[p]) for p in params if req.get(p)]
        target = "/".join(parts) or name
        access_key_id = None
        if name == "CreateAccessKey":
            access_key = resp.get("accessKey") if isinstance(resp.get("accessKey"), dict) else {}
            access_key_id = _s(access_key.get("accessKeyId"))
            user = _s(access_key.get("userName")) or (parts[0] if parts else None) or "the user"
            target = access_key_id or target
            action = (
                f"deactivate, then delete, access key {access_key_id} of user {user} "
                f"(aws iam update-access-key --user-name {user} --access-key-id {access_key_id} --status Inactive)"
            )
        elif name in ("GetFederationToken", "GetSessionToken"):
            creds = resp.get("credentials") if isinstance(resp.get("credentials"), dict) else {}
            access_key_id = _s(creds.get("accessKeyId"))
            target = access_key_id or target
        event_id = _s(row.get("eventID"))
        out.append(
            Uncovered(
                kind=kind,
                target=target,
                action=action,
                access_key_id=access_key_id,
                event_ids=(event_id,) if event_id else (),
                detail=f"{name} by {node.key}",
            )
        )
    return out


def _alternatives(
    nodes: list[Any], creds: Mapping[str, Mapping[str, Any]], targets: Mapping[str, _Target]
) -> list[Alternative]:
    out: list[Alternative] = []
    for node in nodes:
        cred = creds[node.key]
        t = _target_of(cred)
        if t is None or t[1] not in targets:
            continue
        principal_id = _s(cred.get("principal_id")) or ""
        role_id = principal_id.split(":", 1)[0] if principal_id.startswith("AROA") else None
        ips = tuple(node.summary.new_source_ips) or tuple(ip for ip, _ in node.summary.source_ips)
        options = narrower_options(
            role_id=role_id,
            session_name=_s(cred.get("session_name")) if role_id else None,
            source_ips=ips,
            source_identity=_s(cred.get("source_identity")),
        )
        if options:
            out.append(Alternative(access_key_id=node.key, target_arn=t[1], options=options))
    return out


def _deletion(rev: Revocation, rows: list[dict[str, Any]], lineage: set[str]) -> RoleDeletion:
    groups: dict[str, dict[str, Any]] = {}
    sources = [r for r in rows if _s(r.get("role_arn")) == rev.arn] or [
        {"issuer_arn": s.issuer, "kind": s.kind, "issued_at": s.issued_at, "access_key_id": s.access_key_id}
        for s in rev.sessions
    ]
    for r in sources:
        who = _s(r.get("issuer_arn")) or _s(r.get("issuer_name")) or _s(r.get("issuer_type")) or "unknown"
        g = groups.setdefault(who, {"kinds": set(), "n": 0, "last": None, "suspicious": False})
        g["kinds"].add(_s(r.get("kind")) or "Observed")
        g["n"] += 1
        issued = _t(r.get("issued_at"))
        if issued is not None and (g["last"] is None or issued > g["last"]):
            g["last"] = issued
        g["suspicious"] |= str(r.get("access_key_id")) in lineage
    dependents = tuple(
        Dependent(
            principal=who,
            kinds=tuple(sorted(g["kinds"])),
            sessions=g["n"],
            last_issued=g["last"],
            suspicious=g["suspicious"],
        )
        for who, g in sorted(groups.items(), key=lambda kv: -kv[1]["n"])
    )
    return RoleDeletion(role_arn=rev.arn, dependents=dependents)


# ---------------------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOutcome:
    """One call by a cut session after the apply."""

    event_id: str | None
    event_time: datetime
    access_key_id: str
    event_name: str
    error_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "event_id": self.event_id,
            "event_time": _iso(self.event_time),
            "access_key_id": self.access_key_id,
            "event_name": self.event_name,
            "error_code": self.error_code,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyResult:
    """What the logs after the apply say about the cut-off."""

    applied_at: datetime
    allowance: timedelta
    checked_keys: tuple[str, ...]
    denied: tuple[CallOutcome, ...] = ()
    succeeded: tuple[CallOutcome, ...] = ()
    within_allowance: tuple[CallOutcome, ...] = ()
    implicit_denies: tuple[CallOutcome, ...] = ()
    other_errors: tuple[CallOutcome, ...] = ()
    exempt: tuple[CallOutcome, ...] = ()
    survivors_active: tuple[CallOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no cut session's call succeeded past the propagation allowance."""
        return not self.succeeded

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "applied_at": _iso(self.applied_at),
            "allowance_seconds": int(self.allowance.total_seconds()),
            "checked_keys": list(self.checked_keys),
        }
        for name in (
            "denied",
            "succeeded",
            "within_allowance",
            "implicit_denies",
            "other_errors",
            "exempt",
            "survivors_active",
        ):
            out[name] = [c.to_dict() for c in getattr(self, name)]
        return out


def verify(
    plan: Plan,
    events: pd.DataFrame,
    *,
    applied_at: datetime | None = None,
    allowance: timedelta = DEFAULT_ALLOWANCE,
    targets: Iterable[str] | None = None,
) -> VerifyResult:
    """Check the logs after the apply: every call by a cut session should fail with an explicit deny.

    ``applied_at`` defaults to the plan's cut-off. Calls within ``allowance`` of it may still succeed
    (IAM propagation) and are listed apart; ``GetCallerIdentity`` is never blocked and is listed as
    exempt; a denial whose message does not say "explicit deny" proves nothing about the cut-off and is
    listed as ``implicit_denies``. Calls after the apply by attacker sessions the plan spares are listed
    in ``survivors_active``. ``targets`` (role/user names or ARNs) limits the check to the revocations
    actually applied; the sessions of the others then count as survivors.
    """
    applied = applied_at or plan.cutoff
    if applied is None:
        raise PlanError("the plan has no cut-off; pass applied_at=")
    if applied.tzinfo is None:
        raise PlanError("applied_at must be timezone-aware (UTC)")
    wanted = None if targets is None else set(targets)
    applied_revs = [r for r in plan.revocations if wanted is None or wanted & {r.target, r.arn}]
    if wanted is not None and not applied_revs:
        raise PlanError(
            f"none of {sorted(wanted)} is a target of the plan; targets: {[r.target for r in plan.revocations]}"
        )
    cut = {s.access_key_id for r in applied_revs for s in r.cuts}
    spared = {s.access_key_id for r in plan.revocations for s in r.sessions if s.suspicious} - cut
    spared |= {u.access_key_id for u in plan.uncovered if u.access_key_id}
    key_col = "userIdentity.accessKeyId"
    if not len(events) or key_col not in events.columns:
        return VerifyResult(applied_at=applied, allowance=allowance, checked_keys=tuple(sorted(cut)))
    keys = events[key_col].astype("string")
    after = events["eventTime"] >= pd.Timestamp(applied)
    frame = events[after & keys.isin(cut | spared).fillna(False).to_numpy(dtype=bool)]
    buckets: dict[str, list[CallOutcome]] = {
        n: [] for n in ("denied", "succeeded", "within", "implicit", "other", "exempt", "survivors")
    }
    deadline = applied + allowance
    cols = ["eventTime", "eventName", "eventSource", "errorCode", "errorMessage", "eventID", key_col]
    for rec in frame[[c for c in cols if c in frame.columns]].to_dict("records"):
        outcome = CallOutcome(
            event_id=_s(rec.get("eventID")),
            event_time=rec["eventTime"].to_pydatetime(),
            access_key_id=str(rec[key_col]),
            event_name=_s(rec.get("eventName")) or "",
            error_code=_s(rec.get("errorCode")),
        )
        if outcome.access_key_id not in cut:
            buckets["survivors"].append(outcome)
            continue
        if outcome.event_name == "GetCallerIdentity":
            buckets["exempt"].append(outcome)
        elif outcome.error_code is None:
            buckets["within" if outcome.event_time < deadline else "succeeded"].append(outcome)
        elif (
            outcome.error_code in DENIED_CODES
            or "Unauthorized" in outcome.error_code
            or "AccessDenied" in outcome.error_code
        ):
            message = (_s(rec.get("errorMessage")) or "").lower()
            buckets["denied" if "explicit deny" in message else "implicit"].append(outcome)
        else:
            buckets["other"].append(outcome)
    return VerifyResult(
        applied_at=applied,
        allowance=allowance,
        checked_keys=tuple(sorted(cut)),
        denied=tuple(buckets["denied"]),
        succeeded=tuple(buckets["succeeded"]),
        within_allowance=tuple(buckets["within"]),
        implicit_denies=tuple(buckets["implicit"]),
        other_errors=tuple(buckets["other"]),
        exempt=tuple(buckets["exempt"]),
        survivors_active=tuple(buckets["survivors"]),
    )
