"""Time, one way: every ISO/UTC parse and format in ircreds goes through here.

- :func:`iso_z` writes a time as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the form of every JSON output and
  policy document); ``fraction=True`` keeps a fractional second when there is one.
- :func:`parse_iso` reads ISO 8601 (extended or basic, ``Z`` or an offset, up to nanoseconds).
- :func:`parse_expiration` reads STS's text expiration (``Jan 20, 2025, 9:14:27 PM``,
  ``January 20, 2025, 9:14:27 PM``, ``Sep 17, 2020 8:04:10 PM``) and ISO 8601.
- :func:`parse_time` reads any time CloudTrail writes: both of those, and epoch seconds or milliseconds.
- :func:`parse_user_time` reads what a person typed (a command line, a widget): ISO 8601 *with* a zone.

Text without a zone in the evidence is UTC (CloudTrail and IAM both read it so). A naive ``datetime``
object is a mistake in the caller and is refused everywhere (:class:`ValueError`).

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
from datetime import UTC, datetime
from typing import Any

import pandas as pd

__all__ = [
    "ISO_Z",
    "UTC",
    "iso_z",
    "parse_expiration",
    "parse_iso",
    "parse_time",
    "parse_timestamp",
    "parse_user_time",
    "require_aware",
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
    """Like :func:`parse_time`, as a UTC ``pd.Timestamp`` that keeps nanoseconds.

    Example:
        >>> parse_timestamp("2025-01-20T09:14:27.123456789Z").nanosecond
        789
    """
    if isinstance(value, str) and not TEXT_DATE.match(value):
        return _timestamp(value)
    parsed = parse_time(value)
    return None if parsed is None else pd.Timestamp(parsed)


def _timestamp(text: str) -> pd.Timestamp | None:
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if stamp is pd.NaT:
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
