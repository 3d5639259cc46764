"""The deny policies that cut leaked temporary credentials off, exactly as AWS writes them.

The main document is the one the IAM console's "Revoke active sessions" button attaches to a role, as
the inline policy ``AWSRevokeOlderSessions``: deny everything to every session issued before the
cut-off (``DateLessThan`` on ``aws:TokenIssueTime``, see aws-facts §3.1-3.2). The same document on an
IAM user cuts its ``GetSessionToken`` / ``GetFederationToken`` / console sessions and leaves its
long-term ``AKIA…`` keys working (``aws:TokenIssueTime`` is absent for them). Narrower options deny one
session (``aws:userid``), a network (``aws:SourceIp``) or one source identity (``aws:SourceIdentity``).

Everything here is pure: no clock, no AWS. The evaluator for these documents is
:mod:`ircreds.containment.evaluate`.

Example:
    >>> from datetime import UTC, datetime
    >>> doc = cutoff_policy(datetime(2025, 1, 20, 12, 0, tzinfo=UTC))
    >>> doc["Statement"][0]["Condition"]
    {'DateLessThan': {'aws:TokenIssueTime': '2025-01-20T12:00:00Z'}}
    >>> POLICY_NAME
    'AWSRevokeOlderSessions'
"""

from __future__ import annotations

import enum
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ircreds.errors import PolicyError
from ircreds.times import iso_z, parse_iso

POLICY_NAME = "AWSRevokeOlderSessions"
"""The inline policy name the IAM console uses; a later console click overwrites it cleanly."""

POLICY_VERSION = "2012-10-17"

ROLE_INLINE_POLICY_LIMIT = 10_240
"""Aggregate size (characters, whitespace excluded) of all inline policies of one role (aws-facts §3.2, "?")."""

USER_INLINE_POLICY_LIMIT = 2_048
"""Aggregate size (characters, whitespace excluded) of all inline policies of one IAM user."""


class TargetKind(enum.StrEnum):
    """Where a deny goes: on a role (``iam:PutRolePolicy``) or on an IAM user (``iam:PutUserPolicy``)."""

    ROLE = "role"
    USER = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyOption:
    """One way to contain a session: the document, what it reaches, and its caveats."""

    name: str
    """Short id: ``cutoff``, ``user-cutoff``, ``session``, ``source-ip``, ``source-identity``."""
    policy: dict[str, Any]
    reaches: str
    caveats: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "policy": self.policy,
            "reaches": self.reaches,
            "caveats": list(self.caveats),
        }


def normalize_cutoff(cutoff: datetime) -> datetime:
    """The cut-off as written in the policy: UTC, whole seconds, rounded **up**.

    ``DateLessThan`` is strict and the document carries whole seconds, so a fractional cut-off is
    rounded up to the next second: the written cut-off never spares a session issued before the
    instant asked for. A naive datetime is refused (it would silently mean local time, the mistake
    of a well-known forensic tool that wrote local time labelled as UTC).

    Example:
        >>> from datetime import UTC, datetime
        >>> normalize_cutoff(datetime(2025, 1, 20, 12, 0, 0, 1, tzinfo=UTC)).isoformat()
        '2025-01-20T12:00:01+00:00'
    """
    if not isinstance(cutoff, datetime):
        raise PolicyError(f"cut-off must be a datetime, got {type(cutoff).__name__}")
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise PolicyError(
            f"cut-off {cutoff.isoformat()} has no time zone; pass an aware datetime "
            "(for example datetime(..., tzinfo=UTC)) so the policy is not off by your UTC offset"
        )
    utc = cutoff.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc


def format_cutoff(cutoff: datetime) -> str:
    """The cut-off as the policy writes it: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    Example:
        >>> from datetime import datetime, timedelta, timezone
        >>> format_cutoff(datetime(2025, 1, 20, 13, 0, tzinfo=timezone(timedelta(hours=1))))
        '2025-01-20T12:00:00Z'
    """
    return iso_z(normalize_cutoff(cutoff))


def _deny(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": condition}],
    }


def cutoff_policy(cutoff: datetime) -> dict[str, Any]:
    """The console's ``AWSRevokeOlderSessions`` document: deny all to sessions issued before ``cutoff``.

    Sessions issued in the cut-off second or later survive (``DateLessThan`` is strict): pick a
    cut-off after the newest session you want dead. Requests signed with long-term keys carry no
    ``aws:TokenIssueTime`` and are never denied by it.

    Example:
        >>> from datetime import UTC, datetime
        >>> cutoff_policy(datetime(2025, 1, 20, 12, 0, tzinfo=UTC))["Statement"][0]["Action"]
        ['*']
    """
    return _deny({"DateLessThan": {"aws:TokenIssueTime": format_cutoff(cutoff)}})


