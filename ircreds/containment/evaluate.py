"""Evaluate ircreds' own deny policies against sessions and logged calls (moto does not).

moto ignores policy conditions (any conditional Deny acts as a plain Deny), so ircreds decides for
itself whether a deny reaches a request. Only what ircreds writes is supported, and anything else is
refused with :class:`~ircreds.errors.PolicyError` rather than guessed:

- operators ``DateLessThan`` / ``DateLessThanEquals`` / ``DateGreaterThan`` / ``DateGreaterThanEquals``
  / ``DateEquals``, ``StringEquals`` / ``StringNotEquals`` / ``StringLike`` / ``StringNotLike``,
  ``IpAddress`` / ``NotIpAddress``, ``Bool``, each also with the ``…IfExists`` suffix;
- keys ``aws:TokenIssueTime``, ``aws:userid``, ``aws:SourceIp``, ``aws:SourceIdentity``,
  ``aws:ViaAWSService`` (key names are case-insensitive, values case-sensitive, as in IAM);
- ``Action`` patterns with ``*`` / ``?`` (case-insensitive), ``Resource`` ``"*"``.

IAM semantics kept: operators AND, keys AND, values OR (NOR for negated operators); a key absent from
the request makes a condition false, except for negated operators (true) and ``…IfExists`` (true).
Long-term keys have no ``aws:TokenIssueTime``, so the cut-off never reaches them; a session issued
in the cut-off second survives (``DateLessThan`` is strict). ``sts:GetCallerIdentity`` needs no
permission and no deny blocks it.

Example:
    >>> from datetime import UTC, datetime
    >>> from ircreds.containment.policy import cutoff_policy
    >>> doc = cutoff_policy(datetime(2025, 1, 20, 12, 0, tzinfo=UTC))
    >>> is_denied(doc, RequestContext(token_issue_time=datetime(2025, 1, 20, 11, 59, 59, tzinfo=UTC)))
    True
    >>> is_denied(doc, RequestContext(token_issue_time=datetime(2025, 1, 20, 12, 0, 0, tzinfo=UTC)))
    False
"""

from __future__ import annotations

import enum
import ipaddress
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ircreds.errors import PolicyError
from ircreds.schema import NEVER_DENIED_ACTIONS, never_denied
from ircreds.schema import call_action as call_action  # public here since 0.1
from ircreds.times import parse_iso

#: :data:`ircreds.schema.NEVER_DENIED_ACTIONS`, lower-cased (IAM compares actions case-insensitively).
UNBLOCKABLE_ACTIONS = frozenset(a.lower() for a in NEVER_DENIED_ACTIONS)
"""Actions that need no permission, so no deny ever blocks them (aws-facts §3.7)."""


class Decision(enum.StrEnum):
    """What a deny policy does to one request."""

    DENY = "deny"
    NOT_DENIED = "not-denied"


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """The request-context keys the evaluator knows; ``None`` means the key is absent from the request."""

    action: str | None = None
    token_issue_time: datetime | None = None
    userid: str | None = None
    source_ip: str | None = None
    source_identity: str | None = None
    via_aws_service: bool | None = None

    def __post_init__(self) -> None:
        if self.token_issue_time is not None and self.token_issue_time.tzinfo is None:
            raise ValueError(f"token_issue_time must be timezone-aware, got {self.token_issue_time!r}")

    def value(self, key: str) -> Any:
        """The value of a condition key (case-insensitive name), ``None`` when absent."""
        attr = _KEYS.get(key.lower())
        if attr is None:
            raise PolicyError(
                f"condition key {key!r} is not one ircreds can evaluate; supported: {', '.join(_KEY_NAMES)}"
            )
        return getattr(self, attr)


_KEY_NAMES = ("aws:TokenIssueTime", "aws:userid", "aws:SourceIp", "aws:SourceIdentity", "aws:ViaAWSService")
_KEYS = {
    "aws:tokenissuetime": "token_issue_time",
    "aws:userid": "userid",
    "aws:sourceip": "source_ip",
    "aws:sourceidentity": "source_identity",
    "aws:viaawsservice": "via_aws_service",
}


# ---------------------------------------------------------------------------------------------- values


