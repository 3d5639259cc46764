"""User-owned credentials: GetSessionToken, GetFederationToken, console sign-in, Switch Role, access keys.

A role cut-off cannot reach the first three when they belong to an IAM user (``docs/aws-facts.md``
§3.3); console sessions sign with ``ASIA`` keys that no record issues (§1.6).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ircreds.scenarios.issuing import Issued, _sts_record, assume_role
from ircreds.scenarios.records import (
    Cred,
    _attributes,
    base_record,
    credentials_block,
    expiration_text,
    iam_user_identity,
)
from ircreds.scenarios.world import Role, User, World


def _user_session_identity(user: User, key: str, t: datetime, mfa: bool) -> dict[str, Any]:
    ident = iam_user_identity(user.account, user.name, user.user_id, key)
    ident["sessionContext"] = {
        "sessionIssuer": {},
        "webIdFederationData": {},
        "attributes": _attributes(t, mfa),
    }
    return ident


def _user_token(
    world: World,
    caller: Cred,
    user: User,
    t: datetime,
    *,
    name: str,
    key: str,
    expires: datetime,
    params: dict[str, Any],
    response: dict[str, Any],
    identity: dict[str, Any],
    label: str,
    ip: str,
    ua: str,
) -> Issued:
    """The record and credential of a user's ``GetSessionToken``/``GetFederationToken`` call."""
    rec = _sts_record(
        world,
        identity=caller.identity,
        t=t,
        name=name,
        region="us-east-1",
        ip=ip,
        ua=ua,
        params=params,
        response=response,
        recipient=user.account,
    )
    cred = Cred(
        key_id=key,
        identity=identity,
        kind=name,
        label=label,
        account=user.account,
        issued_at=t,
        expires_at=expires,
        user_arn=user.arn,
        issuing_event_id=rec["eventID"],
        parent_key_id=caller.key_id,
    )
    return [rec], cred