def user_cutoff_policy(cutoff: datetime) -> dict[str, Any]:
    """The same cut-off deny, meant as an inline policy on an IAM user (``iam:PutUserPolicy``).

    It cuts the user's ``GetSessionToken`` / ``GetFederationToken`` and console sessions issued
    before ``cutoff``; the user's long-term access keys keep working (no ``aws:TokenIssueTime`` on
    their requests), so deactivate those separately if they are compromised too.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
        >>> user_cutoff_policy(t) == cutoff_policy(t)
        True
    """
    return cutoff_policy(cutoff)


def session_userid(role_id: str, session_name: str) -> str:
    """The ``aws:userid`` of a role session: ``AROA…:<session-name>``.

    Example:
        >>> session_userid("AROADBQP57FF2AEXAMPLE", "attacker")
        'AROADBQP57FF2AEXAMPLE:attacker'
    """
    if not role_id or not session_name:
        raise PolicyError("a session deny needs both the role's unique id (AROA…) and the session name")
    if any(c in session_name for c in "*?"):
        raise PolicyError(f"session name {session_name!r} contains a wildcard; pass the exact name")
    return f"{role_id}:{session_name}"


def deny_session_policy(userids: str | Iterable[str]) -> dict[str, Any]:
    """Deny everything to one or more sessions by ``aws:userid`` (``AROA…:<session-name>``).

    Caveat: the attacker can re-assume the role under another session name unless the trust policy
    pins ``sts:RoleSessionName``; combine with the cut-off or a trust-policy edit (aws-facts §3.8).

    Example:
        >>> deny_session_policy("AROADBQP57FF2AEXAMPLE:attacker")["Statement"][0]["Condition"]
        {'StringLike': {'aws:userid': ['AROADBQP57FF2AEXAMPLE:attacker']}}
    """
    values = [userids] if isinstance(userids, str) else list(userids)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise PolicyError("deny_session_policy needs at least one non-empty aws:userid value")
    return _deny({"StringLike": {"aws:userid": values}})


def _cidrs(cidrs: str | Iterable[str]) -> list[str]:
    values = [cidrs] if isinstance(cidrs, str) else list(cidrs)
    if not values:
        raise PolicyError("a source-IP deny needs at least one IP address or CIDR")
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as err:
            raise PolicyError(f"{value!r} is not an IP address or CIDR block ({err})") from None
    return out


def deny_source_ip_policy(cidrs: str | Iterable[str], *, allow_only: bool = False) -> dict[str, Any]:
    """Deny by network: calls *from* ``cidrs`` (default), or calls from anywhere *but* them.

    With ``allow_only=True`` the statement is ``NotIpAddress`` plus ``Bool aws:ViaAWSService false``,
    so services calling on the principal's behalf (CloudFormation, …) are not caught.
    Caveats: ``aws:SourceIp`` is absent for calls through a VPC endpoint (the plain deny then never
    fires, and the ``NotIpAddress`` form always does); an attacker can change IP.

    Example:
        >>> deny_source_ip_policy("203.0.113.7")["Statement"][0]["Condition"]
        {'IpAddress': {'aws:SourceIp': ['203.0.113.7/32']}}
    """
    nets = _cidrs(cidrs)
    if allow_only:
        return _deny({"NotIpAddress": {"aws:SourceIp": nets}, "Bool": {"aws:ViaAWSService": "false"}})
    return _deny({"IpAddress": {"aws:SourceIp": nets}})


def deny_source_identity_policy(source_identity: str | Iterable[str]) -> dict[str, Any]:
    """Deny everything to sessions carrying a source identity (``aws:SourceIdentity``).

    The issue text names ``sts:SourceIdentity``, but that key exists only in the ``AssumeRole*``
    request itself (it belongs in trust policies, to control who may *set* a source identity). On
    every later call the value is the global key ``aws:SourceIdentity`` (aws-facts §3.8, DESIGN.md),
    so a permissions-policy deny must use ``aws:SourceIdentity``. The value persists through role
    chaining and cannot be changed, which makes this deny reach chained sessions too; it only helps
    where the organisation requires source identity.

    Example:
        >>> deny_source_identity_policy("alice")["Statement"][0]["Condition"]
        {'StringEquals': {'aws:SourceIdentity': ['alice']}}
    """
    values = [source_identity] if isinstance(source_identity, str) else list(source_identity)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise PolicyError("deny_source_identity_policy needs at least one non-empty source identity")
    return _deny({"StringEquals": {"aws:SourceIdentity": values}})


def policy_size(policy: dict[str, Any] | str) -> int:
    """Characters IAM counts toward the inline-policy quota (JSON without whitespace).

    Example:
        >>> from datetime import UTC, datetime
        >>> policy_size(cutoff_policy(datetime(2025, 1, 20, 12, tzinfo=UTC)))
        163
    """
    doc = json.loads(policy) if isinstance(policy, str) else policy
    return len(json.dumps(doc, separators=(",", ":")))