def parse_date(value: Any) -> datetime:
    """A policy date: W3C ISO 8601 (``2025-01-20T12:00:00Z``, basic ``20250120T120000Z``) or epoch seconds.

    Example:
        >>> parse_date("2025-01-20T12:00:00Z").isoformat()
        '2025-01-20T12:00:00+00:00'
        >>> parse_date(0).isoformat()
        '1970-01-01T00:00:00+00:00'
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PolicyError(f"date {value!r} has no time zone")
        return value.astimezone(UTC)
    if isinstance(value, bool):
        raise PolicyError(f"{value!r} is not a date")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    parsed = parse_iso(text)  # IAM, like ircreds.times, reads a date without offset as UTC
    if parsed is None:
        raise PolicyError(f"{text!r} is not a date IAM accepts (ISO 8601 or epoch seconds)")
    return parsed


@lru_cache(maxsize=1024)
def _like(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _ip(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# ------------------------------------------------------------------------------------------- operators


def _date_op(compare: Any) -> Any:
    def op(actual: datetime, expected: Any) -> bool:
        return bool(compare(actual.astimezone(UTC), parse_date(expected)))

    return op


def _bool_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in {"true", "false"}:
        raise PolicyError(f"{value!r} is not a Bool condition value (true or false)")
    return text == "true"


def _ip_in(actual: Any, expected: Any) -> bool:
    address = _ip(actual)
    if address is None:
        return False
    try:
        return address in ipaddress.ip_network(str(expected), strict=False)
    except ValueError:
        raise PolicyError(f"{expected!r} is not an IP address or CIDR block") from None


# name -> (match one expected value, negated)
_OPERATORS: dict[str, tuple[Any, bool]] = {
    "datelessthan": (_date_op(lambda a, e: a < e), False),
    "datelessthanequals": (_date_op(lambda a, e: a <= e), False),
    "dategreaterthan": (_date_op(lambda a, e: a > e), False),
    "dategreaterthanequals": (_date_op(lambda a, e: a >= e), False),
    "dateequals": (_date_op(lambda a, e: a == e), False),
    "stringequals": (lambda a, e: str(a) == str(e), False),
    "stringnotequals": (lambda a, e: str(a) == str(e), True),
    "stringlike": (lambda a, e: _like(str(e)).fullmatch(str(a)) is not None, False),
    "stringnotlike": (lambda a, e: _like(str(e)).fullmatch(str(a)) is not None, True),
    "ipaddress": (_ip_in, False),
    "notipaddress": (_ip_in, True),
    "bool": (lambda a, e: bool(a) == _bool_value(e), False),
}
_KEY_TYPES = {"aws:tokenissuetime": "date", "aws:sourceip": "ip", "aws:viaawsservice": "bool"}
_OPERATOR_TYPES = {"date": "date", "ipaddress": "ip", "notipaddress": "ip", "bool": "bool"}


def _operator_type(name: str) -> str:
    for prefix, kind in _OPERATOR_TYPES.items():
        if name.startswith(prefix):
            return kind
    return "string"


@dataclass(frozen=True, slots=True)
class _Condition:
    key: str
    match: Any
    negated: bool
    if_exists: bool
    values: tuple[Any, ...]
    op: str = ""

    def holds(self, ctx: RequestContext) -> bool:
        actual = ctx.value(self.key)
        if actual is None:
            return self.if_exists or self.negated
        hit = any(self.match(actual, expected) for expected in self.values)
        return not hit if self.negated else hit


@dataclass(frozen=True, slots=True)
class _Statement:
    actions: tuple[re.Pattern[str], ...]
    conditions: tuple[_Condition, ...]

    def applies(self, ctx: RequestContext) -> bool:
        if ctx.action is not None and not any(p.fullmatch(ctx.action.lower()) for p in self.actions):
            return False
        return all(c.holds(ctx) for c in self.conditions)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A parsed deny policy, checked once, evaluated many times (see :func:`compile_policy`)."""

    statements: tuple[_Statement, ...]

    def decide(self, ctx: RequestContext) -> Decision:
        """Deny if any Deny statement applies to the request."""
        if ctx.action is not None and ctx.action.lower() in UNBLOCKABLE_ACTIONS:
            return Decision.NOT_DENIED
        if any(s.applies(ctx) for s in self.statements):
            return Decision.DENY
        return Decision.NOT_DENIED

    def denies(self, ctx: RequestContext) -> bool:
        """True when the policy explicitly denies the request."""
        return self.decide(ctx) is Decision.DENY


