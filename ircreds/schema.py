"""The events frame: canonical columns, their dtypes, and a validator.

Every source produces exactly these columns, in this order, with these dtypes. Column
names are CloudTrail's own dotted paths, so analysts recognise them. Add columns at the
end, never rename one: every later step (sessions, trace, findings) reads them.

Dtypes:

- times are ``datetime64[ns, UTC]`` (``NaT`` when absent);
- low-cardinality strings (names, sources, regions, identity types, error codes, account
  ids, event types) are ``category``;
- other strings are ``pd.StringDtype("pyarrow")`` (missing is ``pd.NA``, never ``""``
  placeholders or ``NaN``);
- flags are the nullable ``boolean`` dtype; ``evidence.line`` is nullable ``Int64``;
- ``requestParameters``, ``responseElements``, ``resources``, ``additionalEventData``,
  ``serviceEventDetails`` and ``extra`` hold compact JSON text (``pd.NA`` when absent or
  JSON ``null``), parsed on demand with :func:`json.loads`.

Example:
    >>> from ircreds.schema import COLUMNS, empty_events, validate_events
    >>> COLUMNS[0], COLUMNS[1]
    ('eventTime', 'eventName')
    >>> df = empty_events()
    >>> list(df.columns) == list(COLUMNS), len(df)
    (True, 0)
    >>> str(df["eventTime"].dtype)
    'datetime64[ns, UTC]'
    >>> validate_events(df) is df
    True
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from ircreds.errors import LogFormatError

TIME = pd.DatetimeTZDtype(unit="ns", tz="UTC")
STRING = pd.StringDtype("pyarrow")
CATEGORY = "category"
BOOLEAN = pd.BooleanDtype()
INT = pd.Int64Dtype()

#: column -> dtype (``"category"`` for categoricals), in frame order.
DTYPES: dict[str, Any] = {
    "eventTime": TIME,
    "eventName": CATEGORY,
    "eventSource": CATEGORY,
    "awsRegion": CATEGORY,
    "sourceIPAddress": STRING,
    "userAgent": STRING,
    "errorCode": CATEGORY,
    "errorMessage": STRING,
    "userIdentity.type": CATEGORY,
    "userIdentity.arn": STRING,
    "userIdentity.accountId": CATEGORY,
    "userIdentity.accessKeyId": STRING,
    "userIdentity.principalId": STRING,
    "userIdentity.userName": STRING,
    "userIdentity.invokedBy": CATEGORY,
    "userIdentity.sessionContext.sessionIssuer.arn": STRING,
    "userIdentity.sessionContext.attributes.creationDate": TIME,
    "userIdentity.sessionContext.attributes.mfaAuthenticated": BOOLEAN,
    "userIdentity.sessionContext.sourceIdentity": STRING,
    "recipientAccountId": CATEGORY,
    "eventID": STRING,
    "requestID": STRING,
    "sharedEventID": STRING,
    "eventType": CATEGORY,
    "readOnly": BOOLEAN,
    "vpcEndpointId": STRING,
    "requestParameters": STRING,
    "responseElements": STRING,
    "resources": STRING,
    "additionalEventData": STRING,
    "issued.accessKeyId": STRING,
    "issued.expiration": TIME,
    "evidence.file": STRING,
    "evidence.line": INT,
    # added for the tracer (issue 4); appended, never reordered
    "eventVersion": CATEGORY,
    "eventCategory": CATEGORY,
    "managementEvent": BOOLEAN,
    "userIdentity.sessionContext.sessionIssuer.type": CATEGORY,
    "userIdentity.sessionContext.sessionIssuer.userName": STRING,
    "userIdentity.sessionContext.sessionIssuer.principalId": STRING,
    "userIdentity.sessionContext.sessionIssuer.accountId": CATEGORY,
    "userIdentity.sessionContext.ec2RoleDelivery": CATEGORY,
    "userIdentity.inScopeOf.issuerType": CATEGORY,
    "userIdentity.inScopeOf.credentialsIssuedTo": STRING,
    "userIdentity.identityProvider": STRING,
    "userIdentity.sessionContext.webIdFederationData.federatedProvider": STRING,
    "sessionCredentialFromConsole": BOOLEAN,
    "serviceEventDetails": STRING,
    "extra": STRING,
}

#: The canonical column names, in frame order.
COLUMNS: tuple[str, ...] = tuple(DTYPES)

TIME_COLUMNS: tuple[str, ...] = tuple(c for c, t in DTYPES.items() if t is TIME)
CATEGORY_COLUMNS: tuple[str, ...] = tuple(c for c, t in DTYPES.items() if t == CATEGORY)
BOOLEAN_COLUMNS: tuple[str, ...] = tuple(c for c, t in DTYPES.items() if t is BOOLEAN)
STRING_COLUMNS: tuple[str, ...] = tuple(c for c, t in DTYPES.items() if t is STRING)
#: Columns holding compact JSON text.
JSON_COLUMNS: tuple[str, ...] = (
    "requestParameters",
    "responseElements",
    "resources",
    "additionalEventData",
    "serviceEventDetails",
    "extra",
)
#: Columns that say where a row came from, not what the record says.
EVIDENCE_COLUMNS: tuple[str, ...] = ("evidence.file", "evidence.line")

#: What replaces a session token or secret key found anywhere in a record.
REDACTED = "<redacted>"


class LoadReport(dict):
    """The load report (``df.attrs["load_report"]``): a plain ``dict`` that pandas shares, never copies.

    pandas deep-copies ``attrs`` into every frame or column derived from a frame (each ``.loc``,
    ``df[col]``, ``take``): a load report that lists thousands of skipped files would be copied
    thousands of times per trace. Derived frames come from the same load, so they share one report.

    Example:
        >>> import copy
        >>> report = LoadReport(events=2)
        >>> copy.deepcopy(report) is report, isinstance(report, dict)
        (True, True)
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> LoadReport:
        return self

    def __copy__(self) -> LoadReport:
        return self


