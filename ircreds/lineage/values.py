"""One CloudTrail record's values, read and coerced: strings, key ids, times, JSON, ARN parts.

The small readers the lineage is built with (``ircreds.lineage.issuance``, ``ircreds.lineage.index``): a
column that may be missing, a cell that may be NA, an ``accessKeyId`` that may be a placeholder, a
time that may be ISO 8601 or STS's text expiration, a JSON object that may still be a string.

Example:
    >>> _key("Unknown") is None, _key("ASIAIOSFODNN7EXAMPLE")
    (True, 'ASIAIOSFODNN7EXAMPLE')
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

_NO_KEY = frozenset({"", "Unknown", "unknown", "None", "null"})
_EXPIRATION = re.compile(
    r"^\s*([A-Za-z]{3})\s+(\d{1,2}),?\s+(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AaPp][Mm])?\s*$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def _col(events: pd.DataFrame, name: str) -> pd.Series:
    if name in events.columns:
        return events[name]
    return pd.Series(pd.NA, index=events.index, dtype=object)


def _time_col(events: pd.DataFrame, name: str) -> pd.Series:
    s = _col(events, name)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s
    return pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")


def _str(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    text = str(value)
    return text if text else None


def _key(value: Any) -> str | None:
    text = _str(value)
    if text is None or text in _NO_KEY:
        return None
    return text


def _ts(value: Any) -> datetime | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        parsed = pd.to_datetime(value, utc=True, errors="coerce", format="ISO8601")
        if pd.isna(parsed):
            return parse_expiration(value)
        return parsed.to_pydatetime()
    return None


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = _str(value)
    if not text or text[0] != "{":
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def parse_expiration(text: str | None) -> datetime | None:
    """Parse STS's text expiration (``"Jan 20, 2025, 9:14:27 PM"``, also without commas) as UTC.

    Example:
        >>> parse_expiration("Sep 17, 2020 8:04:10 PM").isoformat()
        '2020-09-17T20:04:10+00:00'
        >>> parse_expiration("not a date") is None
        True
    """
    if not text:
        return None
    m = _EXPIRATION.match(text)
    if not m:
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        return None if pd.isna(parsed) else parsed.to_pydatetime()
    mon, day, year, hour, minute, second, ampm = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    h = int(hour)
    if ampm:
        # "0:00:00 PM" has been seen in the wild: treat hour 0 as written.
        if ampm.lower() == "pm" and 0 < h < 12:
            h += 12
        elif ampm.lower() == "am" and h == 12:
            h = 0
    try:
        return datetime(int(year), month, int(day), h, int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None


def _account_of(arn: str | None) -> str | None:
    if not arn:
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def _session_name_of(arn: str | None, principal_id: str | None) -> str | None:
    if arn and ":assumed-role/" in arn:
        return arn.rsplit("/", 1)[-1]
    if arn and ":federated-user/" in arn:
        return arn.rsplit("/", 1)[-1]
    if principal_id and ":" in principal_id:
        return principal_id.split(":", 1)[1]
    return None


def _role_name(role_arn: str | None) -> str | None:
    return role_arn.rsplit("/", 1)[-1] if role_arn else None


def _records(events: pd.DataFrame, mask: pd.Series | np.ndarray, fields: tuple[str, ...]) -> list[dict]:
    sub = events.loc[mask]
    cols = {name: _col(sub, name).tolist() for name in fields}
    n = len(sub)
    return [{name: cols[name][i] for name in fields} for i in range(n)]