def _compile_condition(operator: str, key: str, values: Any) -> _Condition:
    name = operator.lower()
    if_exists = name.endswith("ifexists")
    base = name.removesuffix("ifexists")
    if ":" in base:
        raise PolicyError(f"condition operator {operator!r} (set qualifier) is not supported by ircreds")
    if base not in _OPERATORS:
        raise PolicyError(
            f"condition operator {operator!r} is not one ircreds evaluates; "
            "supported: Date*, String(Not)Equals, String(Not)Like, (Not)IpAddress, Bool (+IfExists)"
        )
    RequestContext().value(key)  # raises on an unknown key
    key_type = _KEY_TYPES.get(key.lower(), "string")
    op_type = _operator_type(base)
    if key_type != op_type:
        raise PolicyError(f"operator {operator!r} cannot test {key!r} (a {key_type} key)")
    match, negated = _OPERATORS[base]
    expected = tuple(_as_list(values))
    if not expected:
        raise PolicyError(f"condition {operator} {key} has no values")
    for value in expected:  # validate eagerly: a bad value fails at compile time, not mid-evaluation
        if op_type == "date":
            parse_date(value)
        elif op_type == "ip":
            _ip_in("192.0.2.1", value)
        elif op_type == "bool":
            _bool_value(value)
    return _Condition(key, match, negated, if_exists, expected, base)


def _compile_statement(stmt: Mapping[str, Any]) -> _Statement | None:
    unknown = set(stmt) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unknown:
        raise PolicyError(f"statement elements {sorted(unknown)} are not supported by ircreds' evaluator")
    effect = stmt.get("Effect")
    if effect not in {"Deny", "Allow"}:
        raise PolicyError(f"statement Effect must be Deny or Allow, got {effect!r}")
    if effect == "Allow":  # the evaluator answers "does this policy deny", so Allows are irrelevant
        return None
    resources = _as_list(stmt.get("Resource", "*"))
    if resources != ["*"]:
        raise PolicyError(f'ircreds evaluates Resource "*" only, got {resources!r}')
    actions = tuple(_like(str(a).lower()) for a in _as_list(stmt.get("Action", [])))
    if not actions:
        raise PolicyError("a Deny statement without Action denies nothing; give Action")
    conditions = []
    for op_name, block in (stmt.get("Condition") or {}).items():
        if not isinstance(block, Mapping):
            raise PolicyError(f"condition {op_name!r} must map keys to values")
        conditions.extend(_compile_condition(op_name, key, values) for key, values in block.items())
    return _Statement(actions, tuple(conditions))


def compile_policy(policy: Mapping[str, Any]) -> CompiledPolicy:
    """Parse and check a policy document once; refuse what the evaluator cannot judge.

    Example:
        >>> from ircreds.containment.policy import deny_source_ip_policy
        >>> p = compile_policy(deny_source_ip_policy("203.0.113.0/24"))
        >>> p.denies(RequestContext(source_ip="203.0.113.9")), p.denies(RequestContext(source_ip="198.51.100.1"))
        (True, False)
    """
    if not isinstance(policy, Mapping) or "Statement" not in policy:
        raise PolicyError("a policy document needs a Statement element")
    statements = [_compile_statement(s) for s in _as_list(policy["Statement"])]
    return CompiledPolicy(tuple(s for s in statements if s is not None))


