"""The cut-off: its recommendation, and what it does to each stored session of a revocation.

Re-evaluating a plan at another cut-off (:meth:`~ircreds.containment.Plan.with_cutoff`) needs only
these: the sessions are already in the plan, so no evidence is read again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ircreds.containment.evaluate import compile_policy, session_context
from ircreds.containment.policy import cutoff_policy, normalize_cutoff
from ircreds.containment.records import PlanWarning, Revocation, SessionImpact, Verdict, WarningCode, _iso

DEFAULT_MARGIN = timedelta(seconds=30)
"""Added to the recommended cut-off, like the console's ~30 s, to absorb IAM propagation."""


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
