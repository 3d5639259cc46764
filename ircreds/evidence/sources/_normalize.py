"""One CloudTrail record (a dict) -> one row of the events frame; rows -> a typed frame.

This is the general, always-correct path every source can use. It is written for
clarity first and for speed second (plain dict lookups, no per-field function calls).

Example:
    >>> row = normalize_record({"eventTime": "2025-01-20T09:14:27Z", "eventName": "GetCallerIdentity",
    ...     "userIdentity": {"accessKeyId": "Unknown"}, "tlsDetails": {"tlsVersion": "TLSv1.3"}})
    >>> frame, bad_time = rows_to_frame([row], files=["a.json"], lines=[0])
    >>> frame.loc[0, "eventName"], frame.loc[0, "userIdentity.accessKeyId"] is pd.NA
    ('GetCallerIdentity', True)
    >>> frame.loc[0, "extra"]
    '{"tlsDetails":{"tlsVersion":"TLSv1.3"}}'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ircreds.evidence.sources._limits import DEPTH_REASON, UTF8_REASON, DepthError, EncodingError
from ircreds.redaction import might_hold_secret, redact, redact_text
from ircreds.schema import (
    BOOLEAN,
    CATEGORY,
    COLUMNS,
    DTYPES,
    EVIDENCE_COLUMNS,
    INT,
    STRING,
    TIME,
    as_category,
    empty_events,
)
from ircreds.schema import JSON_COLUMNS as JSON_COLUMNS  # the readers' name for the schema's list
from ircreds.times import FRAME_MAX, FRAME_MIN, ISO_8601, parse_time, parse_timestamp

#: Columns a record fills (everything but where it came from), in frame order.
CONTENT_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in EVIDENCE_COLUMNS)


class RecordError(ValueError):
    """A record that cannot become a row (the message is the reject reason)."""


# ---------------------------------------------------------------------------------------------
# JSON text and redaction (the rules live in ircreds.redaction; ``redact`` is re-exported here)

#: Free-text columns whose values are redacted like JSON text (token-shaped values, key=value text).
#: Identity columns (ARNs, names, key ids) are not: AWS caps those names at 64 characters, shorter
#: than any token, and rewriting them would let an attacker hide a name that looks like one.
TEXT_COLUMNS = ("userAgent", "errorCode", "errorMessage")
# Columns that hold compact JSON text (``JSON_COLUMNS``, the schema's list) are redacted by key,
# name/value pair and value.


def loads(data: bytes | str) -> Any:
    """Parse JSON with orjson, falling back to the standard library (integers over 64 bits).

    Raises:
        DepthError: JSON nested deeper than orjson goes (1,024 levels): never handed to a recursive parser.
        EncodingError: bytes that are not UTF-8.
        ValueError: any other invalid JSON.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        message = str(err)
        if message.startswith("depth limit exceeded"):
            raise DepthError(f"JSON nested too deep ({message})") from None
        if isinstance(data, bytes | bytearray | memoryview):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError as bad:
                raise EncodingError(f"not UTF-8 ({bad})") from None
        try:
            return json.loads(data)
        except RecursionError:
            raise DepthError("JSON nested too deep") from None


