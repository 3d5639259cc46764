"""Time, one way: every ISO/UTC parse and format in ircreds goes through here.

- :func:`iso_z` writes a time as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the form of every JSON output and
  policy document); ``fraction=True`` keeps a fractional second when there is one.
- :func:`parse_iso` reads ISO 8601 (extended or basic, ``Z`` or an offset, up to nanoseconds).
- :func:`parse_expiration` reads STS's text expiration (``Jan 20, 2025, 9:14:27 PM``,
  ``January 20, 2025, 9:14:27 PM``, ``Sep 17, 2020 8:04:10 PM``) and ISO 8601.
- :func:`parse_time` reads any time CloudTrail writes: both of those, and epoch seconds or milliseconds.
- :func:`parse_user_time` reads what a person typed (a command line, a widget): ISO 8601 *with* a zone.
- :func:`parse_timestamp` and :func:`time_problem` apply the evidence time rule (below): the one rule
  every loading path uses for ``eventTime``, ``creationDate`` and ``expiration``.

Text without a zone in the evidence is UTC (CloudTrail and IAM both read it so). A naive ``datetime``
object is a mistake in the caller and is refused everywhere (:class:`ValueError`).

The evidence time rule. A time is ISO 8601 (extended or basic, ``Z``, an offset or no zone), STS's
text date, or epoch seconds/milliseconds, and it must name an instant an events frame can hold.
These are *not* times, each with its own reason (:func:`time_problem`): the words ``now``, ``today``,
``yesterday`` and ``tomorrow`` (never read as the wall clock); a day or hour that does not exist
(``2025-02-30``, ``24:00``: never rolled into the next day or month); a leap second (``23:59:60``:
the frame cannot hold it and it is not rolled into the next minute); and an instant outside the
frame's nanosecond range (before 1677-09-21 or after 2262-04-11, such as year 0001 or 9999).
A record whose ``eventTime`` is not a time is a reject with that reason; a ``creationDate`` or
``expiration`` that is not a time is left empty (the record stays).

Example:
    >>> from datetime import datetime
    >>> iso_z(datetime(2025, 1, 20, 9, 14, 27, 500, tzinfo=UTC))
    '2025-01-20T09:14:27Z'
    >>> iso_z(parse_expiration("January 20, 2025, 9:14:27 PM"))
    '2025-01-20T21:14:27Z'
    >>> iso_z(datetime(2025, 1, 20, 9, 14, 27))
    Traceback (most recent call last):
    ...
    ValueError: time must be timezone-aware, got datetime.datetime(2025, 1, 20, 9, 14, 27)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

__all__ = [
    "ISO_8601",
    "ISO_Z",
    "UTC",
    "days_exist",
    "iso_z",
    "parse_expiration",
    "parse_iso",
    "parse_time",
    "parse_timestamp",
    "parse_user_time",
    "require_aware",
    "time_problem",
]

#: The ``strftime`` form of :func:`iso_z` (what the console's ``AWSRevokeOlderSessions`` writes).
ISO_Z = "%Y-%m-%dT%H:%M:%SZ"

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
#: STS's text date (``responseElements.credentials.expiration``): month name, day, year, 12-hour time.
TEXT_DATE = re.compile(
    r"^\s*([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$"
)


#: The instants an events frame holds (``datetime64[ns, UTC]``).
FRAME_MIN = pd.Timestamp.min.tz_localize("UTC")
FRAME_MAX = pd.Timestamp.max.tz_localize("UTC")

#: ISO 8601, extended (``2025-01-20T09:14:27.5+01:00``) or basic (``20250120T091427Z``), zone optional.
ISO_8601 = re.compile(
    r"^\s*(\d{4})(-?)(\d{2})\2(\d{2})"
    r"(?:[Tt ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.\d{1,9})?)?)?)?"
    r"\s*(?:[Zz]|[+-](\d{2})(?::?(\d{2}))?)?\s*$"
)
_RELATIVE = frozenset({"now", "today", "yesterday", "tomorrow"})
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

NOT_A_TIME = "does not parse as a time"
RELATIVE_WORD = "a relative word, not a time (never read as the clock)"
NO_SUCH_DAY = "that day or hour does not exist (never rolled into the next one)"
LEAP_SECOND = "a leap second (:60), which a frame cannot hold (never rolled into the next minute)"
OUT_OF_RANGE = "outside the range a frame holds (1677-09-21 to 2262-04-11 UTC)"


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value)


def require_aware(value: datetime, name: str = "time") -> datetime:
    """``value`` itself, or :class:`ValueError` when it has no time zone.

    Example:
        >>> require_aware(datetime(2025, 1, 20, tzinfo=UTC)).year
        2025
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def iso_z(value: datetime | pd.Timestamp | None, *, fraction: bool = False) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, to the second; ``None`` (or NaT) stays ``None``.

    Args:
        value: an aware ``datetime`` or ``pd.Timestamp``.
        fraction: keep the fractional second when there is one (microseconds, or nanoseconds of a
            ``pd.Timestamp``) instead of cutting it.

    Raises:
        ValueError: for a naive time.

    Example:
        >>> import pandas as pd
        >>> iso_z(pd.Timestamp("2025-01-20T09:14:27.25Z"), fraction=True)
        '2025-01-20T09:14:27.250000Z'
        >>> iso_z(None) is None
        True
    """
    if _missing(value):
        return None
    require_aware(value)
    if fraction:
        if isinstance(value, pd.Timestamp):
            return value.tz_convert("UTC").isoformat().replace("+00:00", "Z")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.astimezone(UTC).strftime(ISO_Z)


def parse_timestamp(value: Any) -> pd.Timestamp | None:
    """Like :func:`parse_time`, as a UTC ``pd.Timestamp`` that keeps nanoseconds, under the evidence time rule.

    ``None`` for a missing value and for anything the rule says is not a time (:func:`time_problem`
    says why): relative words, days that do not exist, leap seconds, instants outside the frame's range.

    Raises:
        ValueError: for a naive ``datetime`` object.

    Example:
        >>> parse_timestamp("2025-01-20T09:14:27.123456789Z").nanosecond
        789
        >>> parse_timestamp("now") is None, parse_timestamp("2025-02-30T00:00:00Z") is None
        (True, True)
    """
    return _evidence_time(value)[0]


def time_problem(value: Any) -> str | None:
    """Why ``value`` is not a time an events frame holds (the evidence time rule), or None when it is one.

    A missing value (None, NaN, ``""``) has no problem: it is simply missing.

    Example:
        >>> time_problem("2025-01-20T23:59:60Z")
        'a leap second (:60), which a frame cannot hold (never rolled into the next minute)'
        >>> time_problem("9999-12-31T00:00:00Z")
        'outside the range a frame holds (1677-09-21 to 2262-04-11 UTC)'
        >>> time_problem("Today"), time_problem("2025-01-20T09:14:27Z")
        ('a relative word, not a time (never read as the clock)', None)
    """
    try:
        return _evidence_time(value)[1]
    except ValueError as err:  # a naive datetime
        return str(err)


def _in_frame(stamp: pd.Timestamp) -> tuple[pd.Timestamp | None, str | None]:
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not FRAME_MIN <= stamp <= FRAME_MAX:
        return None, OUT_OF_RANGE
    return stamp.as_unit("ns"), None


def _evidence_time(value: Any) -> tuple[pd.Timestamp | None, str | None]:
    """(the time, None), (None, why it is not one) or (None, None) for a missing value."""
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, NOT_A_TIME
    if isinstance(value, datetime):  # pd.Timestamp too
        if isinstance(value, pd.Timestamp):
            require_aware(value.to_pydatetime(warn=False))
            return _in_frame(value)
        return _in_frame(pd.Timestamp(require_aware(value)))
    if isinstance(value, int | float):
        parsed = parse_time(value)
        if parsed is None:
            return None, OUT_OF_RANGE if value == value else NOT_A_TIME
        return _in_frame(pd.Timestamp(parsed))
    if not isinstance(value, str):
        return None, NOT_A_TIME
    if value.strip().lower() in _RELATIVE:
        return None, RELATIVE_WORD
    match = TEXT_DATE.match(value)
    if match is not None:
        if match.group(6) == "60":
            return None, LEAP_SECOND
        parsed = parse_expiration(value)
        if parsed is None:
            return None, NO_SUCH_DAY if _MONTHS.get(match.group(1).lower()) else NOT_A_TIME
        return _in_frame(pd.Timestamp(parsed))
    stamp, problem = _iso_stamp(value)
    if stamp is None:
        return None, problem
    return _in_frame(stamp)


def _iso_stamp(text: str) -> tuple[pd.Timestamp | None, str | None]:
    """ISO 8601 text as a ``pd.Timestamp`` (zone as written), or why it is not a time."""
    match = ISO_8601.match(text)
    if match is None:
        return None, NOT_A_TIME
    year, _, month, day, hour, minute, second, off_h, off_m = match.groups()
    y, mo, d = int(year), int(month), int(day)
    leap_year = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= mo <= 12 or not 1 <= d <= _DAYS[mo - 1] or (mo == 2 and d == 29 and not leap_year):
        return None, NO_SUCH_DAY
    if int(hour or 0) > 23 or int(minute or 0) > 59 or int(off_h or 0) > 23 or int(off_m or 0) > 59:
        return None, NO_SUCH_DAY
    if second is not None and int(second) >= 60:
        return None, LEAP_SECOND if second == "60" else NO_SUCH_DAY
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        return None, OUT_OF_RANGE if y < 1678 or y > 2261 else NOT_A_TIME
    if stamp is pd.NaT:
        return None, NOT_A_TIME
    return stamp, None


def days_exist(year: Any, month: Any, day: Any, second: Any) -> Any:
    """Vectorised (numpy) check that days and seconds exist: no 30 February, no leap second.

    Example:
        >>> import numpy as np
        >>> days_exist(np.array([2025, 2024, 2025]), np.array([2, 2, 1]), np.array([30, 29, 20]),
        ...            np.array([0, 0, 60])).tolist()
        [False, True, False]
    """
    import numpy as np

    year, month, day = np.asarray(year), np.asarray(month), np.asarray(day)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = np.asarray(_DAYS)[np.clip(month, 1, 12) - 1] - ((month == 2) & ~leap)
    return (month >= 1) & (month <= 12) & (day >= 1) & (day <= days) & (np.asarray(second) <= 59)


def _timestamp(text: str) -> pd.Timestamp | None:
    """ISO 8601 text (strictly: no relative words, no impossible days, no leap seconds) in UTC."""
    stamp = _iso_stamp(text)[0]
    if stamp is None:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_iso(value: Any, *, strict: bool = False) -> datetime | None:
    """An ISO 8601 text (extended or basic; text without a zone is UTC) as an aware UTC datetime.

    An aware ``datetime`` (or ``pd.Timestamp``) comes back in UTC; ``None`` and ``""`` give ``None``,
    and so does anything else that does not parse, unless ``strict``.

    Raises:
        ValueError: for a naive ``datetime`` object; with ``strict``, for a value that is not a time.

    Example:
        >>> parse_iso("20131102T010628Z").isoformat()
        '2013-11-02T01:06:28+00:00'
        >>> parse_iso("2025-01-20T13:00:00+01:00").isoformat()
        '2025-01-20T12:00:00+00:00'
        >>> parse_iso("not a time") is None
        True
    """
    if isinstance(value, datetime):  # pd.Timestamp too
        if _missing(value):
            return None
        value = value.to_pydatetime(warn=False) if isinstance(value, pd.Timestamp) else value
        return require_aware(value).astimezone(UTC)
    if value is None or value == "":
        return None
    stamp = _timestamp(value) if isinstance(value, str) else None
    if stamp is None:
        if strict:
            raise ValueError(f"{value!r} is not an ISO 8601 time such as 2025-01-20T12:00:00Z")
        return None
    return stamp.to_pydatetime(warn=False)


def parse_expiration(text: Any) -> datetime | None:
    """STS's text expiration (``Jan 20, 2025, 9:14:27 PM``, full month names, no comma...) or ISO 8601, in UTC.

    The hour may be written 0-11 or 1-12 before ``AM``/``PM`` (both are seen): ``0:04:10 PM`` is 12:04:10.

    Example:
        >>> parse_expiration("Sep 17, 2020 8:04:10 PM").isoformat()
        '2020-09-17T20:04:10+00:00'
        >>> parse_expiration("January 20, 2025, 9:14:27 PM").isoformat()
        '2025-01-20T21:14:27+00:00'
        >>> parse_expiration("not a date") is None
        True
    """
    if not isinstance(text, str) or not text:
        return None
    match = TEXT_DATE.match(text)
    if match is None:
        return parse_iso(text)
    mon, day, year, hour, minute, sec, ampm = match.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    h = int(hour)
    if ampm:
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    try:
        return datetime(int(year), month, int(day), h, int(minute), int(sec or 0), tzinfo=UTC)
    except ValueError:
        return None


def parse_time(value: Any) -> datetime | None:
    """Any time CloudTrail writes, as an aware UTC datetime (``None`` when it is not a time).

    ISO 8601 (:func:`parse_iso`), STS text dates (:func:`parse_expiration`), epoch seconds or
    milliseconds (numbers); an aware ``datetime`` comes back in UTC.

    Raises:
        ValueError: for a naive ``datetime`` object.

    Example:
        >>> parse_time("Jan 20, 2025, 9:14:27 PM")
        datetime.datetime(2025, 1, 20, 21, 14, 27, tzinfo=datetime.timezone.utc)
        >>> parse_time(1737364467).isoformat()
        '2025-01-20T09:14:27+00:00'
    """
    if _missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return parse_iso(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    return parse_expiration(value)


def parse_user_time(text: str) -> datetime:
    """A time a person typed: ISO 8601 with ``Z`` or an offset, in UTC.

    Raises:
        ValueError: when it is not ISO 8601, or has no time zone (the message says how to write it).

    Example:
        >>> parse_user_time(" 2025-01-20T12:00:00z ").isoformat()
        '2025-01-20T12:00:00+00:00'
    """
    cleaned = text.strip().replace("z", "Z").replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time such as 2025-01-20T12:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it in UTC with a Z, like 2025-01-20T12:00:00Z")
    return value.astimezone(UTC)


def parse_user_day(text: str) -> date:
    """A day a person typed, ``YYYY-MM-DD`` (a partition of a trail, a window's first or last day).

    Raises:
        ValueError: when it is not such a day (the message says how to write it).

    Example:
        >>> parse_user_day(" 2025-01-20 ").isoformat()
        '2025-01-20'
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a day written YYYY-MM-DD, such as 2025-01-20") from None
