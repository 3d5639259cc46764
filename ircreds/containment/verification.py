"""The check after the apply: :func:`verify` reads the logs and lists what the cut sessions still did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.containment.plans import Plan
from ircreds.containment.records import Verdict, _s
from ircreds.errors import PlanError
from ircreds.schema import DENIED_ERROR_CODES, is_denied_code, is_never_denied
from ircreds.times import iso_z

DEFAULT_ALLOWANCE = timedelta(minutes=5)
"""How long after the apply a cut session's call may still succeed before :func:`verify` flags it."""

#: The 0.1 name of :data:`ircreds.schema.DENIED_ERROR_CODES`.
DENIED_CODES = DENIED_ERROR_CODES


MINTING_CALLS = frozenset(
    {
        "CreateAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "CreateUser",
        "CreateServiceSpecificCredential",
        "UploadSSHPublicKey",
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "GetSigninToken",
    }
)
"""Calls that create a credential (a key, a password, a user, a session): one that succeeds for a cut
credential, even within the propagation allowance, minted something the cut-off does not reach."""


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
            "event_time": iso_z(self.event_time),
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
    minted: tuple[CallOutcome, ...] = ()
    """Credential-creating calls (:data:`MINTING_CALLS`) by a cut session that succeeded after the apply,
    within the allowance included: each minted something new the cut-off does not reach."""

    def _repr_html_(self) -> str:
        from ircreds.display import verify_html

        return verify_html(self)

    @property
    def ok(self) -> bool:
        """True when no cut session's call succeeded past the allowance and nothing new was minted meanwhile."""
        return not self.succeeded and not self.minted

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why :attr:`ok` is false, one sentence per call (empty when ok)."""
        out = [
            f"{c.event_name} by {c.access_key_id} at {iso_z(c.event_time)} succeeded within the allowance: "
            f"it minted a new credential ({c.event_name}) the cut-off does not reach; revoke it"
            for c in self.minted
            if c not in self.succeeded
        ]
        out += [
            f"{c.event_name} by {c.access_key_id} at {iso_z(c.event_time)} succeeded "
            f"{int((c.event_time - self.applied_at).total_seconds())} s after the apply, past the allowance"
            + (f": it minted a new credential ({c.event_name})" if c in self.minted else "")
            for c in self.succeeded
        ]
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "reasons": list(self.reasons),
            "applied_at": iso_z(self.applied_at),
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
            "minted",
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

    ``ok`` is false when a cut session's call succeeded past the allowance, or when a credential-creating
    call (:data:`MINTING_CALLS`: ``CreateAccessKey``, ``AssumeRole``, ``GetSessionToken``…) by a cut session
    succeeded after the apply at all, within the allowance included: it minted something new, listed in
    ``minted`` and named in ``reasons`` with its own action.
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
    # the sessions the deny cut when it landed: denied by the document and still valid at applied_at
    # (judged here, not at the plan's now: a plan made after the incident sees them all expired)
    cut = {
        s.access_key_id
        for r in applied_revs
        for s in r.sessions
        if s.verdict is not Verdict.SURVIVES and (s.expires_at is None or s.expires_at > applied)
    }
    spared = {s.access_key_id for r in plan.revocations for s in r.sessions if s.suspicious} - cut
    spared |= {u.access_key_id for u in plan.uncovered if u.access_key_id}
    key_col = "userIdentity.accessKeyId"
    if not len(events) or key_col not in events.columns:
        return VerifyResult(applied_at=applied, allowance=allowance, checked_keys=tuple(sorted(cut)))
    keys = events[key_col].astype("string")
    after = events["eventTime"] >= pd.Timestamp(applied)
    frame = events[after & keys.isin(cut | spared).fillna(False).to_numpy(dtype=bool)]
    buckets: dict[str, list[CallOutcome]] = {
        n: [] for n in ("denied", "succeeded", "within", "implicit", "other", "exempt", "survivors", "minted")
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
        if is_never_denied(rec.get("eventSource"), outcome.event_name):
            buckets["exempt"].append(outcome)
        elif outcome.error_code is None:
            buckets["within" if outcome.event_time < deadline else "succeeded"].append(outcome)
            if outcome.event_name in MINTING_CALLS:
                buckets["minted"].append(outcome)
        elif is_denied_code(outcome.error_code):
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
        minted=tuple(buckets["minted"]),
    )
