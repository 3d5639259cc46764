"""The :class:`Plan` record: revocations, warnings, uncovered items, alternatives, deletion impact."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.containment.actions import content_sha256
from ircreds.containment.cutoff import DEFAULT_MARGIN, _dynamic_warnings, _evaluate_revocation
from ircreds.containment.policy import TargetKind, normalize_cutoff
from ircreds.containment.records import (
    _DYNAMIC,
    Alternative,
    PlanWarning,
    Revocation,
    RoleDeletion,
    Uncovered,
)
from ircreds.errors import PlanError
from ircreds.times import iso_z, parse_iso


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The containment plan: revocations, warnings, uncovered items, alternatives, deletion impact."""

    key: str
    account_id: str | None
    cutoff: datetime | None
    recommended_cutoff: datetime | None = None
    now: datetime | None = None
    margin: timedelta = DEFAULT_MARGIN
    now_source: str | None = None
    """Where ``now`` came from: ``given`` (the caller's), ``clock`` (the real clock, read at the edge) or
    ``evidence-end`` (the last event of the evidence, to plan as of the incident); ``None`` without a ``now``."""
    evidence_end: datetime | None = None
    """The last event of the evidence the plan read (``None`` without events)."""
    revocations: tuple[Revocation, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    uncovered: tuple[Uncovered, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    deletion: tuple[RoleDeletion, ...] = ()

    def __post_init__(self) -> None:
        for name in ("cutoff", "recommended_cutoff", "now", "evidence_end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def _repr_html_(self) -> str:
        from ircreds.display import plan_html

        return plan_html(self)

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
        revocations = tuple(_evaluate_revocation(r, cutoff, self.now) for r in self.revocations)
        static = tuple(w for w in self.warnings if w.code not in _DYNAMIC)
        warnings = _dynamic_warnings(revocations, cutoff, self.now, self.margin) + static
        return replace(self, cutoff=cutoff, revocations=revocations, warnings=warnings)

    def impact_on_calls(self, events: pd.DataFrame, applied_at: datetime | None = None) -> pd.DataFrame:
        """Every logged call by a session of a planned target, and whether its deny blocks it.

        One row per call (``eventID``, ``eventTime``, ``eventName``, ``access_key_id``, ``target``,
        ``suspicious``, ``denied``); with ``applied_at``, calls before it are not denied (the deny was
        not in place yet). ``GetCallerIdentity`` is never denied.
        """
        from ircreds.containment.evaluate import denied_calls

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
        """The JSON contract: ``{"cutoff", "revocations", "warnings", "uncovered", ...}``.

        ``sha256`` (first) is the digest of the rest: ``ircreds apply`` warns when a plan file no longer
        matches it (edited after it was written); apply checks every revocation anyway.
        """
        body = {
            "key": self.key,
            "account_id": self.account_id,
            "cutoff": iso_z(self.cutoff),
            "recommended_cutoff": iso_z(self.recommended_cutoff),
            "now": iso_z(self.now),
            "now_source": self.now_source,
            "evidence_end": iso_z(self.evidence_end),
            "margin_seconds": int(self.margin.total_seconds()),
            "revocations": [r.to_dict() for r in self.revocations],
            "warnings": [w.to_dict() for w in self.warnings],
            "uncovered": [u.to_dict() for u in self.uncovered],
            "alternatives": [a.to_dict() for a in self.alternatives],
            "deletion": [d.to_dict() for d in self.deletion],
        }
        return {"sha256": content_sha256(body), **body}

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Read a plan back from :meth:`to_dict` (what ``ircreds apply PLAN.json`` does).

        Only what apply, verify and :meth:`with_cutoff` need is rebuilt; alternatives and the
        deletion section are informational and stay out. A plan file is untrusted input: anything that
        is not the shape :meth:`to_dict` writes is refused in one sentence naming the field.
        """
        _check_shape(data)
        try:
            revocations = tuple(Revocation.from_dict(r) for r in data.get("revocations") or ())
            return cls(
                key=data.get("key") or "",
                account_id=data.get("account_id"),
                cutoff=parse_iso(data.get("cutoff"), strict=True),
                recommended_cutoff=parse_iso(data.get("recommended_cutoff"), strict=True),
                now=parse_iso(data.get("now"), strict=True),
                now_source=data.get("now_source"),
                evidence_end=parse_iso(data.get("evidence_end"), strict=True),
                margin=timedelta(seconds=int(data.get("margin_seconds", DEFAULT_MARGIN.total_seconds()))),
                revocations=revocations,
                warnings=tuple(PlanWarning.from_dict(w) for w in data.get("warnings") or ()),
                uncovered=tuple(Uncovered.from_dict(u) for u in data.get("uncovered") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise PlanError(
                f"not an ircreds plan ({type(err).__name__}: {err}); write one with `ircreds plan --out`"
            ) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return f"a {type(value).__name__}"


def _check_shape(data: Any) -> None:
    """Refuse what is not a plan's JSON shape, naming the field (``revocations[0].policy`` ...)."""
    hint = "; write one with `ircreds plan --out`"
    if not isinstance(data, Mapping):
        raise PlanError(f"not an ircreds plan: the file holds {_kind(data)}, not an object{hint}")
    for name in ("revocations", "warnings", "uncovered", "alternatives", "deletion"):
        value = data.get(name)
        if value is not None and not isinstance(value, list):
            raise PlanError(f"not an ircreds plan: {name} must be a list, got {_kind(value)}{hint}")
        for i, item in enumerate(value or ()):
            if not isinstance(item, Mapping):
                raise PlanError(
                    f"not an ircreds plan: {name}[{i}] must be an object, got {_kind(item)}{hint}"
                )
    for name in ("cutoff", "now", "recommended_cutoff", "evidence_end", "key", "account_id"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise PlanError(f"not an ircreds plan: {name} must be a string, got {_kind(value)}{hint}")
    for i, rev in enumerate(data.get("revocations") or ()):
        for name in ("target", "arn", "policy_name", "target_kind"):
            if name in rev and not isinstance(rev[name], str):
                raise PlanError(
                    f"not an ircreds plan: revocations[{i}].{name} must be a string, got {_kind(rev[name])}{hint}"
                )
        if "policy" in rev and not isinstance(rev["policy"], Mapping):
            raise PlanError(
                f"not an ircreds plan: revocations[{i}].policy must be a policy document (an object), "
                f"got {_kind(rev['policy'])}{hint}"
            )
        for part in ("cuts", "survives", "expired"):
            items = rev.get(part)
            if items is not None and not isinstance(items, list):
                raise PlanError(
                    f"not an ircreds plan: revocations[{i}].{part} must be a list, got {_kind(items)}{hint}"
                )
            for j, s in enumerate(items or ()):
                if not isinstance(s, Mapping) or not isinstance(s.get("access_key_id"), str):
                    raise PlanError(
                        f"not an ircreds plan: revocations[{i}].{part}[{j}] must be a session object with an "
                        f"access_key_id{hint}"
                    )
