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
    if not service and world.denied_by_cutoff(caller, t):
        from ircreds.scenarios.catalog import SPECS, denied_error

        err = denied_error(SPECS["AssumeRole"], identity.get("arn", ""), explicit=True, resource=role.arn)
        rec = _sts_record(
            world,
            identity=identity,
            t=t,
            name="AssumeRole",
            region=region,
            ip=ip,
            ua=ua,
            params=params,
            response=None,
            recipient=caller_account,
            error=err,
            request_id=request_id,
        )
        if caller.console:
            rec["sessionCredentialFromConsole"] = "true"
        return [rec], None
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    response: dict[str, Any] = {
        "credentials": credentials_block(world.ids, key, expires),
        "assumedRoleUser": {
            "assumedRoleId": f"{role.role_id}:{session_name}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role.name}/{session_name}",
        },
    }
    if source_identity:
        response["sourceIdentity"] = source_identity
    records = [
        _sts_record(
            world,
            identity=identity,
            t=t,
            name="AssumeRole",
            region=region,
            ip=ip,
            ua=ua,
            params=params,
            response=response,
            recipient=caller_account,
            resources=role_resource(acct, role.arn),
            shared=shared,
            request_id=request_id,
        )
    ]
    if not service and caller.console:
        records[0]["sessionCredentialFromConsole"] = "true"
    if acct != caller_account and not service:
        owner_identity = {
            "type": "AWSAccount",
            "principalId": identity["principalId"],
            "accountId": caller_account,
        }
        records.append(
            _sts_record(
                world,
                identity=owner_identity,
                t=t,
                name="AssumeRole",
                region=region,
                ip=ip,
                ua=ua,
                params=params,
                response=response,
                recipient=acct,
                resources=role_resource(acct, role.arn),
                shared=shared,
                request_id=request_id,
            )
        )
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
    ident = role_session_identity(
        account=acct,
        role_name=role.name,
        role_id=role.role_id,
        session_name=session_name,
        key_id=signing_key,
        created=t,
        ec2_delivery=delivery,
        in_scope_of=in_scope,
        source_identity=inherited_si,
        role_arn=role.arn,
    )
    cred = Cred(
        key_id=signing_key,
        identity=ident,
        kind=kind,
        label=ident["arn"],
        account=acct,
        issued_at=t,
        expires_at=expires,
        role_arn=role.arn,
        issuing_event_id=records[0]["eventID"],
        parent_key_id=None if service else caller.key_id,
        console=console_switch,
        extra={
            "issuer": caller if service else caller.label,
            **({"issued_key_id": key} if console_switch else {}),
        },
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
        "assumedRoleUser": {
            "assumedRoleId": f"{role.role_id}:{subject}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role.name}/{subject}",
        },
        "subject": subject,
        "subjectType": "persistent",
        "issuer": f"http://www.okta.com/{world.ids.hex(20)}",
        "audience": "https://signin.aws.amazon.com/saml",
        "nameQualifier": qualifier,
    }
    rec = _sts_record(
        world,
        identity=identity,
        t=t,
        name="AssumeRoleWithSAML",
        region=region,
        ip=ip,
        ua=ua,
        params=params,
        response=response,
        recipient=acct,
        resources=role_resource(acct, role.arn),
    )
    ident = role_session_identity(
        account=acct,
        role_name=role.name,
        role_id=role.role_id,
        session_name=subject,
        key_id=key,
        created=t,
        role_arn=role.arn,
    )
    cred = Cred(
        key_id=key,
        identity=ident,
        kind="AssumeRoleWithSAML",
        label=f"{qualifier}:{subject}",
        account=acct,
        issued_at=t,
        expires_at=expires,
        role_arn=role.arn,
        issuing_event_id=rec["eventID"],
        extra={"provider_arn": provider_arn, "issuer": provider_arn},
    )
    return [rec], cred


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
        "assumedRoleUser": {
            "assumedRoleId": f"{role.role_id}:{session_name}",
            "arn": f"arn:aws:sts::{acct}:assumed-role/{role.name}/{session_name}",
        },
        "provider": provider_arn,
        "audience": "sts.amazonaws.com",
    }
    rec = _sts_record(
        world,
        identity=identity,
        t=t,
        name="AssumeRoleWithWebIdentity",
        region=region,
        ip=ip,
        ua=ua,
        params=params,
        response=response,
        recipient=acct,
        resources=role_resource(acct, role.arn),
    )
    ident = role_session_identity(
        account=acct,
        role_name=role.name,
        role_id=role.role_id,
        session_name=session_name,
        key_id=key,
        created=t,
        web_id={"federatedProvider": provider_arn, "attributes": {}},
        role_arn=role.arn,
    )
    cred = Cred(
        key_id=key,
        identity=ident,
        kind="AssumeRoleWithWebIdentity",
        label=identity["principalId"],
        account=acct,
        issued_at=t,
        expires_at=expires,
        role_arn=role.arn,
        issuing_event_id=rec["eventID"],
        extra={"provider_arn": provider_arn, "issuer": provider_arn},
    )
    return [rec], cred