def evaluate(policy: Mapping[str, Any] | CompiledPolicy, ctx: RequestContext) -> Decision:
    """Deny or not-denied for one request."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    return compiled.decide(ctx)


def is_denied(policy: Mapping[str, Any] | CompiledPolicy, ctx: RequestContext) -> bool:
    """True when ``policy`` explicitly denies the request described by ``ctx``."""
    return evaluate(policy, ctx) is Decision.DENY


# ------------------------------------------------------------------------------- sessions and calls


def is_temporary_key(access_key_id: Any) -> bool:
    """``ASIA…`` keys are temporary (they carry ``aws:TokenIssueTime``); ``AKIA…`` are long-term."""
    return isinstance(access_key_id, str) and access_key_id.startswith("ASIA")


def session_context(session: Any, *, action: str | None = None) -> RequestContext:
    """The request context of any call by a credential (a :class:`ircreds.model.Credential` or a mapping).

    Only per-session keys are set: the issue time (temporary credentials only), ``aws:userid``
    (the principal id) and the source identity. ``aws:SourceIp`` differs per call: use
    :func:`call_context` for network denies.
    """
    get = session.get if isinstance(session, Mapping) else lambda k, d=None: getattr(session, k, d)
    key = get("access_key_id")
    kind = str(get("kind") or "")
    issued = _aware_or_none(get("issued_at"))
    temporary = is_temporary_key(key) or (key is None and kind not in {"CreateAccessKey", ""})
    return RequestContext(
        action=action,
        token_issue_time=issued if temporary and kind != "CreateAccessKey" else None,
        userid=_str_or_none(get("principal_id")),
        source_identity=_str_or_none(get("source_identity")),
    )


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _str_or_none(value: Any) -> str | None:
    if _missing(value):
        return None
    text = str(value)
    return text or None


def _aware_or_none(value: Any) -> datetime | None:
    if _missing(value) or value == "":
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"refusing a naive datetime {value!r}")
        return value
    return parse_date(value)


_CALL_COLUMNS = {
    "key": "userIdentity.accessKeyId",
    "created": "userIdentity.sessionContext.attributes.creationDate",
    "principal": "userIdentity.principalId",
    "ip": "sourceIPAddress",
    "vpce": "vpcEndpointId",
    "source_identity": "userIdentity.sessionContext.sourceIdentity",
    "invoked_by": "userIdentity.invokedBy",
    "source": "eventSource",
    "name": "eventName",
}


def call_context(record: Mapping[str, Any], *, issued_at: datetime | None = None) -> RequestContext:
    """The request context of one logged call (a row of the events frame, as a mapping).

    ``aws:TokenIssueTime`` comes from ``sessionContext.attributes.creationDate`` (or ``issued_at`` when
    the record lacks it) and only for temporary keys; ``aws:SourceIp`` is absent for VPC-endpoint
    calls and for service names such as ``AWS Internal``.
    """
    get = record.get
    key = _str_or_none(get(_CALL_COLUMNS["key"]))
    created = _aware_or_none(get(_CALL_COLUMNS["created"])) or issued_at
    temporary = is_temporary_key(key) or (key is None and created is not None)
    ip = _str_or_none(get(_CALL_COLUMNS["ip"]))
    if _str_or_none(get(_CALL_COLUMNS["vpce"])) or _ip(ip) is None:
        ip = None
    invoked_by = _str_or_none(get(_CALL_COLUMNS["invoked_by"]))
    return RequestContext(
        action=call_action(get(_CALL_COLUMNS["source"]), get(_CALL_COLUMNS["name"])),
        token_issue_time=created if temporary else None,
        userid=_str_or_none(get(_CALL_COLUMNS["principal"])),
        source_ip=ip,
        source_identity=_str_or_none(get(_CALL_COLUMNS["source_identity"])),
        via_aws_service=(invoked_by is not None and invoked_by.endswith(".amazonaws.com"))
        if temporary
        else None,
    )


def denied_calls(
    policy: Mapping[str, Any] | CompiledPolicy,
    calls: pd.DataFrame,
    *,
    issued_at: Mapping[str, datetime] | None = None,
    after: datetime | None = None,
) -> pd.Series:
    """Boolean Series (same index as ``calls``): would ``policy`` explicitly deny each logged call?

    ``issued_at`` maps access key id to issue time, for records that lack ``creationDate``. With
    ``after`` (the apply time), calls made before it are False: the deny was not there yet.
    """
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy)
    issued_at = issued_at or {}
    fast = _denied_cutoff_vectorized(compiled, calls, issued_at)
    result = fast if fast is not None else _denied_calls_rowwise(compiled, calls, issued_at)
    if after is not None and "eventTime" in calls.columns:
        result &= (calls["eventTime"] >= pd.Timestamp(after)).fillna(False).to_numpy(dtype=bool)
    return result


def _denied_calls_rowwise(
    compiled: CompiledPolicy, calls: pd.DataFrame, issued_at: Mapping[str, datetime]
) -> pd.Series:
    """The reference path: one request context per logged call."""
    wanted = [c for c in _CALL_COLUMNS.values() if c in calls.columns]
    if not wanted:
        return pd.Series(False, index=calls.index, dtype=bool, name="denied")
    out = []
    for row in calls[wanted].to_dict("records"):
        key = _str_or_none(row.get(_CALL_COLUMNS["key"]))
        ctx = call_context(row, issued_at=issued_at.get(key) if key else None)
        out.append(compiled.denies(ctx))
    return pd.Series(out, index=calls.index, dtype=bool, name="denied")


_VECTOR_DATE_OPS = {
    "datelessthan": operator.lt,
    "datelessthanequals": operator.le,
    "dategreaterthan": operator.gt,
    "dategreaterthanequals": operator.ge,
    "dateequals": operator.eq,
}


def _denied_cutoff_vectorized(
    compiled: CompiledPolicy, calls: pd.DataFrame, issued_at: Mapping[str, datetime]
) -> pd.Series | None:
    """Column-wise evaluation for the common case (``Action *``, date conditions on ``aws:TokenIssueTime``).

    Returns ``None`` when the policy or the frame is outside that case; the row-wise path then runs.
    Same semantics as the row-wise path (a property test compares them).
    """
    for stmt in compiled.statements:
        if not any(p.pattern == ".*" for p in stmt.actions):
            return None
        if any(
            c.key.lower() != "aws:tokenissuetime" or c.op not in _VECTOR_DATE_OPS for c in stmt.conditions
        ):
            return None
    key_col, created_col = _CALL_COLUMNS["key"], _CALL_COLUMNS["created"]
    n = len(calls)
    if created_col in calls.columns:
        created = calls[created_col]
        if not isinstance(created.dtype, pd.DatetimeTZDtype):
            return None
        created = created.dt.tz_convert("UTC")
    else:
        created = pd.Series(pd.NaT, index=calls.index, dtype="datetime64[ns, UTC]")
    keys = (
        calls[key_col].astype("string")
        if key_col in calls.columns
        else pd.Series(pd.NA, index=calls.index, dtype="string")
    )
    keys = keys.mask(keys == "")
    if issued_at:
        mapped = pd.to_datetime(
            keys.map(lambda k: issued_at.get(k) if isinstance(k, str) else None), utc=True
        )
        created = created.fillna(mapped)
    temporary = keys.str.startswith("ASIA").fillna(False).to_numpy(dtype=bool)
    temporary |= keys.isna().to_numpy(dtype=bool) & created.notna().to_numpy(dtype=bool)
    tit = created.where(temporary)
    present = tit.notna().to_numpy(dtype=bool)
    denied = np.zeros(n, dtype=bool)
    for stmt in compiled.statements:
        holds_all = np.ones(n, dtype=bool)
        for cond in stmt.conditions:
            hit = np.zeros(n, dtype=bool)
            for value in cond.values:
                hit |= (
                    _VECTOR_DATE_OPS[cond.op](tit, pd.Timestamp(parse_date(value)))
                    .fillna(False)
                    .to_numpy(dtype=bool)
                )
            holds = np.where(present, ~hit if cond.negated else hit, cond.if_exists or cond.negated)
            holds_all &= holds
        denied |= holds_all
    if "eventName" in calls.columns and "eventSource" in calls.columns:
        denied &= ~never_denied(calls["eventSource"], calls["eventName"]).to_numpy(dtype=bool)
    return pd.Series(denied, index=calls.index, dtype=bool, name="denied")


def evaluate_cutoff(sessions: Iterable[Any], cutoff: datetime) -> list[tuple[Any, bool]]:
    """Each session with ``True`` if the cut-off deny at ``cutoff`` cuts it.

    Cheap enough to call on every move of a cut-off slider (one compiled policy, one comparison
    per session).

    Example:
        >>> from datetime import UTC, datetime
        >>> s = {"access_key_id": "ASIAIOSFODNN7EXAMPLE", "kind": "AssumeRole",
        ...      "issued_at": datetime(2025, 1, 20, 9, 14, tzinfo=UTC)}
        >>> evaluate_cutoff([s], datetime(2025, 1, 20, 12, tzinfo=UTC))[0][1]
        True
    """
    from ircreds.containment.policy import cutoff_policy

    compiled = compile_policy(cutoff_policy(cutoff))
    return [(s, compiled.denies(session_context(s))) for s in sessions]
