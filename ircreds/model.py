"""Frozen records for a trace: the credential, its issuer and root, its calls, findings.

Every record is a frozen, slotted, keyword-only dataclass; times are timezone-aware UTC.

Example:
    >>> from datetime import UTC, datetime
    >>> root = Root(type=RootType.IAM_USER, arn="arn:aws:iam::111122223333:user/DevUser", name="DevUser")
    >>> root.name
    'DevUser'
    >>> Severity("high") > Severity("low")
    True
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ircreds.times import iso_z as iso_z  # public here since 0.1 (the notebooks import it)
from ircreds.times import require_aware

if TYPE_CHECKING:
    import pandas as pd


class CredentialKind(enum.StrEnum):
    """How a credential came to exist (the ``kind`` column of the sessions table)."""

    ASSUME_ROLE = "AssumeRole"
    ASSUME_ROLE_WITH_SAML = "AssumeRoleWithSAML"
    ASSUME_ROLE_WITH_WEB_IDENTITY = "AssumeRoleWithWebIdentity"
    GET_SESSION_TOKEN = "GetSessionToken"
    GET_FEDERATION_TOKEN = "GetFederationToken"
    CONSOLE_LOGIN = "ConsoleLogin"
    SWITCH_ROLE = "SwitchRole"
    SERVICE = "Service"
    CREATE_ACCESS_KEY = "CreateAccessKey"
    OBSERVED = "Observed"


class RootType(enum.StrEnum):
    """What sits at the top of a lineage."""

    IAM_USER = "IAMUser"
    ROOT = "Root"
    SAML_USER = "SAMLUser"
    WEB_IDENTITY_USER = "WebIdentityUser"
    AWS_SERVICE = "AWSService"
    AWS_ACCOUNT = "AWSAccount"
    ROLE = "Role"
    IDENTITY_CENTER_USER = "IdentityCenterUser"
    UNKNOWN = "Unknown"


_SEVERITY_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class Severity(enum.StrEnum):
    """Finding severity, ordered from ``info`` to ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical."""
        return _SEVERITY_ORDER[self.value]

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, Severity):
            return self.rank >= other.rank
        return NotImplemented


def _aware(name: str, value: datetime | None) -> None:
    if value is not None:
        require_aware(value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Issuer:
    """Who made the issuing call: principal type, ARN or name, its key, source IP and user agent."""

    type: str | None = None
    arn: str | None = None
    name: str | None = None
    access_key_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Credential:
    """One credential (a row of the sessions table) as a record."""

    access_key_id: str
    kind: CredentialKind
    role_arn: str | None = None
    session_name: str | None = None
    principal_id: str | None = None
    principal_arn: str | None = None
    account_id: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    issuing_event_ids: tuple[str, ...] = ()
    issuer: Issuer = field(default_factory=Issuer)
    parent_key: str | None = None
    source_identity: str | None = None
    mfa_authenticated: bool | None = None
    observed_only: bool = False
    first_used: datetime | None = None
    last_used: datetime | None = None
    call_count: int = 0

    def __post_init__(self) -> None:
        for name in ("issued_at", "expires_at", "first_used", "last_used"):
            _aware(name, getattr(self, name))

    @property
    def issuing_event_id(self) -> str | None:
        """The main issuing event (the caller's copy when a cross-account pair was merged)."""
        return self.issuing_event_ids[0] if self.issuing_event_ids else None


# The contract's name for the credential record.
Session = Credential


@dataclass(frozen=True, slots=True, kw_only=True)
class Root:
    """The human, identity or service at the top of a lineage."""

    type: RootType
    arn: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSummary:
    """What one credential did, in brief."""

    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    source_ips: tuple[tuple[str, datetime], ...] = ()
    user_agents: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    error_count: int = 0
    issuer_source_ips: tuple[str, ...] = ()
    issuer_user_agents: tuple[str, ...] = ()
    new_source_ips: tuple[str, ...] = ()
    new_user_agents: tuple[str, ...] = ()
    peer_source_ips: tuple[str, ...] = ()
    principal_source_ips: tuple[str, ...] = ()
    principal_user_agents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _aware("first", self.first)
        _aware("last", self.last)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What the loaded evidence covers, so findings can name what is missing."""

    start: datetime | None = None
    end: datetime | None = None
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    event_count: int = 0
    data_event_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingSpec:
    """A finding's metadata, modelled on panther-analysis rule YAML."""

    id: str
    title: str
    severity: Severity
    mitre: tuple[str, ...]
    description: str
    reference: str
    runbook: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One signal in a credential's activity, with the events that show it."""

    id: str
    severity: Severity
    summary: str
    event_ids: tuple[str, ...] = ()
    access_key_id: str | None = None
    title: str | None = None
    mitre: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the contract: id, severity, summary, event_ids."""
        return {
            "id": self.id,
            "severity": str(self.severity),
            "summary": self.summary,
            "event_ids": list(self.event_ids),
        }

    def _repr_html_(self) -> str:
        from ircreds.display import findings_html

        return findings_html([self])


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Trace:
    """A credential, its root, its calls, its children (recursively) and its findings."""

    key: str
    session: Credential
    root: Root
    calls: pd.DataFrame
    children: tuple[Trace, ...] = ()
    summary: CallSummary = field(default_factory=CallSummary)
    findings: tuple[Finding, ...] = ()
    evidence: Evidence = field(default_factory=Evidence)
    depth: int = 0

    def walk(self) -> Iterator[Trace]:
        """Every node of the lineage, depth-first, this one first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def _repr_html_(self) -> str:
        from ircreds.display import trace_html

        return trace_html(self)

    def all_calls(self) -> pd.DataFrame:
        """One frame of every call in the lineage, with a ``credential`` column naming the key."""
        import pandas as pd

        frames = [node.calls.assign(credential=node.key) for node in self.walk()]
        out = pd.concat(frames, ignore_index=True)
        if "eventTime" in out.columns and len(out):
            out = out.sort_values("eventTime", kind="stable", ignore_index=True)
        return out

    def sessions_frame(self) -> pd.DataFrame:
        """The lineage's credentials as a frame, one row each, with their depth and trace parent."""
        import pandas as pd

        rows = []
        for node, depth in self._walk_depth(0):
            s = node.session
            rows.append(
                {
                    "access_key_id": s.access_key_id,
                    "kind": str(s.kind),
                    "role_arn": s.role_arn,
                    "session_name": s.session_name,
                    "principal_id": s.principal_id,
                    "principal_arn": s.principal_arn,
                    "account_id": s.account_id,
                    "issued_at": s.issued_at,
                    "expires_at": s.expires_at,
                    "issuing_event_ids": s.issuing_event_ids,
                    "issuer_type": s.issuer.type,
                    "issuer_arn": s.issuer.arn,
                    "issuer_name": s.issuer.name,
                    "issuer_access_key_id": s.issuer.access_key_id,
                    "issuer_source_ip": s.issuer.source_ip,
                    "issuer_user_agent": s.issuer.user_agent,
                    "parent_key": s.parent_key,
                    "source_identity": s.source_identity,
                    "mfa_authenticated": s.mfa_authenticated,
                    "observed_only": s.observed_only,
                    "first_used": node.summary.first,
                    "last_used": node.summary.last,
                    "call_count": node.summary.count,
                    "depth": depth,
                    "new_source_ips": node.summary.new_source_ips,
                }
            )
        return pd.DataFrame(rows)

    def _walk_depth(self, depth: int) -> Iterator[tuple[Trace, int]]:
        yield self, depth
        for child in self.children:
            yield from child._walk_depth(depth + 1)

    def all_findings(self) -> tuple[Finding, ...]:
        """Every finding in the lineage, most severe first."""
        found = [f for node in self.walk() for f in node.findings]
        return tuple(sorted(found, key=lambda f: -Severity(f.severity).rank))

    def suspicious_ips(self) -> tuple[str, ...]:
        """Source IPs in the lineage that the issuers never used (attacker indicators)."""
        seen: dict[str, None] = {}
        for node in self.walk():
            for ip in node.summary.new_source_ips:
                seen.setdefault(ip, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``ircreds trace --json`` (times ISO 8601 UTC with ``Z``)."""
        s = self.session
        event_ids: list[str] = []
        if "eventID" in self.calls.columns:
            event_ids = [str(v) for v in self.calls["eventID"].tolist() if isinstance(v, str)]
        return {
            "key": self.key,
            "session": {
                "access_key_id": s.access_key_id,
                "kind": str(s.kind),
                "role_arn": s.role_arn,
                "session_name": s.session_name,
                "issued_at": iso_z(s.issued_at),
                "expires_at": iso_z(s.expires_at),
                "issuing_event_id": s.issuing_event_id,
                "issuer": {
                    "type": s.issuer.type,
                    "arn": s.issuer.arn,
                    "name": s.issuer.name,
                    "access_key_id": s.issuer.access_key_id,
                    "source_ip": s.issuer.source_ip,
                    "user_agent": s.issuer.user_agent,
                },
            },
            "root": {"type": str(self.root.type), "arn": self.root.arn, "name": self.root.name},
            "calls": {
                "count": self.summary.count,
                "event_ids": event_ids,
                "first": iso_z(self.summary.first),
                "last": iso_z(self.summary.last),
                "source_ips": [ip for ip, _ in self.summary.source_ips],
                "user_agents": list(self.summary.user_agents),
                "regions": list(self.summary.regions),
                "error_count": self.summary.error_count,
            },
            "children": [child.to_dict() for child in self.children],
            "findings": [f.to_dict() for f in self.findings],
        }
