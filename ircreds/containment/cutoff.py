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
from ircreds.containment.records import PlanWarning, Revocation, SessionImpact, Verdict, WarningCode
from ircreds.times import iso_z

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


def live_at(s: SessionImpact, now: datetime) -> bool:
    """True when the session is valid at ``now``: issued by then (or unknown) and not expired (or unknown).

    Example:
        >>> t = datetime(2025, 1, 20, 12, tzinfo=UTC)
        >>> s = SessionImpact(access_key_id="ASIAEXAMPLE", kind="AssumeRole", issued_at=t, expires_at=t + timedelta(hours=1))
        >>> live_at(s, t + timedelta(minutes=59)), live_at(s, t + timedelta(hours=1))
        (True, False)
    """
    issued = s.issued_at is None or s.issued_at <= now
    return issued and (s.expires_at is None or s.expires_at > now)


def _verdict(compiled: Any, s: SessionImpact, cutoff: datetime, now: datetime | None) -> Verdict:
    """Denied by the document at ``cutoff``? Then cut if still valid when the deny lands (``now``), else expired.

    The deny lands at ``now`` (the apply): a session issued before the cut-off that is valid at ``now``
    is cut then, even if it would have expired before a later cut-off. Without ``now``, the cut-off is
    the reference (the plan of a bare cut-off, as before).
    """
    ctx = session_context({"access_key_id": s.access_key_id, "kind": s.kind, "issued_at": s.issued_at})
    if not compiled.denies(ctx):
        return Verdict.SURVIVES
    lands = now if now is not None else cutoff
    if s.expires_at is not None and s.expires_at <= lands:
        return Verdict.EXPIRED
    return Verdict.CUT


def _evaluate_revocation(rev: Revocation, cutoff: datetime, now: datetime | None = None) -> Revocation:
    policy = cutoff_policy(cutoff)
    compiled = compile_policy(policy)
    sessions = tuple(
        replace(
            s,
            verdict=_verdict(compiled, s, cutoff, now),
            live_at_now=None if now is None else live_at(s, now),
        )
        for s in rev.sessions
    )
    return replace(rev, policy=policy, sessions=sessions)


def _names(values: Iterable[str | None], limit: int = 8) -> str:
    names = sorted({v for v in values if v})
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "nobody"


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes else []
    parts += [f"{secs}s"] if secs or not parts else []
    return " ".join(parts)


def _dynamic_warnings(
    revocations: Iterable[Revocation],
    cutoff: datetime,
    now: datetime | None,
    margin: timedelta = DEFAULT_MARGIN,
) -> tuple[PlanWarning, ...]:
    out: list[PlanWarning] = []
    revocations = tuple(revocations)
    # the recommendation itself is now + margin (rounded up): only a cut-off beyond it opens an outage window
    if now is not None and cutoff > normalize_cutoff(now + margin):
        for rev in revocations:
            live = [s for s in rev.cuts if s.live_at_now]
            out.append(
                PlanWarning(
                    code=WarningCode.CUTOFF_AFTER_NOW,
                    target=rev.arn,
                    message=(
                        f"the cut-off {iso_z(cutoff)} is {_duration(cutoff - now)} after now ({iso_z(now)}): every "
                        f"session of {rev.target} issued before {iso_z(cutoff)}, including new ones by legitimate "
                        f"users, will be denied until {iso_z(cutoff)}; it cuts {len(live)} session(s) live now "
                        f"({_names(s.principal or s.access_key_id for s in live)}); who assumed {rev.target} in "
                        f"the evidence: {_names(s.issuer or s.principal for s in rev.sessions)}"
                    ),
                )
            )
    for rev in revocations:
        for s in rev.survives:
            if s.suspicious:
                out.append(
                    PlanWarning(
                        code=WarningCode.ATTACKER_SESSION_SURVIVES,
                        target=rev.arn,
                        access_key_id=s.access_key_id,
                        message=(
                            f"the cut-off {iso_z(cutoff)} is not after attacker session {s.access_key_id} on "
                            f"{rev.target} (issued {iso_z(s.issued_at)}): DateLessThan spares it; "
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
                    f"the cut-off {iso_z(cutoff)} is before now ({iso_z(now)}): any session issued in between, "
                    "an attacker's re-assumption included, survives; prefer a cut-off after now"
                ),
            )
        )
    return tuple(out)
