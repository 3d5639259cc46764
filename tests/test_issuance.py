"""ircreds.lineage.issuance: each issuing event into its credential row, failures, cross-account copies.

The module's functions are the ones the lineage index calls (``_issued_row``, ``_merge_cross_account``,
``_observed_row``, ``_link_observed``); they are fed the records the loader makes of raw CloudTrail
records built with the story builder, so a test reads as "this call issues this row".
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from findings.records import (
    ACCOUNT,
    ATTACKER_IP,
    CLI_UA,
    K1,
    K2,
    K3,
    OFFICE_IP,
    OTHER_ACCOUNT,
    USER_KEY,
    assume_role,
    expiration_text,
    record,
    role_identity,
    t,
    user_identity,
)

import ircreds
from ircreds.lineage.issuance import (
    _ISSUE_FIELDS,
    _OBS_FIELDS,
    ISSUING_EVENTS,
    _issued_row,
    _link_observed,
    _merge_cross_account,
    _observed_row,
)
from ircreds.lineage.values import _records

EXAMPLE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ExampleRole"
ROLE_ID = "AROADBQP57FF2AEXAMPLE"


def _flat(raw: list[dict[str, Any]], fields: tuple[str, ...] = _ISSUE_FIELDS) -> list[dict[str, Any]]:
    """The loader's records of ``raw`` (in eventTime order), with the fields the lineage index reads."""
    events = ircreds.load(json.loads(json.dumps(raw)))
    return _records(events, np.ones(len(events), dtype=bool), fields)


def _row(raw: dict[str, Any]) -> dict[str, Any] | None:
    [rec] = _flat([raw])
    return _issued_row(rec)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


# --------------------------------------------------------------------------------- one row per kind


def test_assume_role_by_a_user_names_the_role_the_session_and_the_user() -> None:
    dev = user_identity()
    raw = assume_role(dev, K1, t(14), duration=43200)
    assert _public(_row(raw)) == {
        "access_key_id": K1,
        "kind": "AssumeRole",
        "role_arn": EXAMPLE_ROLE,
        "session_name": "DevUser",
        "principal_id": f"{ROLE_ID}:DevUser",
        "principal_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ExampleRole/DevUser",
        "account_id": ACCOUNT,
        "issued_at": t(14),
        "expires_at": t(14) + timedelta(hours=12),
        "issuing_event_ids": (raw["eventID"],),
        "issuer_type": "IAMUser",
        "issuer_arn": dev["arn"],
        "issuer_name": "DevUser",
        "issuer_access_key_id": USER_KEY,
        "issuer_source_ip": OFFICE_IP,
        "issuer_user_agent": CLI_UA,
        "parent_key": USER_KEY,
        "source_identity": None,
        "mfa_authenticated": None,
        "observed_only": False,
        "linked_by": "issued key",
    }