def dumps(value: Any) -> str:
    """Compact JSON text, key order kept.

    Raises:
        RecordError: for a value nested more than :data:`~ircreds.evidence.sources._limits.MAX_DEPTH`
            levels (orjson writes no deeper, and the record is a reject on every path).
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError as err:
        if str(err) == "Recursion limit reached":
            raise RecordError(DEPTH_REASON) from None
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        except RecursionError:
            raise RecordError(DEPTH_REASON) from None


def json_text(value: Any) -> str | None:
    """Compact, redacted JSON text of a nested value (None for JSON null)."""
    if value is None:
        return None
    text = dumps(value)
    if might_hold_secret(text):
        text = dumps(redact(value))
    return text


def free_text(value: Any) -> str | None:
    """A free-text column value (:data:`TEXT_COLUMNS`): as :func:`_s` gives it, redacted."""
    text = _s(value)
    return None if text is None else redact_text(text)


def free_texts(values: list[Any]) -> list[Any]:
    """:func:`free_text` of string values (None kept); each distinct value is looked at once."""
    seen: dict[str, str] = {}
    out: list[Any] = []
    for value in values:
        if value is not None:
            fixed = seen.get(value)
            if fixed is None:
                fixed = seen[value] = redact_text(value)
            value = fixed
        out.append(value)
    return out


def _json_field(value: Any) -> Any:
    """A nested field that some exports store as JSON text: parse it back when it is a document."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def _s(value: Any) -> str | None:
    """A string column value: strings as they are, other scalars as text, objects as JSON."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json_text(value)


def _key(value: Any) -> str | None:
    """An access key id column: ``""`` and ``"Unknown"`` mean no key."""
    value = _s(value)
    if value == "" or value == "Unknown":
        return None
    return value


def _b(value: Any) -> bool | None:
    if value is True or value is False:
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else _EMPTY


_EMPTY: dict = {}

# Which fields of a record become columns (True) or hold columns deeper down (a dict).
# Everything else is kept in the ``extra`` column.
_MAPPED: dict[str, Any] = {
    **dict.fromkeys(
        [
            "eventTime",
            "eventName",
            "eventSource",
            "awsRegion",
            "sourceIPAddress",
            "userAgent",
            "errorCode",
            "errorMessage",
            "recipientAccountId",
            "eventID",
            "requestID",
            "sharedEventID",
            "eventType",
            "readOnly",
            "vpcEndpointId",
            "requestParameters",
            "responseElements",
            "resources",
            "additionalEventData",
            "eventVersion",
            "eventCategory",
            "managementEvent",
            "sessionCredentialFromConsole",
            "serviceEventDetails",
        ],
        True,
    ),
    "userIdentity": {
        **dict.fromkeys(
            [
                "type",
                "arn",
                "accountId",
                "accessKeyId",
                "principalId",
                "userName",
                "invokedBy",
                "identityProvider",
            ],
            True,
        ),
        "inScopeOf": {"issuerType": True, "credentialsIssuedTo": True},
        "sessionContext": {
            "sessionIssuer": dict.fromkeys(["arn", "type", "userName", "principalId", "accountId"], True),
            "attributes": {"creationDate": True, "mfaAuthenticated": True},
            "sourceIdentity": True,
            "ec2RoleDelivery": True,
            "webIdFederationData": {"federatedProvider": True},
        },
    },
}


#: Known top-level fields that no column holds, in the order ``extra`` lists them (unknown ones follow).
EXTRA_FIELDS = (
    "userIdentity",
    "tlsDetails",
    "apiVersion",
    "addendum",
    "vpcEndpointAccountId",
    "edgeDeviceDetails",
    "insightDetails",
    "eventContext",
)
_EXTRA_ORDER = {name: i for i, name in enumerate(EXTRA_FIELDS)}


def _residual(record: dict, spec: dict) -> dict | None:
    """The parts of ``record`` that no column holds (None when nothing is left)."""
    out: dict | None = None
    for key, value in record.items():
        sub = spec.get(key)
        if sub is True:
            continue
        if sub is not None:
            if isinstance(value, dict):
                value = _residual(value, sub)
                if value is None:
                    continue
            elif value is None:
                continue
        if out is None:
            out = {}
        out[key] = value
    return out


def _time_raw(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise RecordError(
                f"time {value.isoformat()} has no time zone (a naive datetime); pass aware times"
            )
        return value.isoformat()
    return value


def unwrap(obj: Any) -> dict:
    """The CloudTrail record inside ``obj``: itself, an EventBridge ``detail`` or a LookupEvents event.

    Raises:
        RecordError: when ``obj`` is not a JSON object.
    """
    if not isinstance(obj, dict):
        raise RecordError(f"record is not a JSON object (got {type(obj).__name__})")
    detail = obj.get("detail")
    if isinstance(detail, dict) and "detail-type" in obj:
        return detail
    inner = obj.get("CloudTrailEvent")
    if inner is not None and "eventTime" not in obj:
        if isinstance(inner, dict):
            return inner
        try:
            parsed = loads(inner)
        except DepthError:
            raise RecordError(DEPTH_REASON) from None
        except EncodingError:
            raise RecordError(UTF8_REASON) from None
        except (ValueError, TypeError) as err:
            raise RecordError(f"CloudTrailEvent is not valid JSON ({err})") from None
        if not isinstance(parsed, dict):
            raise RecordError("CloudTrailEvent is not a JSON object")
        return parsed
    return obj


def looks_like_record(obj: Any) -> bool:
    """True when ``obj`` is a CloudTrail record or a known wrapper of one."""
    if not isinstance(obj, dict):
        return False
    if "CloudTrailEvent" in obj or ("detail-type" in obj and isinstance(obj.get("detail"), dict)):
        return True
    return any(k in obj for k in ("eventTime", "eventName", "eventSource", "eventVersion", "userIdentity"))


def normalize_record(record: dict) -> tuple:
    """One record -> a tuple of :data:`CONTENT_COLUMNS` values (times still raw).

    Raises:
        RecordError: when the record has no ``eventTime``, or holds a value nested too deep
            (:data:`~ircreds.evidence.sources._limits.DEPTH_REASON`).
    """
    try:
        return _normalize_record(record)
    except RecursionError:  # JSON text inside a string, parsed back and walked (redaction)
        raise RecordError(DEPTH_REASON) from None


def _normalize_record(record: dict) -> tuple:
    event_time = _time_raw(record.get("eventTime"))
    if event_time is None or event_time == "":
        raise RecordError("record has no eventTime")
    ui = _d(record.get("userIdentity"))
    sc = _d(ui.get("sessionContext"))
    si = _d(sc.get("sessionIssuer"))
    at = _d(sc.get("attributes"))
    scope = _d(ui.get("inScopeOf"))
    webid = _d(sc.get("webIdFederationData"))
    event_name = _s(record.get("eventName"))

    response = _json_field(record.get("responseElements"))
    issued_key = issued_exp = None
    if isinstance(response, dict):
        cred = response.get("credentials")
        if isinstance(cred, dict):
            issued_key = _key(cred.get("accessKeyId"))
            issued_exp = _time_raw(cred.get("expiration"))
        elif event_name == "CreateAccessKey":
            issued_key = _key(_d(response.get("accessKey")).get("accessKeyId"))

    rest = _residual(record, _MAPPED)
    if rest is not None and len(rest) > 1:  # a fixed order for known fields, so every path agrees
        rest = dict(sorted(rest.items(), key=lambda kv: _EXTRA_ORDER.get(kv[0], len(_EXTRA_ORDER))))
    return (
        event_time,
        event_name,
        _s(record.get("eventSource")),
        _s(record.get("awsRegion")),
        _s(record.get("sourceIPAddress")),
        free_text(record.get("userAgent")),
        free_text(record.get("errorCode")),
        free_text(record.get("errorMessage")),
        _s(ui.get("type")),
        _s(ui.get("arn")),
        _s(ui.get("accountId")),
        _key(ui.get("accessKeyId")),
        _s(ui.get("principalId")),
        _s(ui.get("userName")),
        _s(ui.get("invokedBy")),
        _s(si.get("arn")),
        _time_raw(at.get("creationDate")),
        _b(at.get("mfaAuthenticated")),
        _s(sc.get("sourceIdentity")),
        _s(record.get("recipientAccountId")),
        _s(record.get("eventID")),
        _s(record.get("requestID")),
        _s(record.get("sharedEventID")),
        _s(record.get("eventType")),
        _b(record.get("readOnly")),
        _s(record.get("vpcEndpointId")),
        json_text(_json_field(record.get("requestParameters"))),
        json_text(response),
        json_text(_json_field(record.get("resources"))),
        json_text(_json_field(record.get("additionalEventData"))),
        issued_key,
        issued_exp,
        _s(record.get("eventVersion")),
        _s(record.get("eventCategory")),
        _b(record.get("managementEvent")),
        _s(si.get("type")),
        _s(si.get("userName")),
        _s(si.get("principalId")),
        _s(si.get("accountId")),
        _s(sc.get("ec2RoleDelivery")),
        _s(scope.get("issuerType")),
        _s(scope.get("credentialsIssuedTo")),
        _s(ui.get("identityProvider")),
        _s(webid.get("federatedProvider")),
        _b(record.get("sessionCredentialFromConsole")),
        json_text(_json_field(record.get("serviceEventDetails"))),
        json_text(rest),
    )


# ---------------------------------------------------------------------------------------------
# Times (parsed by ircreds.times; here a value that is not a time is None, so its record is rejected)


def parse_time_one(value: Any) -> datetime | None:
    """:func:`ircreds.times.parse_time`, with None for a naive ``datetime`` (its record is rejected).

    Example:
        >>> parse_time_one("Jan 20, 2025, 9:14:27 PM")
        datetime.datetime(2025, 1, 20, 21, 14, 27, tzinfo=datetime.timezone.utc)
        >>> parse_time_one(datetime(2025, 1, 20, 9, 14, 27)) is None
        True
    """
    try:
        return parse_time(value)
    except ValueError:
        return None


def parse_timestamp_one(value: Any) -> pd.Timestamp | None:
    """Like :func:`parse_time_one` but keeps nanoseconds (a UTC ``pd.Timestamp``)."""
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def parse_times(values: Sequence[Any]) -> tuple[pd.arrays.DatetimeArray, np.ndarray]:
    """Parse a column of raw times; return the UTC times and a mask of values that did not parse.

    The evidence time rule of :mod:`ircreds.times` holds: pandas only sees strict ISO 8601 text (no
    ``now``/``today``), its out-of-range results are dropped, everything else goes value by value.
    """
    raw = pd.Series(values, dtype=object)
    present = raw.notna().to_numpy()
    if not present.any():
        return pd.array(pd.Series([pd.NaT] * len(raw), dtype=TIME)), np.zeros(len(raw), dtype=bool)
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    text = raw.where(is_str, None)
    iso = text.str.fullmatch(ISO_8601.pattern).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.where(iso, None), format="ISO8601", utc=True, errors="coerce")
    parsed = parsed.where((parsed >= FRAME_MIN) & (parsed <= FRAME_MAX)).astype(TIME)
    missing = present & parsed.isna().to_numpy()
    if missing.any():
        idx = np.flatnonzero(missing)
        fixed = [parse_timestamp_one(values[i]) for i in idx]
        fixed_series = pd.Series([pd.NaT if f is None else f for f in fixed], index=idx, dtype=object)
        parsed.iloc[idx] = pd.to_datetime(fixed_series, utc=True).astype(TIME).to_numpy()
        missing = present & parsed.isna().to_numpy()
    return parsed.array, missing


# ---------------------------------------------------------------------------------------------
# Rows -> frame


def column_array(name: str, values: Sequence[Any]) -> Any:
    """A typed pandas array for one canonical column from Python values (times already parsed)."""
    dtype = DTYPES[name]
    if dtype == CATEGORY:
        return as_category(values)
    if dtype is STRING:
        return pd.array(values, dtype=STRING)
    if dtype is BOOLEAN:
        return pd.array(values, dtype=BOOLEAN)
    if dtype is INT:
        return pd.array(values, dtype=INT)
    raise TypeError(name)


def rows_to_frame(
    rows: Sequence[tuple], *, files: Sequence[str | None], lines: Sequence[int | None]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Build a typed frame from normalized rows, plus a mask of rows whose eventTime did not parse.

    Unparseable ``creationDate`` / ``expiration`` values become ``NaT`` (the record is kept);
    an unparseable ``eventTime`` is for the caller to reject.
    """
    if not rows:
        return empty_events(), np.zeros(0, dtype=bool)
    cols = list(zip(*rows, strict=True))
    return columns_to_frame(dict(zip(CONTENT_COLUMNS, cols, strict=True)), files=files, lines=lines)


def columns_to_frame(
    columns: dict[str, Sequence[Any]], *, files: Sequence[str | None], lines: Sequence[int | None]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Like :func:`rows_to_frame` for column lists keyed by :data:`CONTENT_COLUMNS`."""
    data: dict[str, Any] = {}
    n = len(lines)
    bad_time = np.zeros(n, dtype=bool)
    for name in CONTENT_COLUMNS:
        values = columns[name]
        if DTYPES[name] is TIME:
            parsed, bad = parse_times(values)
            data[name] = parsed
            if name == "eventTime":
                bad_time = bad
        else:
            data[name] = column_array(name, values)
    data["evidence.file"] = pd.array(files, dtype=STRING)
    data["evidence.line"] = pd.array(lines, dtype=INT)
    frame = pd.DataFrame({c: data[c] for c in COLUMNS})
    return frame, bad_time