def canonical(policy: dict[str, Any] | str) -> str:
    """A stable text form of a document, for comparing what was written with what was read back."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    return json.dumps(doc, separators=(",", ":"), sort_keys=True)


def narrower_options(
    *,
    role_id: str | None = None,
    session_name: str | None = None,
    source_ips: Iterable[str] = (),
    source_identity: str | None = None,
) -> tuple[PolicyOption, ...]:
    """The narrower denies that apply to one session, each with what it reaches and its caveats.

    Example:
        >>> [o.name for o in narrower_options(role_id="AROADBQP57FF2AEXAMPLE", session_name="s", source_ips=["203.0.113.7"])]
        ['session', 'source-ip']
    """
    options: list[PolicyOption] = []
    if role_id and session_name and not any(c in session_name for c in "*?"):
        options.append(
            PolicyOption(
                name="session",
                policy=deny_session_policy(session_userid(role_id, session_name)),
                reaches=f"every session of the role named {session_name!r}, whenever issued",
                caveats=(
                    "the attacker can re-assume under another session name unless the trust policy "
                    "pins sts:RoleSessionName",
                    "a legitimate user who reuses the same session name is denied too",
                ),
            )
        )
    ips = [ip for ip in source_ips if _is_ip(ip)]
    if ips:
        options.append(
            PolicyOption(
                name="source-ip",
                policy=deny_source_ip_policy(ips),
                reaches="every call of the role's sessions from " + ", ".join(ips),
                caveats=(
                    "the attacker can move to another IP",
                    "aws:SourceIp is absent for calls through VPC endpoints",
                ),
            )
        )
    if source_identity:
        options.append(
            PolicyOption(
                name="source-identity",
                policy=deny_source_identity_policy(source_identity),
                reaches=f"every session carrying source identity {source_identity!r}, chained ones too",
                caveats=("only useful where the organisation requires sts:SetSourceIdentity",),
            )
        )
    return tuple(options)


def _is_ip(value: object) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else None


def recognise(policy: Any, *, strict: bool = True) -> tuple[str, datetime | None] | None:
    """Which document this module builds ``policy`` is, or ``None`` when it is none of them.

    Returns ``("cutoff", t)`` for :func:`cutoff_policy` of ``t``, or ``("session" | "source-ip" |
    "source-ip-allow-only" | "source-identity", None)`` for a narrower option. ``strict`` asks for exactly
    the document built here; otherwise the console's equivalent spellings (``Statement`` as an object,
    ``"Action": "*"``) are accepted too. Anything else (an ``Allow``, another action, an extra statement
    or condition, a date that does not parse) is ``None``: :func:`ircreds.aws.apply` refuses it.

    Example:
        >>> from datetime import UTC, datetime
        >>> recognise(cutoff_policy(datetime(2025, 1, 20, 12, tzinfo=UTC)))[1].isoformat()
        '2025-01-20T12:00:00+00:00'
        >>> recognise({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    """
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
        if not isinstance(doc, dict):
            return None
        found = _recognise(doc)
        if found is None:
            return None
        kind, rebuilt, when = found
        candidate = doc
        if not strict:
            st = doc["Statement"]
            st = dict(st[0] if isinstance(st, list) else st)
            st["Action"], st["Resource"] = _as_list(st.get("Action")), _as_list(st.get("Resource"))
            candidate = {"Version": doc.get("Version"), "Statement": [st]}
        return (kind, when) if canonical(candidate) == canonical(rebuilt) else None
    except (PolicyError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return None


def _recognise(doc: dict[str, Any]) -> tuple[str, dict[str, Any], datetime | None] | None:
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        return None
    condition = statements[0].get("Condition")
    if not isinstance(condition, dict):
        return None
    ops = set(condition)
    if ops == {"DateLessThan"} and set(condition["DateLessThan"]) == {"aws:TokenIssueTime"}:
        text = condition["DateLessThan"]["aws:TokenIssueTime"]
        if not isinstance(text, str) or not text.endswith("Z"):
            return None
        when = parse_iso(text)
        if when is None:
            return None
        return "cutoff", cutoff_policy(when), normalize_cutoff(when)
    if ops == {"StringLike"} and set(condition["StringLike"]) == {"aws:userid"}:
        return "session", deny_session_policy(_as_list(condition["StringLike"]["aws:userid"]) or []), None
    if ops == {"IpAddress"} and set(condition["IpAddress"]) == {"aws:SourceIp"}:
        return (
            "source-ip",
            deny_source_ip_policy(_as_list(condition["IpAddress"]["aws:SourceIp"]) or []),
            None,
        )
    if ops == {"NotIpAddress", "Bool"} and set(condition["NotIpAddress"]) == {"aws:SourceIp"}:
        nets = _as_list(condition["NotIpAddress"]["aws:SourceIp"]) or []
        return "source-ip-allow-only", deny_source_ip_policy(nets, allow_only=True), None
    if ops == {"StringEquals"} and set(condition["StringEquals"]) == {"aws:SourceIdentity"}:
        values = _as_list(condition["StringEquals"]["aws:SourceIdentity"]) or []
        return "source-identity", deny_source_identity_policy(values), None
    return None
