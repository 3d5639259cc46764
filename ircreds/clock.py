"""The one place ircreds reads the real clock, and the library's containment entry that uses it.

The core never reads the clock: every pure function takes ``now``. The edges do, with one rule shared
by the library (:func:`plan`, which ``ircreds.plan`` is), the command line and the widgets: ``now``
defaults to the real clock in UTC, and the plan says so (``Plan.now_source == "clock"``). To plan as
of the incident instead, pass ``now=`` (a time) or ``as_of="evidence-end"`` (the last event of the
evidence). When the evidence ended long before the real clock, the plan carries a ``stale-evidence``
warning saying exactly that.

Example::

    p = ircreds.plan(trace, events=events)                              # now = the real clock
    p = ircreds.plan(trace, events=events, as_of="evidence-end")        # as of the incident
    p = ircreds.plan(trace, events=events, now=datetime(2025, 1, 20, 11, 59, 30, tzinfo=UTC))
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from ircreds.containment import DEFAULT_MARGIN, Plan
from ircreds.containment import plan as _core_plan
from ircreds.errors import PlanError

log = logging.getLogger(__name__)

AS_OF_CHOICES = ("clock", "evidence-end")
"""What ``as_of`` accepts: the real clock (the default) or the last event of the evidence."""


def utc_now() -> datetime:
    """The real clock, in UTC (the only clock read of the containment feature)."""
    return datetime.now(UTC)


def evidence_end(events: pd.DataFrame | None) -> datetime:
    """The time of the last event in ``events``; refuses an empty or missing frame in one sentence."""
    if events is None or not len(events) or "eventTime" not in events.columns:
        raise PlanError("--as-of evidence-end needs the evidence: no events were given")
    end = events["eventTime"].max()
    if pd.isna(end):
        raise PlanError("--as-of evidence-end needs the evidence: no event has a time")
    return pd.Timestamp(end).to_pydatetime()


def resolve_now(
    now: datetime | None = None, *, as_of: str | None = None, events: pd.DataFrame | None = None
) -> tuple[datetime, str]:
    """``(now, source)``: the given time, else the evidence's end (``as_of="evidence-end"``), else the real clock.

    Example:
        >>> t = datetime(2025, 1, 20, 11, 59, 30, tzinfo=UTC)
        >>> resolve_now(t)
        (datetime.datetime(2025, 1, 20, 11, 59, 30, tzinfo=datetime.timezone.utc), 'given')
    """
    if now is not None and as_of not in (None, "clock"):
        raise PlanError(f"pass either now= or as_of={as_of!r}, not both")
    if now is not None:
        if now.tzinfo is None:
            raise PlanError(f"now must be timezone-aware (UTC), got {now.isoformat()}")
        return now.astimezone(UTC), "given"
    if as_of in (None, "clock"):
        return utc_now(), "clock"
    if as_of == "evidence-end":
        return evidence_end(events), "evidence-end"
    raise PlanError(f"as_of must be one of {', '.join(AS_OF_CHOICES)}, got {as_of!r}")


def plan(
    trace: Any,
    cutoff: datetime | None = None,
    *,
    now: datetime | None = None,
    as_of: str | None = None,
    events: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    margin: timedelta = DEFAULT_MARGIN,
    account: Mapping[str, Any] | None = None,
) -> Plan:
    """The containment plan (:func:`ircreds.containment.plan`) with ``now`` defaulting to the real clock.

    ``now``: the time of decision; default the real clock (UTC), recorded as ``now_source="clock"``.
    ``as_of="evidence-end"``: judge as of the last event of ``events`` instead (replaying an old
    incident). Everything else is :func:`ircreds.containment.plan`'s.
    """
    when, source = resolve_now(now, as_of=as_of, events=events)
    if source == "clock":
        log.info("plan: now not given, using the real clock %s (pass now= or as_of='evidence-end')", when)
    return _core_plan(
        trace,
        cutoff,
        now=when,
        events=events,
        sessions=sessions,
        margin=margin,
        account=account,
        now_source=source,
    )
