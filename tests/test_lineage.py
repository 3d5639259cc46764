"""sessions(): one row per credential, for every issuing path of aws-facts §1.2."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from conftest import CORPUS
from findings.records import (
    ACCOUNT,
    ATTACKER_IP,
    K1,
    K2,
    K3,
    OTHER_ACCOUNT,
    USER_KEY,
    assume_role,
    expiration_text,
    iso,
    leak_story,
    record,
    role_identity,
    t,
    user_identity,
)

import ircreds
from ircreds.lineage import SESSION_COLUMNS, parse_expiration, sessions


def _row(frame: pd.DataFrame, key: str) -> pd.Series:
    rows = frame.loc[frame["access_key_id"] == key]
    assert len(rows) == 1, f"{key}: {len(rows)} rows"
    return rows.iloc[0]


def test_sessions_has_the_contract_columns() -> None:
    frame = sessions(ircreds.load(leak_story()))
    assert list(frame.columns) == list(SESSION_COLUMNS)
    assert str(frame["issued_at"].dtype).startswith("datetime64")
    assert frame["issued_at"].dt.tz is not None


def test_the_readme_documents_every_sessions_column_in_order() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("ircreds.lineage.SESSION_COLUMNS") :]
    table = table[: table.index("- **Trace**")]
    documented = re.findall(r"^\s*\| `([a-z_]+)` \|", table, flags=re.MULTILINE)
    assert documented == list(SESSION_COLUMNS)


def test_sessions_links_assume_role_key_to_its_issuer_and_calls() -> None:
    records = leak_story()
    frame = sessions(ircreds.load(records))
    k1 = _row(frame, K1)
    issuing = next(
        r
        for r in records
        if (r.get("responseElements") or {}).get("credentials", {}).get("accessKeyId") == K1
    )
    assert k1["kind"] == "AssumeRole"
    assert k1["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/ExampleRole"
    assert k1["session_name"] == "DevUser"
    assert k1["issuing_event_ids"] == (issuing["eventID"],)
    assert k1["issuer_type"] == "IAMUser"
    assert k1["issuer_arn"] == f"arn:aws:iam::{ACCOUNT}:user/DevUser"
    assert k1["issuer_access_key_id"] == USER_KEY == k1["parent_key"]
    assert k1["issued_at"] == pd.Timestamp(issuing["eventTime"])
    assert k1["expires_at"] == pd.Timestamp(issuing["eventTime"]) + pd.Timedelta(hours=12)
    assert k1["call_count"] == sum(1 for r in records if r["userIdentity"].get("accessKeyId") == K1)
    assert not k1["observed_only"]


def test_sessions_chained_assume_role_has_the_parent_session_key() -> None:
    frame = sessions(ircreds.load(leak_story()))
    k2 = _row(frame, K2)
    assert k2["parent_key"] == K1
    assert k2["issuer_type"] == "AssumedRole"
    assert k2["issuer_source_ip"] == ATTACKER_IP


def test_sessions_minted_access_key_belongs_to_the_new_user() -> None:
    frame = sessions(ircreds.load(leak_story()))
    k3 = _row(frame, K3)
    assert k3["kind"] == "CreateAccessKey"
    assert k3["parent_key"] == K1
    assert k3["principal_arn"] == f"arn:aws:iam::{ACCOUNT}:user/backup-svc"
    assert pd.isna(k3["expires_at"])


@pytest.mark.parametrize("error", ["AccessDenied", "ExpiredToken"])
def test_sessions_failed_issuing_call_issues_nothing(error: str) -> None:
    dev = user_identity()
    ok = assume_role(dev, "ASIAQEXAMPLEOK0000001", t(0))
    failed = assume_role(dev, "ASIAQEXAMPLEBAD000001", t(1), session="other")
    # a failed record that still carries credentials (seen in Panther's corpus) issues nothing either
    failed["errorCode"] = error
    frame = sessions(ircreds.load([ok, failed]))
    assert "ASIAQEXAMPLEOK0000001" in set(frame["access_key_id"])
    assert "ASIAQEXAMPLEBAD000001" not in set(frame["access_key_id"])


def test_sessions_merges_cross_account_copies_through_shared_event_id() -> None:
    caller = user_identity("JohnDoe", key=USER_KEY, account=OTHER_ACCOUNT)
    mine = assume_role(
        caller, K1, t(0), account=ACCOUNT, recipient=OTHER_ACCOUNT, sharedEventID="b0a1-shared"
    )
    theirs = json.loads(json.dumps(mine))
    theirs["userIdentity"] = {
        "type": "AWSAccount",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "accountId": OTHER_ACCOUNT,
    }
    theirs["recipientAccountId"] = ACCOUNT
    theirs["eventID"] = "00000000-0000-4000-9000-000000000002"
    used = record(role_identity(K1, created=t(0)), "ListBuckets", t(5), source="s3.amazonaws.com")
    frame = sessions(ircreds.load([theirs, mine, used]))
    row = _row(frame, K1)
    assert set(row["issuing_event_ids"]) == {mine["eventID"], theirs["eventID"]}
    assert row["issuing_event_ids"][0] == mine["eventID"]  # the caller's copy names the human
    assert row["issuer_type"] == "IAMUser"
    assert row["issuer_arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:user/JohnDoe"
    assert row["account_id"] == ACCOUNT
    assert row["call_count"] == 1


@pytest.mark.parametrize(
    ("name", "caller", "kind", "issuer_type"),
    [
        (
            "AssumeRoleWithSAML",
            {
                "type": "SAMLUser",
                "principalId": "SAMPLEb64NameQualifier=:jane@example.com",
                "userName": "jane@example.com",
                "identityProvider": "SAMPLEb64NameQualifier=",
            },
            "AssumeRoleWithSAML",
            "SAMLUser",
        ),
        (
            "AssumeRoleWithWebIdentity",
            {
                "type": "WebIdentityUser",
                "principalId": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:example/app",
                "userName": "repo:example/app:ref:refs/heads/main",
                "identityProvider": "token.actions.githubusercontent.com",
            },
            "AssumeRoleWithWebIdentity",
            "WebIdentityUser",
        ),
    ],
)
def test_sessions_federated_sessions_name_their_identity(
    name: str, caller: dict, kind: str, issuer_type: str
) -> None:
    rec = assume_role(caller, K1, t(0), name=name, role="FederatedRole", session="fed")
    frame = sessions(
        ircreds.load(
            [rec, record(role_identity(K1, role="FederatedRole", session="fed"), "ListBuckets", t(3))]
        )
    )
    row = _row(frame, K1)
    assert row["kind"] == kind
    assert row["issuer_type"] == issuer_type
    assert row["issuer_name"] == caller["userName"]
    assert pd.isna(row["parent_key"])
    trace = ircreds.trace(ircreds.load([rec]), K1)
    assert str(trace.root.type) == issuer_type


def test_sessions_get_session_token_keeps_the_user_and_mfa() -> None:
    dev = user_identity()
    rec = record(
        dev,
        "GetSessionToken",
        t(0),
        request={"durationSeconds": 129600, "serialNumber": "arn:aws:iam::111122223333:mfa/DevUser"},
        response={
            "credentials": {
                "accessKeyId": K1,
                "sessionToken": "x",
                "expiration": expiration_text(t(0) + timedelta(hours=36)),
            }
        },
    )
    use = record(
        dict(
            user_identity(key=K1),
            sessionContext={
                "sessionIssuer": {},
                "attributes": {"creationDate": iso(t(0)), "mfaAuthenticated": "true"},
            },
        ),
        "DescribeInstances",
        t(2),
    )
    frame = sessions(ircreds.load([rec, use]))
    row = _row(frame, K1)
    assert row["kind"] == "GetSessionToken"
    assert row["principal_arn"] == dev["arn"]
    assert bool(row["mfa_authenticated"]) is True
    assert row["expires_at"] == pd.Timestamp(t(0) + timedelta(hours=36))
    assert row["call_count"] == 1


def test_sessions_get_federation_token_names_the_federated_user() -> None:
    rec = record(
        user_identity("app-broker"),
        "GetFederationToken",
        t(0),
        request={"name": "admin", "durationSeconds": 3600},
        response={
            "credentials": {"accessKeyId": K1, "sessionToken": "x", "expiration": expiration_text(t(60))},
            "federatedUser": {
                "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/admin",
                "federatedUserId": f"{ACCOUNT}:admin",
            },
        },
    )
    row = _row(sessions(ircreds.load([rec])), K1)
    assert row["kind"] == "GetFederationToken"
    assert row["session_name"] == "admin"
    assert row["principal_arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/admin"
    assert row["parent_key"] == USER_KEY


def test_sessions_instance_profile_assume_role_is_service_issued() -> None:
    ec2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    rec = assume_role(
        ec2,
        K1,
        t(0),
        role="WebRole",
        session="i-0123456789abcdef0",
        ip="ec2.amazonaws.com",
        ua="ec2.amazonaws.com",
        duration=21600,
    )
    use = record(
        role_identity(K1, role="WebRole", session="i-0123456789abcdef0", ec2RoleDelivery="2.0"),
        "DescribeTags",
        t(1),
        ip="10.0.1.5",
    )
    row = _row(sessions(ircreds.load([rec, use])), K1)
    assert row["kind"] == "Service"
    assert row["issuer_type"] == "AWSService"
    assert row["issuer_name"] == "ec2.amazonaws.com"
    assert row["session_name"] == "i-0123456789abcdef0"
    trace = ircreds.trace(ircreds.load([rec, use]), K1)
    assert str(trace.root.type) == "AWSService"


def test_sessions_key_issued_outside_the_evidence_is_built_from_session_context() -> None:
    created = t(-600)
    use = record(
        role_identity(K1, role="ExampleRole", session="ci-run-4711", created=created), "ListBuckets", t(1)
    )
    row = _row(sessions(ircreds.load([use])), K1)
    assert row["kind"] == "Observed"
    assert bool(row["observed_only"]) is True
    assert row["issued_at"] == pd.Timestamp(created)
    assert row["role_arn"] == f"arn:aws:iam::{ACCOUNT}:role/ExampleRole"
    assert row["session_name"] == "ci-run-4711"
    assert row["issuing_event_ids"] == ()


def test_sessions_console_login_keys_link_by_principal_and_creation_date() -> None:
    login = record(
        user_identity(key=None),
        "ConsoleLogin",
        t(0),
        source="signin.amazonaws.com",
        ua="Mozilla/5.0",
        response={"ConsoleLogin": "Success"},
        additionalEventData={"MFAUsed": "Yes"},
        eventType="AwsConsoleSignIn",
    )
    console_ctx = {"sessionIssuer": {}, "attributes": {"creationDate": iso(t(0)), "mfaAuthenticated": "true"}}
    calls = [
        record(
            dict(user_identity(key=key), sessionContext=console_ctx),
            "DescribeInstances",
            t(3 + i),
            ip="AWS Internal",
        )
        for i, key in enumerate(["ASIAQEXAMPLECONSOLE1", "ASIAQEXAMPLECONSOLE2"])
    ]
    later = dict(
        user_identity(key="ASIAQEXAMPLECONSOLE3"),
        sessionContext={
            **console_ctx,
            "attributes": {"creationDate": iso(t(400)), "mfaAuthenticated": "true"},
        },
    )
    calls.append(record(later, "DescribeInstances", t(401)))
    frame = sessions(ircreds.load([login, *calls]))
    for key in ("ASIAQEXAMPLECONSOLE1", "ASIAQEXAMPLECONSOLE2"):
        row = _row(frame, key)
        assert row["kind"] == "ConsoleLogin"
        assert row["issuing_event_ids"] == (login["eventID"],)
        assert not row["observed_only"]
    # a console key created long after that login is not linked to it
    assert _row(frame, "ASIAQEXAMPLECONSOLE3")["kind"] == "Observed"


def test_sessions_switch_role_rekeyed_session_links_by_principal_and_creation_date() -> None:
    console_user = dict(user_identity(key="ASIAQEXAMPLECONSOLE1"), invokedBy="AWS Internal")
    issued = assume_role(
        console_user,
        "ASIAQEXAMPLESWITCH01",
        t(0),
        role="AdminRole",
        session="DevUser",
        ip="AWS Internal",
        ua="AWS Internal",
    )
    switch = record(
        user_identity(key=None),
        "SwitchRole",
        t(0),
        source="signin.amazonaws.com",
        additionalEventData={"SwitchFrom": "arn:aws:iam::111122223333:user/DevUser"},
        response={"SwitchRole": "Success"},
    )
    # the console signs the next calls with another key of the same session (aws-facts §1.6)
    use = record(
        role_identity("ASIAQEXAMPLESWITCH02", role="AdminRole", session="DevUser", created=t(0)),
        "CreateUser",
        t(2),
        request={"userName": "x"},
    )
    frame = sessions(ircreds.load([issued, switch, use]))
    row = _row(frame, "ASIAQEXAMPLESWITCH02")
    assert row["kind"] == "SwitchRole"
    assert row["issuing_event_ids"] == (issued["eventID"],)
    assert row["parent_key"] == "ASIAQEXAMPLECONSOLE1"
    assert row["linked_by"] == "principalId+creationDate"
    assert _row(frame, "ASIAQEXAMPLESWITCH01")["kind"] == "SwitchRole"


def test_sessions_same_session_name_reissued_later_is_not_linked() -> None:
    ec2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    first = assume_role(
        ec2,
        "ASIAQEXAMPLEEC200001",
        t(0),
        role="WebRole",
        session="i-0123456789abcdef0",
        ip="ec2.amazonaws.com",
    )
    # a later session of the same instance whose issuing event is missing: same principalId, other creationDate
    use = record(
        role_identity("ASIAQEXAMPLEEC200002", role="WebRole", session="i-0123456789abcdef0", created=t(360)),
        "DescribeTags",
        t(361),
    )
    row = _row(sessions(ircreds.load([first, use])), "ASIAQEXAMPLEEC200002")
    assert row["kind"] == "Observed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jul 18, 2014, 4:07:39 PM", datetime(2014, 7, 18, 16, 7, 39, tzinfo=UTC)),
        ("Sep 17, 2020 8:04:10 PM", datetime(2020, 9, 17, 20, 4, 10, tzinfo=UTC)),
        ("Nov 30, 2024, 8:43:17 AM", datetime(2024, 11, 30, 8, 43, 17, tzinfo=UTC)),
        ("Jan 20, 2025, 12:05:00 AM", datetime(2025, 1, 20, 0, 5, 0, tzinfo=UTC)),
        ("2025-01-20T21:14:27Z", datetime(2025, 1, 20, 21, 14, 27, tzinfo=UTC)),
        ("garbage", None),
    ],
)
def test_parse_expiration_accepts_sts_text_forms(text: str, expected: datetime | None) -> None:
    assert parse_expiration(text) == expected


def test_sessions_does_not_change_its_input() -> None:
    events = ircreds.load(leak_story())
    before = events.copy()
    sessions(events)
    pd.testing.assert_frame_equal(events, before)


# --- real corpus (aws-facts sources; MANIFEST lists the genuine issued-key links) -----------------


def _corpus(name: str) -> list[dict]:
    return json.loads((CORPUS / f"{name}.json").read_text())["records"]


STRATUS_LINKS = {
    "ASIANQQHHS551LWULIWD": ("AssumeRole", 30),
    "ASIA36EV31F1RB3OA8IG": ("AssumeRole", 1),
    "ASIA4URVX2JM5MT0ZGK8": ("AssumeRole", 15),
    "ASIA9F6MXE9HSYOXYQOS": ("AssumeRole", 1),
    "ASIASTJKC5GCM7ZE6LUP": ("GetFederationToken", 1),
}


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_sessions_links_stratus_issued_keys_to_their_calls() -> None:
    frame = sessions(ircreds.load(_corpus("stratus-red-team-detonation-logs")))
    for key, (kind, calls) in STRATUS_LINKS.items():
        row = _row(frame, key)
        assert row["kind"] == kind, key
        assert row["call_count"] == calls, key
        assert row["issuer_type"] == "IAMUser"
    # 12 AssumeRole records, 4 of them AccessDenied (which issue nothing), 1 federation token, 2 minted keys
    issued = frame.loc[~frame["observed_only"], "kind"].value_counts().to_dict()
    assert issued == {"AssumeRole": 8, "GetFederationToken": 1, "CreateAccessKey": 2}
    assert _row(frame, "ASIAP5CT9NN8EYVU1FXV")["observed_only"]


OPENSEARCH_LINKS = {
    "ASIAVBW53AN5EZSWT2UV": 1,
    "ASIAVBW53AN5JZK4UJV3": 1,
    "ASIAVBW53AN5I5KLEGVJ": 2,
    "ASIAVBW53AN5PTO23BK7": 1,
    "ASIAVBW53AN5HUOZRKE5": 1,
    "ASIAVBW53AN5FVMDEB43": 1,
}


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not on this machine")
def test_sessions_links_opensearch_service_keys_including_lambda_without_assumed_role_user() -> None:
    frame = sessions(ircreds.load(_corpus("opensearch-catalog-aws-cloudtrail")))
    for key, calls in OPENSEARCH_LINKS.items():
        row = _row(frame, key)
        assert row["kind"] == "Service"
        assert row["call_count"] == calls, key
        assert row["principal_arn"].startswith("arn:aws:sts::")
        assert "/assumed-role/" not in row["principal_arn"] or row["principal_arn"].endswith(
            row["session_name"]
        )
    lam = _row(frame, "ASIAVBW53AN5I5KLEGVJ")
    assert lam["issuer_name"] == "lambda.amazonaws.com"
    assert lam["principal_arn"].endswith(f"/{lam['session_name']}")


def test_sessions_see_an_in_place_edit_of_the_frame() -> None:
    events = ircreds.load(leak_story())
    before = sessions(events)
    assert (before["access_key_id"] == K3).any()
    # the analyst drops the minted key's calls and issuing event in place (say, proven test traffic)
    minted = events["issued.accessKeyId"].eq(K3).fillna(False) | events["userIdentity.accessKeyId"].eq(
        K3
    ).fillna(False)
    events.loc[minted, "eventName"] = "GetCallerIdentity"
    events.loc[minted, "userIdentity.accessKeyId"] = USER_KEY
    after = sessions(events)
    assert not (after["access_key_id"] == K3).any()
    assert ircreds.trace(events, USER_KEY).to_dict() != {}  # the trace reads the same fresh index
    assert K3 not in {node.key for node in ircreds.trace(events, USER_KEY).walk()}


def test_a_new_frame_at_a_reused_address_gets_its_own_sessions() -> None:
    from ircreds.lineage import index as lineage_index_module

    story = leak_story()
    first = ircreds.load(story)
    pad = {**story[0], "eventID": "00000000-0000-4000-8000-00000000feed"}  # keeps the length
    second = ircreds.load([r for r in story if r["eventName"] != "CreateAccessKey"] + [pad])
    assert len(first) == len(second)
    sessions(first)
    # as if ``second`` had been allocated where ``first`` lived and its entry had not been dropped yet
    lineage_index_module._CACHE[id(second)] = lineage_index_module._CACHE[id(first)]
    got = sessions(second)
    assert _row(sessions(first), K3)["kind"] == "CreateAccessKey"
    assert _row(got, K3)["kind"] == "Observed"  # its minting call is not in this frame
    pd.testing.assert_frame_equal(got, sessions(second.copy(deep=True)))
