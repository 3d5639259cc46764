"""One CloudTrail record's values, read and coerced: strings, key ids, times, JSON, ARN parts.

The small readers the lineage is built with (``ircreds.lineage.issuance``, ``ircreds.lineage.index``): a
column that may be missing, a cell that may be NA, an ``accessKeyId`` that may be a placeholder, a
time that may be ISO 8601 or STS's text expiration, a JSON object that may still be a string.

Example:
    >>> _key("Unknown") is None, _key("ASIAIOSFODNN7EXAMPLE")
    (True, 'ASIAIOSFODNN7EXAMPLE')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pandas as pd

from ircreds.times import parse_expiration as parse_expiration  # public here since 0.1

_NO_KEY = frozenset({"", "Unknown", "unknown", "None", "null"})


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
    # the few columns first, then the rows: filtering every column of a wide frame is the cost
    sub = events[[name for name in fields if name in events.columns]][mask]
    cols = {name: _col(sub, name).tolist() for name in fields}
    n = len(sub)
    return [{name: cols[name][i] for name in fields} for i in range(n)]