def share_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Make ``frame``'s load report (when it has one) a :class:`LoadReport`; return the frame."""
    report = frame.attrs.get("load_report")
    if isinstance(report, dict) and not isinstance(report, LoadReport):
        frame.attrs["load_report"] = LoadReport(report)
    return frame


def empty_events() -> pd.DataFrame:
    """An events frame with no rows and every canonical column and dtype.

    Example:
        >>> empty_events().shape[1] == len(COLUMNS)
        True
    """
    return pd.DataFrame({c: pd.Series([], dtype=_concrete(t)) for c, t in DTYPES.items()})


def _concrete(dtype: Any) -> Any:
    return empty_category() if dtype == CATEGORY else dtype


def empty_category() -> pd.CategoricalDtype:
    """The dtype of an empty categorical column: no categories, string-typed."""
    return pd.CategoricalDtype(pd.Index([], dtype=STRING), ordered=False)


def as_category(values: Any) -> pd.Categorical:
    """A categorical whose categories are always pandas strings (even when all values are missing)."""
    cat = pd.Categorical(pd.array(values, dtype=STRING) if not isinstance(values, pd.Series) else values)
    if cat.categories.dtype != STRING:
        cat = (
            cat.rename_categories(pd.Index(cat.categories, dtype=STRING))
            if len(cat.categories)
            else (pd.Categorical.from_codes(cat.codes, dtype=empty_category()))
        )
    return cat


def _matches(actual: Any, expected: Any) -> bool:
    if expected == CATEGORY:
        return isinstance(actual, pd.CategoricalDtype)
    return actual == expected


def schema_problems(df: pd.DataFrame) -> list[str]:
    """What differs between ``df`` and the events-frame contract (empty when it conforms).

    Example:
        >>> schema_problems(empty_events())
        []
        >>> schema_problems(empty_events().drop(columns=["eventName"]))
        ['missing column eventName']
    """
    problems = []
    columns = list(df.columns)
    for name, dtype in DTYPES.items():
        if name not in df.columns:
            problems.append(f"missing column {name}")
        elif not _matches(df[name].dtype, dtype):
            problems.append(f"column {name} has dtype {df[name].dtype}, expected {dtype}")
    present = [c for c in columns if c in DTYPES]
    if not problems and present != list(COLUMNS):
        problems.append("columns are not in the canonical order (see ircreds.schema.COLUMNS)")
    return problems