def _signin_record(
    world: World,
    *,
    identity: dict[str, Any],
    t: datetime,
    name: str,
    ip: str,
    ua: str,
    recipient: str,
    read_only: bool | None,
    additional: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``signin.amazonaws.com`` console event (``ConsoleLogin``, ``SwitchRole``) that succeeded."""
    return base_record(
        world.ids,
        identity=identity,
        t=t,
        source="signin.amazonaws.com",
        name=name,
        region="us-east-1",
        ip=ip,
        ua=ua,
        params=None,
        response={name: "Success"},
        recipient=recipient,
        read_only=read_only,
        event_type="AwsConsoleSignIn",
        additional=additional,
        extra=extra,
    )


def get_session_token(
    world: World,
    caller: Cred,
    user: User,
    t: datetime,
    *,
    duration: int,
    ip: str,
    ua: str,
    mfa_serial: str | None = None,
) -> Issued:
    """``GetSessionToken``: later calls keep ``type IAMUser`` with the new ``ASIA`` key."""
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    params: dict[str, Any] = {"durationSeconds": duration}
    if mfa_serial:
        params["serialNumber"] = mfa_serial
        params["tokenCode"] = "HIDDEN_DUE_TO_SECURITY_REASONS"
    return _user_token(
        world,
        caller,
        user,
        t,
        name="GetSessionToken",
        key=key,
        expires=expires,
        params=params,
        response={"credentials": credentials_block(world.ids, key, expires)},
        identity=_user_session_identity(user, key, t, bool(mfa_serial)),
        label=user.arn,
        ip=ip,
        ua=ua,
    )


def get_federation_token(
    world: World, caller: Cred, user: User, t: datetime, *, name: str, duration: int, ip: str, ua: str
) -> Issued:
    """``GetFederationToken``: later calls are ``FederatedUser`` with ``sessionIssuer`` the IAM user."""
    acct = user.account
    key = world.ids.key("ASIA")
    expires = t + timedelta(seconds=duration)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    params = {"name": name, "durationSeconds": duration, "policy": json.dumps(policy, separators=(",", ":"))}
    fed_arn = f"arn:aws:sts::{acct}:federated-user/{name}"
    response = {
        "credentials": credentials_block(world.ids, key, expires),
        "federatedUser": {"federatedUserId": f"{acct}:{name}", "arn": fed_arn},
        "packedPolicySize": 6,
    }
    ident = {
        "type": "FederatedUser",
        "principalId": f"{acct}:{name}",
        "arn": fed_arn,
        "accountId": acct,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": user.user_id,
                "arn": user.arn,
                "accountId": acct,
                "userName": user.name,
            },
            "webIdFederationData": {},
            "attributes": _attributes(t, False),
        },
    }
    return _user_token(
        world,
        caller,
        user,
        t,
        name="GetFederationToken",
        key=key,
        expires=expires,
        params=params,
        response=response,
        identity=ident,
        label=fed_arn,
        ip=ip,
        ua=ua,
    )


def console_login(
    world: World, user: User, t: datetime, *, ip: str, ua: str, mfa: bool = True, hours: int = 12
) -> Issued:
    """``ConsoleLogin``; the console then signs with an ``ASIA`` key no record issued."""
    identity = {
        "type": "IAMUser",
        "principalId": user.user_id,
        "arn": user.arn,
        "accountId": user.account,
        "userName": user.name,
    }
    rec = _signin_record(
        world,
        identity=identity,
        t=t,
        name="ConsoleLogin",
        ip=ip,
        ua=ua,
        recipient=user.account,
        read_only=False,
        additional={
            "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAIdentifier": f"arn:aws:iam::{user.account}:mfa/{user.name}" if mfa else None,
            "MFAUsed": "Yes" if mfa else "No",
        },
    )
    if not mfa:
        del rec["additionalEventData"]["MFAIdentifier"]
    key = world.ids.key("ASIA")
    cred = Cred(
        key_id=key,
        identity=_user_session_identity(user, key, t, mfa),
        kind="console",
        label=user.arn,
        account=user.account,
        issued_at=t,
        expires_at=t + timedelta(hours=hours),
        user_arn=user.arn,
        console=True,
        issuing_event_id=rec["eventID"],
    )
    return [rec], cred


def switch_role(
    world: World, console: Cred, user: User, t: datetime, role: Role, *, ip: str, ua: str
) -> Issued:
    """Console Switch Role: an internal ``AssumeRole`` plus ``SwitchRole``; calls sign with another key."""
    records, cred = assume_role(world, console, t, role, user.name, duration=3600, console_switch=True)
    if cred is None:
        return records, None
    switch = _signin_record(
        world,
        identity=cred.identity,
        t=t,
        name="SwitchRole",
        ip=ip,
        ua=ua,
        recipient=role.account,
        read_only=None,
        additional={"SwitchFrom": user.arn, "RedirectTo": "https://console.aws.amazon.com/console/home"},
        extra={"sessionCredentialFromConsole": "true"},
    )
    return [*records, switch], cred


def create_access_key(world: World, caller: Cred, t: datetime, user: User, *, ip: str, ua: str) -> Issued:
    """``iam:CreateAccessKey`` for ``user``; the new ``AKIA`` key is in ``responseElements``."""
    key = world.ids.key("AKIA")
    response = {
        "accessKey": {
            "userName": user.name,
            "accessKeyId": key,
            "status": "Active",
            "createDate": expiration_text(t),
        }
    }
    rec = world.call(
        caller,
        t,
        "CreateAccessKey",
        region="us-east-1",
        ip=ip,
        ua=ua,
        params={"userName": user.name},
        response=response,
    )
    if "errorCode" in rec:
        return [rec], None
    user.keys.append(key)
    cred = replace(world.user_cred(user, -1), issuing_event_id=rec["eventID"], parent_key_id=caller.key_id)
    return [rec], cred
