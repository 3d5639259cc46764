"""Which role or IAM user a credential's cut-off deny goes on, and that credential's session impact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ircreds.containment.evaluate import is_temporary_key
from ircreds.containment.policy import TargetKind
from ircreds.containment.records import SessionImpact, _s, _t

ROLE_KINDS = frozenset(
    {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "SwitchRole", "Service"}
)
USER_SESSION_KINDS = frozenset({"GetSessionToken", "GetFederationToken", "ConsoleLogin"})


def _name_of(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _is_root(arn: str | None) -> bool:
    return bool(arn) and str(arn).endswith(":root")


def _cannot_take_policy(role_arn: str) -> str | None:
    resource = role_arn.split(":", 5)[-1]
    if resource.startswith("role/aws-service-role/"):
        return "a service-linked role: its policies cannot be edited; contain through the calling service or resource policies"
    if resource.startswith("role/aws-reserved/sso.amazonaws.com/") or _name_of(role_arn).startswith(
        "AWSReservedSSO_"
    ):
        return (
            "an IAM Identity Center role: it cannot be edited in IAM; deny in the permission set (or an SCP) "
            "keyed on identitystore:userId, and remove the user's assignments"
        )
    return None


@dataclass(slots=True)
class _Target:
    kind: TargetKind
    arn: str
    lineage_keys: list[str] = field(default_factory=list)


def _target_of(cred: Mapping[str, Any]) -> tuple[TargetKind, str] | None:
    kind = _s(cred.get("kind")) or ""
    key = _s(cred.get("access_key_id"))
    role_arn = _s(cred.get("role_arn"))
    if not is_temporary_key(key) and kind not in ROLE_KINDS | USER_SESSION_KINDS:
        return None
    if role_arn and (kind in ROLE_KINDS or kind == "Observed"):
        return TargetKind.ROLE, role_arn
    if kind == "GetFederationToken":
        user = _s(cred.get("issuer_arn"))
    elif kind in ("GetSessionToken", "ConsoleLogin") or kind == "Observed":
        user = _s(cred.get("principal_arn"))
    else:
        user = None
    if user and ":user/" in user:
        return TargetKind.USER, user
    if user and _is_root(user):
        return TargetKind.USER, user  # refused later with ROOT_SESSION
    return None


def _cred_dict(node: Any) -> dict[str, Any]:
    s = node.session
    return {
        "access_key_id": s.access_key_id,
        "kind": _s(s.kind),
        "role_arn": s.role_arn,
        "session_name": s.session_name,
        "principal_id": s.principal_id,
        "principal_arn": s.principal_arn,
        "account_id": s.account_id,
        "issued_at": s.issued_at,
        "expires_at": s.expires_at,
        "issuer_arn": s.issuer.arn,
        "issuer_name": s.issuer.name,
        "issuer_type": s.issuer.type,
        "source_identity": s.source_identity,
        "last_used": node.summary.last,
        "issuing_event_ids": s.issuing_event_ids,
    }


def _impact(cred: Mapping[str, Any], *, suspicious: bool, source_ips: tuple[str, ...] = ()) -> SessionImpact:
    issuer = _s(cred.get("issuer_arn")) or _s(cred.get("issuer_name")) or _s(cred.get("issuer_type"))
    return SessionImpact(
        access_key_id=str(cred["access_key_id"]),
        kind=_s(cred.get("kind")) or "Observed",
        principal=_s(cred.get("principal_arn")) or _s(cred.get("session_name")),
        issuer=issuer,
        issued_at=_t(cred.get("issued_at")),
        expires_at=_t(cred.get("expires_at")),
        last_activity=_t(cred.get("last_used")),
        suspicious=suspicious,
        source_ips=source_ips,
        principal_id=_s(cred.get("principal_id")),
        source_identity=_s(cred.get("source_identity")),
    )