def validate_events(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` unchanged if it is an events frame, else raise :class:`LogFormatError`.

    Extra columns after the canonical ones are allowed (later steps may add their own).

    Raises:
        LogFormatError: naming every missing or mistyped column.
    """
    problems = schema_problems(df)
    if problems:
        raise LogFormatError(
            "not an ircreds events frame: " + "; ".join(problems) + ". Build it with ircreds.load()."
        )
    return df


def coerce_events(df: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame that has the canonical columns to the canonical dtypes and order.

    Used when reading a saved frame back (parquet may return the default string dtype).
    Missing canonical columns are added, all missing values.
    """
    n = len(df)
    out: dict[str, pd.Series] = {}
    for name, dtype in DTYPES.items():
        if name not in df.columns:
            out[name] = pd.Series(pd.array([None] * n, dtype=_concrete(dtype)), index=df.index)
            continue
        col = df[name]
        if dtype == CATEGORY:
            if not isinstance(col.dtype, pd.CategoricalDtype) or col.cat.categories.dtype != STRING:
                col = pd.Series(as_category(col.astype(STRING)), index=df.index)
        elif dtype is TIME:
            col = pd.to_datetime(col, utc=True).astype(TIME)
        elif col.dtype != dtype:
            col = col.astype(dtype)
        out[name] = col
    extra_cols = {c: df[c] for c in df.columns if c not in DTYPES}
    frame = pd.DataFrame({**out, **extra_cols}, index=df.index)
    frame.attrs.update(df.attrs)
    return share_report(frame)


def concat_events(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack events frames, keeping every canonical dtype (categories are unioned).

    Example:
        >>> len(concat_events([empty_events(), empty_events()]))
        0
    """
    frames = [f for f in frames if len(f)] or frames[:1] or [empty_events()]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    data: dict[str, Any] = {}
    for name in COLUMNS:
        parts = [f[name] for f in frames]
        if DTYPES[name] == CATEGORY:
            data[name] = union_categoricals([p.array for p in parts])
        else:
            data[name] = pd.concat(parts, ignore_index=True).array
    return pd.DataFrame(data)


# ---------------------------------------------------------------------------------------------
# What some column values mean (one place: findings, verification and the AWS layer read these)

#: ``errorCode`` values that mean the call was refused for lack of permission (an explicit or an
#: implicit deny), as CloudTrail writes them across services (aws-facts §5.3). Codes that merely
#: contain ``AccessDenied`` or ``Unauthorized`` (``Client.``-prefixed forms) count too: see
#: :func:`is_denied_code`.
DENIED_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "Client.UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
    }
)
_DENIED_PARTS = ("AccessDenied", "Unauthorized")

#: Calls no IAM policy can deny, the ``aws:TokenIssueTime`` cut-off included: they need no
#: permission, so the attacker's probes keep succeeding after the cut-off (aws-facts §5.3).
NEVER_DENIED_ACTIONS = frozenset({"sts:GetCallerIdentity"})


def is_denied_code(code: Any) -> bool:
    """True when ``errorCode`` says the call was refused for lack of permission.

    Example:
        >>> is_denied_code("AccessDenied"), is_denied_code("Client.UnauthorizedOperation")
        (True, True)
        >>> is_denied_code("ThrottlingException"), is_denied_code(None)
        (False, False)
    """
    if not isinstance(code, str) or not code:
        return False
    return code in DENIED_ERROR_CODES or any(part in code for part in _DENIED_PARTS)


def denied_codes(codes: pd.Series) -> pd.Series:
    """:func:`is_denied_code` for a column of error codes (a boolean Series, False where missing)."""
    text = codes.astype("string")
    hit = text.isin(sorted(DENIED_ERROR_CODES))
    for part in _DENIED_PARTS:
        hit |= text.str.contains(part, regex=False)
    return hit.fillna(False).astype(bool)


def call_action(event_source: Any, event_name: Any) -> str | None:
    """The IAM action of a logged call: ``sts.amazonaws.com`` + ``GetCallerIdentity`` -> ``sts:GetCallerIdentity``.

    Example:
        >>> call_action("sts.amazonaws.com", "GetCallerIdentity")
        'sts:GetCallerIdentity'
    """
    if not isinstance(event_source, str) or not isinstance(event_name, str) or not event_name:
        return None
    return f"{event_source.split('.', 1)[0]}:{event_name}"


def is_never_denied(event_source: Any, event_name: Any) -> bool:
    """True for a call no deny blocks (``sts:GetCallerIdentity``), compared case-insensitively.

    Example:
        >>> is_never_denied("sts.amazonaws.com", "GetCallerIdentity"), is_never_denied("s3.amazonaws.com", "ListBuckets")
        (True, False)
    """
    action = call_action(event_source, event_name)
    return action is not None and action.lower() in {a.lower() for a in NEVER_DENIED_ACTIONS}


def never_denied(event_sources: pd.Series, event_names: pd.Series) -> pd.Series:
    """:func:`is_never_denied` for columns of event sources and names (a boolean Series)."""
    actions = event_sources.astype("string").str.split(".", n=1).str[0] + ":" + event_names.astype("string")
    return (
        actions.str.lower().isin(sorted(a.lower() for a in NEVER_DENIED_ACTIONS)).fillna(False).astype(bool)
    )