def test_assume_role_into_another_account_belongs_to_the_roles_account() -> None:
    raw = assume_role(user_identity(), K1, t(0), account=OTHER_ACCOUNT)
    row = _row(raw)
    assert row["account_id"] == OTHER_ACCOUNT
    assert row["role_arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:role/ExampleRole"


def test_chained_assume_role_names_the_calling_session_and_keeps_its_mfa_and_source_identity() -> None:
    caller = role_identity(K1, created=t(0), sourceIdentity="alice")
    caller["sessionContext"]["attributes"]["mfaAuthenticated"] = "true"
    raw = assume_role(
        caller,
        K2,
        t(30),
        role="DataPipelineRole",
        session="pipe",
        role_id="AROAEXAMPLEPIPE000001",
        ip=ATTACKER_IP,
    )
    row = _row(raw)
    assert row["issuer_type"] == "AssumedRole"
    assert row["issuer_name"] == "ExampleRole/DevUser"  # Role/session, from the caller's session ARN
    assert row["issuer_arn"] == caller["arn"]
    assert row["parent_key"] == K1
    assert row["issuer_source_ip"] == ATTACKER_IP
    assert row["mfa_authenticated"] is True
    assert row["source_identity"] == "alice"


def test_a_source_identity_set_in_the_request_wins_over_the_callers() -> None:
    raw = assume_role(role_identity(K1, created=t(0), sourceIdentity="alice"), K2, t(1), session="pipe")
    raw["requestParameters"]["sourceIdentity"] = "bob"
    assert _row(raw)["source_identity"] == "bob"


def test_assume_role_by_a_service_is_service_issued_and_has_no_parent() -> None:
    ec2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    raw = assume_role(ec2, K1, t(0), role="WebRole", session="i-0123456789abcdef0", ip="ec2.amazonaws.com")
    row = _row(raw)
    assert row["kind"] == "Service"
    assert row["issuer_name"] == "ec2.amazonaws.com"
    assert row["issuer_arn"] == "ec2.amazonaws.com"
    assert row["parent_key"] is None
    assert row["session_name"] == "i-0123456789abcdef0"


def test_assume_role_from_the_console_is_a_switch_role() -> None:
    console = dict(user_identity(key="ASIAQEXAMPLECONSOLE1"), invokedBy="AWS Internal")
    raw = assume_role(console, K1, t(0), role="AdminRole", ip="AWS Internal", ua="AWS Internal")
    assert _row(raw)["kind"] == "SwitchRole"


def test_a_service_response_without_assumed_role_user_still_names_the_session_principal() -> None:
    lam = {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}
    raw = assume_role(lam, K1, t(0), role="OrdersFunctionRole", session="orders-processor")
    del raw["responseElements"]["assumedRoleUser"]
    row = _row(raw)
    assert row["principal_arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/OrdersFunctionRole/orders-processor"
    assert row["principal_id"] is None
    assert row["session_name"] == "orders-processor"


SAML_USER = {
    "type": "SAMLUser",
    "principalId": "SAMPLEb64NameQualifier=:jane@example.com",
    "userName": "jane@example.com",
    "identityProvider": "SAMPLEb64NameQualifier=",
}
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP"


def test_assume_role_with_saml_is_issued_by_the_identity_provider() -> None:
    caller = dict(SAML_USER, sessionContext={"attributes": {"mfaAuthenticated": "true"}})
    raw = assume_role(caller, K1, t(0), name="AssumeRoleWithSAML", role="FederatedRole", session="jane")
    raw["requestParameters"]["principalArn"] = PROVIDER
    row = _row(raw)
    assert row["kind"] == "AssumeRoleWithSAML"
    assert row["issuer_type"] == "SAMLUser"
    assert row["issuer_arn"] == PROVIDER
    assert row["issuer_name"] == "jane@example.com"
    assert row["mfa_authenticated"] is None  # the IdP's MFA is not CloudTrail's to tell
    assert row["parent_key"] is None


def test_assume_role_with_web_identity_without_a_provider_arn_names_the_principal() -> None:
    web = {
        "type": "WebIdentityUser",
        "principalId": "token.actions.githubusercontent.com:sts.amazonaws.com:repo:example/app",
        "userName": "repo:example/app:ref:refs/heads/main",
        "identityProvider": "token.actions.githubusercontent.com",  # a host, not an ARN
    }
    raw = assume_role(web, K1, t(0), name="AssumeRoleWithWebIdentity", role="DeployRole", session="gh")
    row = _row(raw)
    assert row["kind"] == "AssumeRoleWithWebIdentity"
    assert row["issuer_arn"] == web["principalId"]
    assert row["issuer_name"] == web["userName"]


def _get_session_token(serial: bool) -> dict[str, Any]:
    request: dict[str, Any] = {"durationSeconds": 129600}
    if serial:
        request["serialNumber"] = f"arn:aws:iam::{ACCOUNT}:mfa/DevUser"
    creds = {
        "accessKeyId": K1,
        "sessionToken": "x",
        "expiration": expiration_text(t(0) + timedelta(hours=36)),
    }
    return record(user_identity(), "GetSessionToken", t(0), request=request, response={"credentials": creds})


@pytest.mark.parametrize("serial", [True, False])
def test_get_session_token_belongs_to_the_user_with_mfa_when_a_device_signed_it(serial: bool) -> None:
    row = _row(_get_session_token(serial))
    assert row["kind"] == "GetSessionToken"
    assert row["principal_arn"] == f"arn:aws:iam::{ACCOUNT}:user/DevUser"
    assert row["principal_id"] == user_identity()["principalId"]
    assert row["role_arn"] is None
    assert row["account_id"] == ACCOUNT
    assert row["expires_at"] == t(0) + timedelta(hours=36)
    assert row["mfa_authenticated"] is serial


def test_get_federation_token_names_the_federated_user() -> None:
    raw = record(
        user_identity("app-broker", account=OTHER_ACCOUNT),
        "GetFederationToken",
        t(0),
        request={"name": "admin", "durationSeconds": 3600},
        response={
            "credentials": {"accessKeyId": K1, "sessionToken": "x", "expiration": expiration_text(t(60))},
            "federatedUser": {
                "arn": f"arn:aws:sts::{OTHER_ACCOUNT}:federated-user/admin",
                "federatedUserId": f"{OTHER_ACCOUNT}:admin",
            },
        },
    )
    row = _row(raw)
    assert row["kind"] == "GetFederationToken"
    assert row["session_name"] == "admin"
    assert row["principal_arn"] == f"arn:aws:sts::{OTHER_ACCOUNT}:federated-user/admin"
    assert row["principal_id"] == f"{OTHER_ACCOUNT}:admin"
    assert row["account_id"] == OTHER_ACCOUNT
    assert row["role_arn"] is None
    assert row["expires_at"] == t(60)
    assert row["parent_key"] == USER_KEY


def _create_access_key(caller: dict[str, Any], user: str | None) -> dict[str, Any]:
    access_key: dict[str, Any] = {"accessKeyId": K3, "status": "Active"}
    if user:
        access_key["userName"] = user
    return record(
        caller,
        "CreateAccessKey",
        t(50),
        request={"userName": user} if user else None,
        response={"accessKey": access_key},
    )


def test_create_access_key_for_another_user_belongs_to_that_user_and_never_expires() -> None:
    caller = role_identity(K1, created=t(0))
    row = _row(_create_access_key(caller, "backup-svc"))
    assert row["kind"] == "CreateAccessKey"
    assert row["principal_arn"] == f"arn:aws:iam::{ACCOUNT}:user/backup-svc"
    assert row["session_name"] == "backup-svc"
    assert row["expires_at"] is None
    assert row["parent_key"] == K1
    assert row["account_id"] == ACCOUNT


def test_create_access_key_for_oneself_belongs_to_the_caller() -> None:
    dev = user_identity()
    row = _row(_create_access_key(dev, None))
    assert row["principal_arn"] == dev["arn"]
    assert row["session_name"] == "DevUser"
    assert row["parent_key"] == USER_KEY


@pytest.mark.parametrize("name", ["AssumeRole", "CreateAccessKey"])
def test_the_key_is_read_from_the_response_when_the_issued_columns_are_empty(name: str) -> None:
    raw = (
        assume_role(user_identity(), K1, t(0))
        if name == "AssumeRole"
        else _create_access_key(role_identity(K1, created=t(0)), "backup-svc")
    )
    [rec] = _flat([raw])
    rec = {**rec, "issued.accessKeyId": pd.NA, "issued.expiration": pd.NaT}  # a source that leaves them out
    row = _issued_row(rec)
    assert row["access_key_id"] == (K1 if name == "AssumeRole" else K3)
    assert row["expires_at"] == (t(60) if name == "AssumeRole" else None)


# ---------------------------------------------------------------------------- what issues nothing


def _issuing_call(name: str) -> dict[str, Any]:
    if name.startswith("AssumeRole"):
        caller = SAML_USER if name != "AssumeRole" else user_identity()
        return assume_role(caller, K1, t(0), name=name)
    if name == "GetSessionToken":
        return _get_session_token(True)
    if name == "CreateAccessKey":
        return _create_access_key(role_identity(K1, created=t(0)), "backup-svc")
    creds = {"accessKeyId": K1, "sessionToken": "x", "expiration": expiration_text(t(60))}
    return record(user_identity(), name, t(0), request={"name": "admin"}, response={"credentials": creds})


@pytest.mark.parametrize("name", sorted(ISSUING_EVENTS))
def test_every_issuing_event_kind_issues_one_key(name: str) -> None:
    row = _row(_issuing_call(name))
    assert row is not None
    assert row["access_key_id"] == (K3 if name == "CreateAccessKey" else K1)
    assert row["kind"] == name


@pytest.mark.parametrize("name", sorted(ISSUING_EVENTS))
@pytest.mark.parametrize("error", ["AccessDenied", "ExpiredToken"])
def test_a_failed_issuing_call_issues_nothing_even_with_credentials_in_it(name: str, error: str) -> None:
    raw = _issuing_call(name)
    raw["errorCode"] = error  # some failed records still carry the response (Panther's corpus)
    raw["errorMessage"] = "denied"
    assert _row(raw) is None


@pytest.mark.parametrize("name", sorted(ISSUING_EVENTS))
def test_an_issuing_call_without_a_key_in_its_response_issues_nothing(name: str) -> None:
    raw = _issuing_call(name)
    raw["responseElements"] = None
    assert _row(raw) is None


# -------------------------------------------------------------------- cross-account copies merged


def _copies(shared: str | None = "b0a1-shared") -> tuple[dict[str, Any], dict[str, Any]]:
    """The caller's copy (in its account) and the role owner's copy (an AWSAccount caller) of one call."""
    caller = user_identity("JohnDoe", account=OTHER_ACCOUNT)
    extra = {"sharedEventID": shared} if shared else {}
    mine = assume_role(caller, K1, t(0), account=ACCOUNT, recipient=OTHER_ACCOUNT, **extra)
    theirs = json.loads(json.dumps(mine))
    theirs["userIdentity"] = {
        "type": "AWSAccount",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "accountId": OTHER_ACCOUNT,
    }
    theirs["recipientAccountId"] = ACCOUNT
    theirs["eventID"] = "00000000-0000-4000-0000-000000000002"  # sorts before the caller's
    return mine, theirs


@pytest.mark.parametrize("owner_first", [True, False])
def test_the_two_copies_of_a_cross_account_call_merge_into_the_callers_row(owner_first: bool) -> None:
    mine, theirs = _copies()
    rows = [_issued_row(rec) for rec in _flat([mine, theirs])]
    if owner_first != (rows[0]["_caller_type"] == "AWSAccount"):
        rows.reverse()
    [merged] = _merge_cross_account(rows)
    assert merged["issuing_event_ids"] == (mine["eventID"], theirs["eventID"])  # the caller's copy first
    assert merged["issuer_type"] == "IAMUser"
    assert merged["issuer_arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:user/JohnDoe"
    assert merged["account_id"] == ACCOUNT


def test_copies_without_a_shared_event_id_stay_apart() -> None:
    mine, theirs = _copies(shared=None)
    rows = _merge_cross_account([_issued_row(rec) for rec in _flat([mine, theirs])])
    assert sorted(r["issuing_event_ids"] for r in rows) == sorted([(mine["eventID"],), (theirs["eventID"],)])


def test_one_shared_event_id_does_not_merge_two_different_keys() -> None:
    mine, theirs = _copies()
    theirs["responseElements"]["credentials"]["accessKeyId"] = K2
    rows = _merge_cross_account([_issued_row(rec) for rec in _flat([mine, theirs])])
    assert sorted(r["access_key_id"] for r in rows) == sorted([K1, K2])


def test_merging_leaves_single_rows_as_they_are() -> None:
    rows = [_issued_row(rec) for rec in _flat([assume_role(user_identity(), K1, t(0))])]
    assert _merge_cross_account(rows) == rows


# ------------------------------------------------------------------------- keys seen only in calls


def _observed(raw: dict[str, Any]) -> dict[str, Any]:
    [rec] = _flat([raw], _OBS_FIELDS)
    return _observed_row(rec)


def test_a_role_session_seen_only_in_its_calls_is_built_from_its_session_context() -> None:
    row = _observed(record(role_identity(K1, session="ci-run", created=t(-600)), "ListBuckets", t(1)))
    assert row["kind"] == "Observed"
    assert row["role_arn"] == EXAMPLE_ROLE
    assert row["session_name"] == "ci-run"
    assert row["issued_at"] == t(-600)
    assert row["issuer_type"] == "Role"
    assert row["issuer_name"] == "ExampleRole"
    assert row["observed_only"] is True
    assert row["linked_by"] == "calls only"
    assert row["issuing_event_ids"] == ()


def test_a_federated_session_seen_only_in_its_calls_has_no_role() -> None:
    broker = user_identity("app-broker")
    ident = {
        "type": "FederatedUser",
        "principalId": f"{ACCOUNT}:admin",
        "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/admin",
        "accountId": ACCOUNT,
        "accessKeyId": K1,
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": broker["principalId"],
                "arn": broker["arn"],
                "accountId": ACCOUNT,
                "userName": "app-broker",
            },
            "attributes": {"creationDate": "2025-01-20T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    row = _observed(record(ident, "ListBuckets", t(1)))
    assert row["role_arn"] is None
    assert (row["issuer_type"], row["issuer_arn"]) == ("IAMUser", broker["arn"])
    assert row["session_name"] == "admin"
    assert row["mfa_authenticated"] is False


def test_a_long_term_key_seen_only_in_its_calls_is_issued_by_its_user() -> None:
    dev = user_identity()
    row = _observed(record(dev, "ListBuckets", t(1)))
    assert (row["issuer_type"], row["issuer_arn"], row["issuer_name"]) == ("IAMUser", dev["arn"], "DevUser")
    assert row["role_arn"] is None
    assert row["issued_at"] is None


@pytest.mark.parametrize(("skew", "linked"), [(0, True), (2, True), (3, False), (-2, True), (-3, False)])
def test_an_observed_key_links_to_its_issuing_event_within_two_seconds(skew: int, linked: bool) -> None:
    issue = assume_role(user_identity(), K1, t(0), role="AdminRole")
    issued = [_issued_row(rec) for rec in _flat([issue])]
    # the console re-keys a session: another key, same principal, creationDate about the issue time
    use = record(
        role_identity(K2, role="AdminRole", created=t(0) + timedelta(seconds=skew)), "ListBuckets", t(2)
    )
    observed = [_observed(use)]
    _link_observed(observed, issued, [])
    [row] = observed
    assert row["observed_only"] is not linked
    if linked:
        assert row["linked_by"] == "principalId+creationDate"
        assert row["issuing_event_ids"] == (issue["eventID"],)
        assert row["issued_at"] == t(0)
        assert row["parent_key"] == USER_KEY
    else:
        assert row["linked_by"] == "calls only"


def _console_key_use(created: datetime) -> dict[str, Any]:
    ident = dict(
        user_identity(key="ASIAQEXAMPLECONSOLE1"),
        sessionContext={
            "sessionIssuer": {},
            "attributes": {
                "creationDate": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "mfaAuthenticated": "true",
            },
        },
    )
    return record(ident, "DescribeInstances", created + timedelta(minutes=1), ip="AWS Internal")


def _login(when: datetime, ip: str) -> dict[str, Any]:
    return record(
        user_identity(key=None),
        "ConsoleLogin",
        when,
        source="signin.amazonaws.com",
        ip=ip,
        ua="Mozilla/5.0",
        response={"ConsoleLogin": "Success"},
        eventType="AwsConsoleSignIn",
    )


def test_a_console_key_links_to_the_nearest_sign_in_within_five_minutes() -> None:
    logins_raw = [_login(t(3), "198.51.100.1"), _login(t(9), "198.51.100.2"), _login(t(30), "198.51.100.3")]
    logins = _flat(
        logins_raw,
        (
            "eventTime",
            "eventID",
            "sourceIPAddress",
            "userAgent",
            "userIdentity.arn",
            "userIdentity.principalId",
        ),
    )
    observed = [_observed(_console_key_use(t(7)))]
    _link_observed(observed, [], logins)
    [row] = observed
    assert row["kind"] == "ConsoleLogin"
    assert row["issuing_event_ids"] == (logins_raw[1]["eventID"],)  # 2 minutes away beats 4
    assert row["issuer_source_ip"] == "198.51.100.2"
    assert row["observed_only"] is False


def test_a_console_key_created_long_after_any_sign_in_stays_observed() -> None:
    logins = _flat(
        [_login(t(0), "198.51.100.1")],
        (
            "eventTime",
            "eventID",
            "sourceIPAddress",
            "userAgent",
            "userIdentity.arn",
            "userIdentity.principalId",
        ),
    )
    observed = [_observed(_console_key_use(t(6)))]
    _link_observed(observed, [], logins)
    assert observed[0]["kind"] == "Observed"
    assert observed[0]["observed_only"] is True
