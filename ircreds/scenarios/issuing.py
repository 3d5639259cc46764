"""Issuing paths: each returns the records it writes and the credential it creates.

The records follow ``docs/aws-facts.md`` §1.2/§1.5b/§2: the new key is in
``responseElements.credentials`` (with a fake token), later calls carry an identity whose
``creationDate`` equals the issuing ``eventTime``; role chaining is capped at one hour;
cross-account AssumeRole writes two copies sharing ``sharedEventID``; console sessions sign
with keys that no issuing record shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ircreds.errors import ScenarioError
from ircreds.scenarios.records import (
    Cred,
    base_record,
    credentials_block,
    role_resource,
    role_session_identity,
    sts_host,
)
from ircreds.scenarios.world import Role, World

Issued = tuple[list[dict[str, Any]], Cred | None]


def _sts_record(
    world: World,
    *,
    identity: dict[str, Any],
    t: datetime,
    name: str,
    region: str,
    ip: str,
    ua: str,
    params: Any,
    response: Any,
    recipient: str,
    resources: Any = None,
    error: Any = None,
    additional: Any = None,
    shared: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    internal = ip.endswith(".amazonaws.com") or ip == "AWS Internal"
    return base_record(
        world.ids,
        identity=identity,
        t=t,
        source="sts.amazonaws.com",
        name=name,
        region=region,
        ip=ip,
        ua=ua,
        params=params,
        response=response,
        recipient=recipient,
        read_only=True,
        error=error,
        resources=resources,
        additional=additional,
        shared_event_id=shared,
        request_id=request_id,
        host=None if internal else sts_host(region),
    )


def _assumed_role_user(role: Role, session_name: str) -> dict[str, str]:
    """``responseElements.assumedRoleUser`` of an AssumeRole* call."""
    return {
        "assumedRoleId": f"{role.role_id}:{session_name}",
        "arn": f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session_name}",
    }


def _role_cred(
    role: Role,
    session_name: str,
    *,
    key: str,
    t: datetime,
    expires: datetime,
    kind: str,
    issuing_event_id: str,
    extra: dict[str, Any],
    label: str | None = None,
    parent_key_id: str | None = None,
    console: bool = False,
    **session: Any,
) -> Cred:
    """The :class:`Cred` of the role session an AssumeRole* call opens (labelled by its ARN unless told).

    ``session`` passes the optional ``role_session_identity`` fields (web identity, EC2, source identity).
    """
    ident = role_session_identity(
        account=role.account,
        role_name=role.name,
        role_id=role.role_id,
        session_name=session_name,
        key_id=key,
        created=t,
        role_arn=role.arn,
        **session,
    )
    return Cred(
        key_id=key,
        identity=ident,
        kind=kind,
        label=label or ident["arn"],
        account=role.account,
        issued_at=t,
        expires_at=expires,
        role_arn=role.arn,
        issuing_event_id=issuing_event_id,
        parent_key_id=parent_key_id,
        console=console,
        extra=extra,
    )


def _federated_session(
    world: World,
    t: datetime,
    role: Role,
    *,
    name: str,
    identity: dict[str, Any],
    session_name: str,
    key: str,
    expires: datetime,
    params: dict[str, Any],
    response: dict[str, Any],
    region: str,
    ip: str,
    ua: str,
    label: str,
    provider_arn: str,
    web_id: dict[str, Any] | None = None,
) -> Issued:
    """The record and role session of a federated ``AssumeRoleWith*`` call (SAML or OIDC)."""
    acct = role.account
    rec = _sts_record(
        world,
        identity=identity,
        t=t,
        name=name,
        region=region,
        ip=ip,
        ua=ua,
        params=params,
        response=response,
        recipient=acct,
        resources=role_resource(acct, role.arn),
    )
    cred = _role_cred(
        role,
        session_name,
        key=key,
        t=t,
        expires=expires,
        kind=name,
        label=label,
        issuing_event_id=rec["eventID"],
        extra={"provider_arn": provider_arn, "issuer": provider_arn},
        web_id=web_id,
    )
    return [rec], cred


def assume_role(
    world: World,
    caller: Cred | str,
    t: datetime,
    role: Role,
    session_name: str,
    *,
    duration: int = 3600,
    region: str = "us-east-1",
    ip: str = "",
    ua: str = "",
    source_identity: str | None = None,
    ec2_instance: str | None = None,
    lambda_arn: str | None = None,
    console_switch: bool = False,
) -> Issued:
    """``AssumeRole`` by a credential, or by an AWS service when ``caller`` is a service name."""
    acct = role.account
    service = isinstance(caller, str)
    if (
        not service
        and caller.kind
        in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "console-switch-role")
        and duration > 3600
    ):
        raise ScenarioError(
            f"role chaining from {caller.key_id} asks {duration} s; chained sessions cap at 3600 s"
        )
    if service:
        identity: dict[str, Any] = {"type": "AWSService", "invokedBy": caller}
        ip = ua = caller
        caller_account = acct
    else:
        identity = caller.identity
        if console_switch:
            identity = {**identity, "invokedBy": "AWS Internal"}
            ip = ua = "AWS Internal"
        caller_account = caller.account
    params: dict[str, Any] = {
        "roleArn": role.arn,
        "roleSessionName": session_name,
        "durationSeconds": duration,
    }
    if source_identity:
        params["sourceIdentity"] = source_identity
    shared = world.ids.uuid() if (service or acct != caller_account) else None
    request_id = world.ids.uuid()
    call = dict(t=t, name="AssumeRole", region=region, ip=ip, ua=ua, params=params, request_id=request_id)
    if not service and world.denied_by_cutoff(caller, t):
        from ircreds.scenarios.catalog import SPECS, denied_error

        err = denied_error(SPECS["AssumeRole"], identity.get("arn", ""), explicit=True, resource=role.arn)
        rec = _sts_record(
            world, identity=identity, **call, response=None, recipient=caller_account, error=err
        )
        if caller.console:
            rec["sessionCredentialFromConsole"] = "true"
        return [rec], None
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    response: dict[str, Any] = {
        "credentials": credentials_block(world.ids, key, expires),
        "assumedRoleUser": _assumed_role_user(role, session_name),
    }
    if source_identity:
        response["sourceIdentity"] = source_identity
    call.update(response=response, resources=role_resource(acct, role.arn), shared=shared)
    records = [_sts_record(world, identity=identity, **call, recipient=caller_account)]
    if not service and caller.console:
        records[0]["sessionCredentialFromConsole"] = "true"
    if acct != caller_account and not service:
        owner_identity = {
            "type": "AWSAccount",
            "principalId": identity["principalId"],
            "accountId": caller_account,
        }
        records.append(_sts_record(world, identity=owner_identity, **call, recipient=acct))
    in_scope = None
    delivery = None
    kind = "AssumeRole"
    if ec2_instance:
        delivery = "2.0"
        in_scope = {
            "issuerType": "AWS::EC2::Instance",
            "credentialsIssuedTo": f"arn:aws:ec2:{region}:{acct}:instance/{ec2_instance}",
        }
        kind = "ec2-instance-profile"
    elif lambda_arn:
        in_scope = {"issuerType": "AWS::Lambda::Function", "credentialsIssuedTo": lambda_arn}
        kind = "lambda"
    elif console_switch:
        kind = "console-switch-role"
    inherited_si = source_identity or (
        None if service else caller.identity.get("sessionContext", {}).get("sourceIdentity")
    )
    signing_key = world.ids.key("ASIA") if console_switch else key
    cred = _role_cred(
        role,
        session_name,
        key=signing_key,
        t=t,
        expires=expires,
        kind=kind,
        issuing_event_id=records[0]["eventID"],
        parent_key_id=None if service else caller.key_id,
        console=console_switch,
        extra={
            "issuer": caller if service else caller.label,
            **({"issued_key_id": key} if console_switch else {}),
        },
        ec2_delivery=delivery,
        in_scope_of=in_scope,
        source_identity=inherited_si,
    )
    return records, cred


def assume_role_with_saml(
    world: World,
    t: datetime,
    role: Role,
    subject: str,
    *,
    provider: str,
    duration: int,
    ip: str,
    ua: str,
    region: str = "us-east-1",
) -> Issued:
    """Federated sign-in through a SAML IdP: ``SAMLUser`` caller, session named after the subject."""
    acct = role.account
    provider_arn = f"arn:aws:iam::{acct}:saml-provider/{provider}"
    qualifier = world.ids.hex(28)
    identity = {
        "type": "SAMLUser",
        "principalId": f"{qualifier}:{subject}",
        "userName": subject,
        "identityProvider": qualifier,
    }
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    params = {
        "sAMLAssertionID": "_" + world.ids.hex(32),
        "roleSessionName": subject,
        "roleArn": role.arn,
        "principalArn": provider_arn,
        "durationSeconds": duration,
    }
    response = {
        "credentials": credentials_block(world.ids, key, expires),
        "assumedRoleUser": _assumed_role_user(role, subject),
        "subject": subject,
        "subjectType": "persistent",
        "issuer": f"http://www.okta.com/{world.ids.hex(20)}",
        "audience": "https://signin.aws.amazon.com/saml",
        "nameQualifier": qualifier,
    }
    return _federated_session(
        world,
        t,
        role,
        name="AssumeRoleWithSAML",
        identity=identity,
        session_name=subject,
        key=key,
        expires=expires,
        params=params,
        response=response,
        region=region,
        ip=ip,
        ua=ua,
        label=f"{qualifier}:{subject}",
        provider_arn=provider_arn,
    )


def assume_role_with_web_identity(
    world: World,
    t: datetime,
    role: Role,
    *,
    provider_host: str,
    subject: str,
    session_name: str,
    duration: int,
    ip: str,
    ua: str,
    region: str = "us-east-1",
) -> Issued:
    """OIDC (GitHub Actions, EKS IRSA): ``WebIdentityUser`` caller, ``webIdFederationData`` later."""
    acct = role.account
    provider_arn = f"arn:aws:iam::{acct}:oidc-provider/{provider_host}"
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{provider_arn}:sts.amazonaws.com:{subject}",
        "userName": subject,
        "identityProvider": provider_arn,
    }
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    params = {"roleArn": role.arn, "roleSessionName": session_name, "durationSeconds": duration}
    response = {
        "credentials": credentials_block(world.ids, key, expires),
        "subjectFromWebIdentityToken": subject,
        "assumedRoleUser": _assumed_role_user(role, session_name),
        "provider": provider_arn,
        "audience": "sts.amazonaws.com",
    }
    return _federated_session(
        world,
        t,
        role,
        name="AssumeRoleWithWebIdentity",
        identity=identity,
        session_name=session_name,
        key=key,
        expires=expires,
        params=params,
        response=response,
        region=region,
        ip=ip,
        ua=ua,
        label=identity["principalId"],
        provider_arn=provider_arn,
        web_id={"federatedProvider": provider_arn, "attributes": {}},
    )
