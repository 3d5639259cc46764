"""The account a case's evidence shows (roles, users, accounts), and the sandbox built from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import ircreds
from ircreds.lineage.account_model import REVOKE_POLICY_NAME, account_model
from ircreds.scenarios import generate

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:user/Alice"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="module")
def cross_account_case():
    scenario = generate(913, events=3000, twists=["cross_account"])
    return scenario, ircreds.load(scenario.records)


def _frame(rows: list[dict]) -> pd.DataFrame:
    t0 = datetime(2025, 1, 20, 9, tzinfo=UTC)
    base = {"recipientAccountId": "123456789012", "errorCode": pd.NA, "responseElements": pd.NA}
    out = [
        {**base, "eventTime": t0 + timedelta(minutes=i), "eventID": f"ev-{i}", **row}
        for i, row in enumerate(rows)
    ]
    frame = pd.DataFrame(out)
    frame["eventTime"] = pd.to_datetime(frame["eventTime"], utc=True)
    return frame


def test_account_model_finds_every_role_in_every_account_the_case_spans(cross_account_case) -> None:
    scenario, events = cross_account_case
    doc = account_model(events).to_account_json()
    truth = scenario.account
    seen = {(d["account_id"], r["name"]) for d in (doc, *doc["linked_accounts"]) for r in d["roles"]}
    used = {
        (arn.split(":")[4], arn.rsplit("/", 1)[-1])
        for arn in ircreds.sessions(events)["role_arn"].dropna().unique()
    }
    assert used <= seen
    assert len({a for a, _ in seen}) == 2  # the cross-account twist spans two accounts
    assert doc["account_id"] == truth["account_id"]
    assert scenario.answer_key["role_arn"].rsplit("/", 1)[-1] in {r["name"] for r in doc["roles"]}


def test_account_model_users_are_the_accounts_users_or_ones_the_attacker_made(cross_account_case) -> None:
    scenario, events = cross_account_case
    doc = account_model(events).to_account_json()
    truth = {u["name"] for u in scenario.account["users"]}
    minted = {arn.rsplit("/", 1)[-1] for arn in scenario.answer_key["minted_user_arns"]}
    found = {u["name"] for u in doc["users"]}
    assert found <= truth | minted
    assert found & truth


def test_account_model_assumes_max_session_from_the_longest_session_seen(cross_account_case) -> None:
    scenario, events = cross_account_case
    doc = account_model(events).to_account_json()
    truth = {r["name"]: r for r in scenario.account["roles"]}
    leaked_role = scenario.answer_key["role_arn"].rsplit("/", 1)[-1]
    role = next(r for r in doc["roles"] if r["name"] == leaked_role)
    assert role["max_session_duration"] <= truth[leaked_role]["max_session_duration"]
    assert any("MaxSessionDuration" in a for a in role["assumed"])
    assert any("trust policy" in a for a in role["assumed"])


def test_account_model_reads_create_role_trust_and_inline_policies_but_not_the_revoke_deny() -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    frame = _frame(
        [
            {
                "eventName": "CreateRole",
                "requestParameters": json.dumps(
                    {
                        "roleName": "DataRole",
                        "path": "/team/",
                        "assumeRolePolicyDocument": json.dumps(TRUST),
                        "maxSessionDuration": 7200,
                    }
                ),
            },
            {
                "eventName": "PutRolePolicy",
                "requestParameters": json.dumps(
                    {"roleName": "DataRole", "policyName": "Read", "policyDocument": json.dumps(allow)}
                ),
            },
            {
                "eventName": "PutRolePolicy",
                "requestParameters": json.dumps(
                    {
                        "roleName": "DataRole",
                        "policyName": REVOKE_POLICY_NAME,
                        "policyDocument": json.dumps(deny),
                    }
                ),
            },
            {
                "eventName": "AttachUserPolicy",
                "requestParameters": json.dumps(
                    {"userName": "Alice", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
                ),
            },
            {
                "eventName": "CreateUser",
                "errorCode": "AccessDenied",
                "requestParameters": json.dumps({"userName": "Mallory"}),
            },
        ]
    )
    doc = account_model(frame).to_account_json()
    (role,) = doc["roles"]
    assert role["arn"] == "arn:aws:iam::123456789012:role/team/DataRole"
    assert role["trust_policy"] == TRUST
    assert role["max_session_duration"] == 7200
    assert role["inline_policies"] == {"Read": allow}
    assert role["assumed"] == []
    assert any(REVOKE_POLICY_NAME in k for k in role["known"])
    assert [u["name"] for u in doc["users"]] == ["Alice"]  # the failed CreateUser made nobody
    assert doc["users"][0]["managed_policy_arns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_account_model_reads_url_encoded_trust_from_get_role_responses() -> None:
    import urllib.parse

    response = {
        "role": {
            "arn": "arn:aws:iam::123456789012:role/ExampleRole",
            "assumeRolePolicyDocument": urllib.parse.quote(json.dumps(TRUST)),
            "maxSessionDuration": 43200,
        }
    }
    frame = _frame(
        [
            {
                "eventName": "GetRole",
                "requestParameters": '{"roleName":"ExampleRole"}',
                "responseElements": json.dumps(response),
            }
        ]
    )
    (role,) = account_model(frame).to_account_json()["roles"]
    assert role["trust_policy"] == TRUST
    assert role["max_session_duration"] == 43200


def test_sandbox_from_evidence_seeds_both_accounts_and_writes_what_it_assumed(
    cross_account_case, tmp_path: Path
) -> None:
    from ircreds import aws
    from ircreds.sandbox import start_sandbox

    scenario, events = cross_account_case
    key = scenario.answer_key["leaked_access_key_id"]
    trace = ircreds.trace(events, key)
    now = datetime.fromisoformat(scenario.answer_key["issued_at"]) + timedelta(hours=3)
    plan = ircreds.plan(trace, now=now, events=events)
    doc = account_model(events).to_account_json()
    with start_sandbox(events=events, record_dir=tmp_path) as sb:
        assert sb.account_id == scenario.answer_key["role_arn"].split(":")[4]
        role = scenario.answer_key["role_arn"].rsplit("/", 1)[-1]
        assert sb.client("iam").get_role(RoleName=role)["Role"]["Arn"] == scenario.answer_key["role_arn"]
        other = doc["linked_accounts"][0]
        listed = sb.client("iam", account_id=other["account_id"]).list_roles()["Roles"]
        assert {r["RoleName"] for r in listed} >= {r["name"] for r in other["roles"]}
        # every revocation of the plan lands in its own account's IAM, each through that account's admin
        by_account: dict[str, list[str]] = {}
        for revocation in plan.revocations:
            by_account.setdefault(revocation.arn.split(":")[4], []).append(revocation.target)
        assert set(by_account) <= {doc["account_id"], other["account_id"]}
        for account, targets in by_account.items():
            iam = sb.client("iam", account_id=account)
            record = aws.apply(
                plan, iam, now=now, dry_run=False, confirm=True, record_dir=tmp_path, targets=targets
            )
            assert [c.target for c in record.changes] == targets
            assert all(c.readback_ok for c in record.changes)
    described = json.loads((tmp_path / "sandbox.json").read_text())
    assert described["source"] == "evidence"
    assert {a["account_id"] for a in described["accounts"]} == {doc["account_id"], other["account_id"]}
    entry = next(r for r in described["accounts"][0]["roles"] if r["name"] == role)
    assert entry["known"]
    assert entry["assumed"]
    assert "SecretAccessKey" not in (tmp_path / "sandbox.json").read_text()
