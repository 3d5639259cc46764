"""Apply, rollback, audit against a REAL moto server (the sandbox); the simulator call through botocore's Stubber."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from _contain import incident as inc
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import ircreds
from ircreds import aws
from ircreds.containment import Plan, plan
from ircreds.containment.policy import POLICY_NAME, cutoff_policy
from ircreds.errors import AwsError, PlanError
from ircreds.sandbox import Sandbox, start_sandbox

NOW = datetime(2025, 1, 20, 12, 0, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return ircreds.load(inc.records())


@pytest.fixture(scope="module")
def noon_plan(events: pd.DataFrame) -> Plan:
    return plan(ircreds.trace(events, inc.K1), inc.NOON, events=events)


@pytest.fixture(scope="module")
def server():
    with start_sandbox(inc.account_json()) as sb:
        yield sb


@pytest.fixture
def sandbox(server: Sandbox) -> Sandbox:
    server.reset()
    return server


def _doc(iam, role: str, name: str) -> dict:
    value = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return json.loads(value) if isinstance(value, str) else value


def _state(iam, role: str) -> tuple:
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    return tuple(sorted(names)), {n: _doc(iam, role, n) for n in names}, tuple(attached)


def test_dry_run_shows_before_and_after_and_touches_nothing(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    before = {r: _state(iam, r) for r in ("ExampleRole", "DataPipelineRole")}
    record = aws.apply(noon_plan, sandbox, now=NOW, record_dir=tmp_path)
    assert record.dry_run
    assert record.path is None
    assert list(tmp_path.iterdir()) == []
    assert {r: _state(iam, r) for r in before} == before
    [example, pipeline] = record.changes
    assert (example.target, example.operation, example.before, example.after) == (
        "ExampleRole",
        "put",
        None,
        cutoff_policy(inc.NOON),
    )
    assert example.other_inline == ("S3Read",)
    assert example.attached == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert pipeline.target == "DataPipelineRole"
    assert "2025-01-20T12:00:00Z" in record.diff()


def test_real_apply_needs_explicit_confirmation(sandbox: Sandbox, noon_plan: Plan) -> None:
    with pytest.raises(PlanError, match="confirm=True"):
        aws.apply(noon_plan, sandbox, now=NOW, dry_run=False)
    assert POLICY_NAME not in sandbox.client("iam").list_role_policies(RoleName="ExampleRole")["PolicyNames"]


def test_apply_writes_only_its_policy_reads_back_and_records(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    names, docs, attached = _state(iam, "ExampleRole")
    record = aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert _doc(iam, "ExampleRole", POLICY_NAME) == cutoff_policy(inc.NOON)
    assert _doc(iam, "DataPipelineRole", POLICY_NAME) == cutoff_policy(inc.NOON)
    names2, docs2, attached2 = _state(iam, "ExampleRole")
    assert names2 == tuple(sorted((*names, POLICY_NAME)))
    assert {n: d for n, d in docs2.items() if n != POLICY_NAME} == docs
    assert attached2 == attached
    assert all(c.readback_ok for c in record.changes)
    saved = json.loads(Path(record.path).read_text())
    assert saved["who"] == f"arn:aws:iam::{inc.ACCOUNT}:user/ircreds-sandbox-admin"
    assert saved["when"] == "2025-01-20T12:00:05Z"
    assert saved["where"]["account_id"] == inc.ACCOUNT
    assert saved["where"]["endpoint_url"] == sandbox.endpoint_url
    assert saved["changes"][0]["before"] is None
    assert saved["changes"][0]["after"] == cutoff_policy(inc.NOON)
    assert "sessionToken" not in Path(record.path).read_text()


def test_reapply_is_idempotent(sandbox: Sandbox, noon_plan: Plan, tmp_path: Path) -> None:
    aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    again = aws.apply(
        noon_plan, sandbox, now=NOW + timedelta(minutes=1), dry_run=False, confirm=True, record_dir=tmp_path
    )
    assert [c.operation for c in again.changes] == ["unchanged", "unchanged"]
    assert again.changed == ()
    assert _doc(sandbox.client("iam"), "ExampleRole", POLICY_NAME) == cutoff_policy(inc.NOON)


def test_rollback_deletes_a_policy_that_did_not_exist(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    before = _state(iam, "ExampleRole")
    record = aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    preview = aws.rollback(record, sandbox, now=NOW)
    assert [c.operation for c in preview.changes] == ["delete", "delete"]
    assert POLICY_NAME in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]
    undone = aws.rollback(record.path, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert all(c.readback_ok for c in undone.changes)
    assert _state(iam, "ExampleRole") == before
    assert POLICY_NAME not in iam.list_role_policies(RoleName="DataPipelineRole")["PolicyNames"]


def test_rollback_restores_the_previous_cutoff(sandbox: Sandbox, noon_plan: Plan, tmp_path: Path) -> None:
    iam = sandbox.client("iam")
    aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    later = noon_plan.with_cutoff(inc.NOON + timedelta(hours=1))
    record = aws.apply(later, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert record.changes[0].before == cutoff_policy(inc.NOON)
    assert _doc(iam, "ExampleRole", POLICY_NAME) == cutoff_policy(inc.NOON + timedelta(hours=1))
    aws.rollback(record, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert _doc(iam, "ExampleRole", POLICY_NAME) == cutoff_policy(inc.NOON)


def test_rollback_refuses_when_the_policy_changed_since(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    record = aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    console_click = cutoff_policy(inc.NOON + timedelta(hours=2))
    iam.put_role_policy(
        RoleName="ExampleRole", PolicyName=POLICY_NAME, PolicyDocument=json.dumps(console_click)
    )
    with pytest.raises(PlanError, match="changed since the apply"):
        aws.rollback(record, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert _doc(iam, "ExampleRole", POLICY_NAME) == console_click
    aws.rollback(record, sandbox, now=NOW, dry_run=False, confirm=True, force=True, record_dir=tmp_path)
    assert POLICY_NAME not in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]


def test_rollback_refuses_a_dry_run_record(sandbox: Sandbox, noon_plan: Plan) -> None:
    record = aws.apply(noon_plan, sandbox, now=NOW)
    with pytest.raises(PlanError, match="dry-run"):
        aws.rollback(record, sandbox, now=NOW)


def test_apply_refuses_a_plan_for_another_account(sandbox: Sandbox, noon_plan: Plan, tmp_path: Path) -> None:
    data = json.loads(noon_plan.to_json().replace(inc.ACCOUNT, "444455556666"))
    with pytest.raises(PlanError, match="444455556666"):
        aws.apply(Plan.from_dict(data), sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert POLICY_NAME not in sandbox.client("iam").list_role_policies(RoleName="ExampleRole")["PolicyNames"]
    assert list(tmp_path.iterdir()) == []


def test_apply_through_a_boto3_session_and_through_an_iam_client(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    by_session = aws.apply(
        noon_plan, sandbox.session(), endpoint_url=sandbox.endpoint_url, now=NOW, targets=["ExampleRole"]
    )
    assert [c.target for c in by_session.changes] == ["ExampleRole"]
    by_client = aws.apply(
        noon_plan,
        sandbox.client("iam"),
        now=NOW,
        dry_run=False,
        confirm=True,
        record_dir=tmp_path,
        targets=["DataPipelineRole"],
    )
    assert by_client.account_id == inc.ACCOUNT
    assert POLICY_NAME in sandbox.client("iam").list_role_policies(RoleName="DataPipelineRole")["PolicyNames"]
    assert POLICY_NAME not in sandbox.client("iam").list_role_policies(RoleName="ExampleRole")["PolicyNames"]


def test_clients_made_here_use_standard_retries(sandbox: Sandbox) -> None:
    clients = aws._clients(sandbox.session(), endpoint_url=sandbox.endpoint_url)
    assert clients.iam.meta.config.retries["mode"] == "standard"
    assert sandbox.client("iam").meta.config.retries["mode"] == "standard"


def test_apply_puts_a_user_level_deny_for_session_token_credentials(sandbox: Sandbox, tmp_path: Path) -> None:
    from test_containment import _get_session_token_records

    events = ircreds.load(_get_session_token_records())
    user_plan = plan(ircreds.trace(events, "ASIAMFASESSN0EXAMPLE"), inc.NOON, events=events)
    iam = sandbox.client("iam")
    iam.create_user(UserName="mfa-user")
    record = aws.apply(user_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert [(c.target_kind, c.target) for c in record.changes] == [("user", "mfa-user")]
    stored = iam.get_user_policy(UserName="mfa-user", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == cutoff_policy(inc.NOON)
    aws.rollback(record, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert iam.list_user_policies(UserName="mfa-user")["PolicyNames"] == []


def test_apply_refuses_to_exceed_the_inline_policy_size_limit(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    big = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": [f"s3:GetObject{i:04d}" for i in range(560)], "Resource": "*"}
        ],
    }
    iam.put_role_policy(RoleName="ExampleRole", PolicyName="Big", PolicyDocument=json.dumps(big))
    with pytest.raises(PlanError, match="over IAM's 10240"):
        aws.apply(noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    assert POLICY_NAME not in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]


# ------------------------------------------------------------------------------ error mapping


def test_access_denied_names_the_missing_permission(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    iam.create_user(UserName="reader")
    read_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "sts:GetCallerIdentity"], "Resource": "*"}
        ],
    }
    iam.put_user_policy(UserName="reader", PolicyName="ReadOnly", PolicyDocument=json.dumps(read_only))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader_iam = sandbox.client("iam", credentials=(key["AccessKeyId"], key["SecretAccessKey"]))
    sandbox.enforce_authorization(after=0)
    try:
        dry = aws.apply(noon_plan, reader_iam, now=NOW)  # reading is allowed
        assert dry.who.endswith(":user/reader")
        with pytest.raises(AwsError) as caught:
            aws.apply(noon_plan, reader_iam, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    finally:
        sandbox.enforce_authorization(after=float("inf"))
    assert caught.value.code == "AccessDenied"
    message = str(caught.value)
    assert "iam:PutRolePolicy" in message
    assert inc.EXAMPLE_ROLE in message
    assert "\n" not in message
    assert isinstance(caught.value.__cause__, ClientError)


def test_missing_role_is_reported_as_no_such_entity(sandbox: Sandbox, noon_plan: Plan) -> None:
    data = json.loads(noon_plan.to_json().replace("DataPipelineRole", "GhostRole"))
    with pytest.raises(AwsError, match="does not exist") as caught:
        aws.apply(Plan.from_dict(data), sandbox, now=NOW, targets=["GhostRole"])
    assert caught.value.code == "NoSuchEntity"


def test_throttling_after_retries_becomes_one_clear_error(sandbox: Sandbox, noon_plan: Plan) -> None:
    iam = sandbox.client("iam")
    clients = aws._clients(iam)
    with Stubber(clients.sts) as stub:
        stub.add_client_error("get_caller_identity", service_error_code="Throttling", http_status_code=400)
        with pytest.raises(AwsError, match="throttling") as caught:
            aws._caller(clients)
    assert caught.value.code == "Throttling"


# ---------------------------------------------------------------------------------------- audit


def test_audit_reports_long_sessions_open_trust_and_who_can_assume(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    iam = sandbox.client("iam")
    anyone = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="OpenRole", AssumeRolePolicyDocument=json.dumps(anyone))
    guarded = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
            }
        ],
    }
    iam.create_role(RoleName="PartnerRole", AssumeRolePolicyDocument=json.dumps(guarded))
    aws.apply(
        noon_plan, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path, targets=["ExampleRole"]
    )
    before = _state(iam, "ExampleRole")
    report = aws.audit(sandbox)
    found = {(f.code, f.target) for f in report.findings}
    assert ("long-max-session", "ExampleRole") in found
    assert ("long-max-session", "DataPipelineRole") not in found
    assert ("open-trust", "OpenRole") in found
    assert ("account-trust-without-condition", "ExampleRole") in found
    assert not [f for f in report.findings if f.target == "PartnerRole"]
    assert report.assumers["ExampleRole"] == (f"arn:aws:iam::{inc.ACCOUNT}:root",)
    assert report.cutoffs == {"ExampleRole": "2025-01-20T12:00:00Z"}
    assert _state(iam, "ExampleRole") == before


# ----------------------------------------------------------------------------------- verify_live


def test_verify_live_asks_the_simulator_with_token_issue_time(noon_plan: Plan) -> None:
    """moto does not implement iam:SimulatePrincipalPolicy: the request is checked with botocore's Stubber."""
    import boto3

    iam = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    ).client("iam")
    expected_calls = []
    with Stubber(iam) as stub:
        for rev in noon_plan.revocations:
            for s in sorted(rev.sessions, key=lambda s: s.issued_at):
                iso = s.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                decision = "explicitDeny" if s.issued_at < inc.NOON else "allowed"
                expected_calls.append((rev.arn, iso))
                stub.add_response(
                    "simulate_principal_policy",
                    {
                        "EvaluationResults": [
                            {"EvalActionName": "s3:ListAllMyBuckets", "EvalDecision": decision}
                        ]
                    },
                    {
                        "PolicySourceArn": rev.arn,
                        "ActionNames": ["s3:ListAllMyBuckets"],
                        "ContextEntries": [
                            {
                                "ContextKeyName": "aws:TokenIssueTime",
                                "ContextKeyValues": [iso],
                                "ContextKeyType": "date",
                            }
                        ],
                    },
                )
        with Stubber(aws._clients(iam).sts):
            checks = aws.verify_live(noon_plan, iam)
        stub.assert_no_pending_responses()
    assert [(c.target_arn, c.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for c in checks] == expected_calls
    assert all(c.agrees for c in checks)
    k5 = next(c for c in checks if inc.K5 in c.access_key_ids)
    assert not k5.expected_deny


def test_a_cross_account_plan_names_what_these_credentials_can_apply(
    sandbox: Sandbox, noon_plan: Plan
) -> None:
    data = json.loads(noon_plan.to_json())
    data["revocations"][1] = json.loads(
        json.dumps(data["revocations"][1]).replace(inc.ACCOUNT, "444455556666")
    )
    mixed = Plan.from_dict(data)
    with pytest.raises(PlanError, match=r"targets=\['ExampleRole'\]"):
        aws.apply(mixed, sandbox, now=NOW)
    record = aws.apply(mixed, sandbox, now=NOW, targets=["ExampleRole"])
    assert [c.target for c in record.changes] == ["ExampleRole"]


def _edited(p: Plan, **changes: object) -> Plan:
    from dataclasses import replace

    return replace(p, revocations=(replace(p.revocations[0], **changes), *p.revocations[1:]))


@pytest.mark.parametrize(
    "changes",
    [
        {"policy_name": "RequireMFA"},
        {
            "policy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        },
        {"policy": cutoff_policy(inc.K2_ISSUED)},
        {"target": "../ExampleRole"},
    ],
    ids=["policy-name", "allow-all", "other-date", "dotdot"],
)
def test_apply_refuses_an_edited_plan_before_any_aws_call(noon_plan: Plan, changes: dict) -> None:
    import boto3

    # nothing listens on port 9: any AWS call would fail with an AwsError ("cannot reach"), not a PlanError
    unreachable = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x", region_name="us-east-1"
    )
    with pytest.raises(PlanError, match=r"revocations\[0\]"):
        aws.apply(
            _edited(noon_plan, **changes),
            unreachable,
            now=NOW,
            dry_run=False,
            confirm=True,
            endpoint_url="http://127.0.0.1:9",
        )


def test_apply_accepts_a_narrower_option_ircreds_builds(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    option = next(o for a in noon_plan.alternatives for o in a.options if o.name == "session")
    narrowed = _edited(noon_plan, policy=option.policy)
    record = aws.apply(
        narrowed, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path, targets=["ExampleRole"]
    )
    assert _doc(sandbox.client("iam"), "ExampleRole", POLICY_NAME) == option.policy
    assert record.rehearsal  # the sandbox is not AWS
    assert json.loads(Path(record.path).read_text())["rehearsal"] is True


def test_apply_reads_every_target_before_writing_any(
    sandbox: Sandbox, noon_plan: Plan, tmp_path: Path
) -> None:
    from dataclasses import replace

    ghost = replace(
        noon_plan.revocations[0],
        target="GhostRole",
        arn=f"arn:aws:iam::{inc.ACCOUNT}:role/GhostRole",
        sessions=(),
    )
    p = replace(noon_plan, revocations=(*noon_plan.revocations, ghost))  # the missing role comes last
    with pytest.raises(AwsError, match="GhostRole does not exist"):
        aws.apply(p, sandbox, now=NOW, dry_run=False, confirm=True, record_dir=tmp_path)
    iam = sandbox.client("iam")
    for role in ("ExampleRole", "DataPipelineRole"):  # nothing was written before the failure
        assert POLICY_NAME not in iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
