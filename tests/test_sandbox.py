"""The sandbox: a real moto server on 127.0.0.1, seeded from account.json, guarded and quiet."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from _contain import incident as inc

from ircreds.sandbox import Sandbox, SandboxError, active_sandbox, load_account, start_sandbox


@pytest.fixture
def sandbox():
    with start_sandbox(inc.account_json()) as sb:
        yield sb


def test_sandbox_serves_on_localhost_with_a_free_port(sandbox: Sandbox) -> None:
    assert sandbox.endpoint_url.startswith("http://127.0.0.1:")
    assert sandbox.port > 0
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5):
        pass


def test_sandbox_seeds_roles_with_trust_inline_managed_policies_and_max_session(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    role = iam.get_role(RoleName="ExampleRole")["Role"]
    assert role["MaxSessionDuration"] == 43200
    assert role["Arn"] == inc.EXAMPLE_ROLE
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust == inc.account_json()["roles"][0]["trust_policy"]
    assert iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"] == ["S3Read"]
    attached = iam.list_attached_role_policies(RoleName="ExampleRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert iam.get_role(RoleName="DataPipelineRole")["Role"]["MaxSessionDuration"] == 3600
    assert {u["UserName"] for u in iam.list_users()["Users"]} >= {"DevUser", "alice"}
    assert sandbox.seed.skipped == []


def test_sandbox_runs_as_the_scenario_account(sandbox: Sandbox) -> None:
    identity = sandbox.client("sts").get_caller_identity()
    assert identity["Account"] == inc.ACCOUNT
    assert identity["Arn"].startswith(f"arn:aws:iam::{inc.ACCOUNT}:user/")


def test_second_start_returns_the_running_sandbox_or_refuses(sandbox: Sandbox) -> None:
    assert start_sandbox(inc.account_json()) is sandbox
    assert sandbox.start() is sandbox
    with pytest.raises(SandboxError, match="already runs"):
        start_sandbox(inc.account_json(), reuse=False)
    with pytest.raises(SandboxError, match="already runs"):
        Sandbox(inc.account_json()).start()
    with pytest.raises(SandboxError, match="already runs"):
        start_sandbox({"account_id": "123456789012"})


def test_stop_frees_the_slot_and_a_new_sandbox_starts_clean() -> None:
    with start_sandbox(inc.account_json()) as first:
        first.client("iam").create_user(UserName="leftover")
    assert active_sandbox() is None
    assert not first.running
    with start_sandbox(inc.account_json()) as second:
        names = {u["UserName"] for u in second.client("iam").list_users()["Users"]}
        assert "leftover" not in names


def test_reset_forgets_changes_and_reseeds(sandbox: Sandbox) -> None:
    iam = sandbox.client("iam")
    iam.delete_role_policy(RoleName="ExampleRole", PolicyName="S3Read")
    sandbox.reset()
    assert sandbox.client("iam").list_role_policies(RoleName="ExampleRole")["PolicyNames"] == ["S3Read"]


def test_busy_port_is_refused_instead_of_hanging() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SandboxError, match="busy"):
            Sandbox(inc.account_json(), port=port).start()
    assert active_sandbox() is None


def test_sandbox_is_quiet(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="werkzeug"), start_sandbox(inc.account_json()) as sb:
        sb.client("iam").list_roles()
    out, err = capfd.readouterr()
    assert "GET" not in err
    assert "POST" not in err
    assert "Starting a new Thread" not in out
    assert not [r for r in caplog.records if r.name == "werkzeug"]


def test_load_account_reads_a_scenario_directory(tmp_path) -> None:
    (tmp_path / "walkthrough").mkdir()
    (tmp_path / "walkthrough" / "account.json").write_text(json.dumps(inc.account_json()))
    assert load_account(tmp_path)["account_id"] == inc.ACCOUNT
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SandboxError, match=r"no account\.json"):
        load_account(empty)


def test_linked_accounts_of_a_cross_account_scenario_are_seeded_too() -> None:
    other = "444455556666"
    account = inc.account_json()
    trust_main = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{inc.ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    account["linked_accounts"] = [
        {
            "account_id": other,
            "users": [],
            "roles": [{"name": "PartnerRole", "trust_policy": trust_main, "max_session_duration": 7200}],
        }
    ]
    with start_sandbox(account) as sb:
        assert sb.client("sts", account_id=other).get_caller_identity()["Account"] == other
        role = sb.client("iam", account_id=other).get_role(RoleName="PartnerRole")["Role"]
        assert role["Arn"] == f"arn:aws:iam::{other}:role/PartnerRole"
        assert role["MaxSessionDuration"] == 7200
        main_roles = {r["RoleName"] for r in sb.client("iam").list_roles()["Roles"]}
        assert "PartnerRole" not in main_roles
        with pytest.raises(SandboxError, match="not seeded"):
            sb.credentials_for("999988887777")


def test_sandbox_leaves_the_werkzeug_logger_as_it_found_it() -> None:
    werkzeug = logging.getLogger("werkzeug")
    before = werkzeug.level
    werkzeug.setLevel(logging.DEBUG)
    try:
        with start_sandbox(inc.account_json()) as sb:
            sb.client("iam").list_roles()
            assert werkzeug.level == logging.DEBUG
    finally:
        werkzeug.setLevel(before)


@pytest.mark.parametrize("twist", ["session_token", "federation_token"])
def test_case_account_adds_what_the_attacker_created_and_the_plan_applies(tmp_path, twist: str) -> None:
    # account.json is the account before the incident: the user the attacker created is only in the logs
    from datetime import UTC, datetime

    import ircreds
    from ircreds.aws import apply
    from ircreds.sandbox import case_account
    from ircreds.scenarios import generate

    scenario = generate(35, events=3000, twists=[twist])
    scenario.write(tmp_path / "case")
    before = {u["name"] for u in load_account(tmp_path / "case")["users"]}
    events = ircreds.load(tmp_path / "case")
    plan = ircreds.plan(ircreds.trace(events, scenario.answer_key["leaked_access_key_id"]), events=events)
    account = case_account(tmp_path / "case", events, plan)
    users = {u["name"] for u in account["users"]}
    created = {arn.rsplit("/", 1)[-1] for arn in scenario.answer_key["minted_user_arns"]}
    assert created
    assert created <= users
    assert not created & before
    assert before <= users
    assert account["source"] == "account.json+evidence"
    targets = {r.target for r in plan.revocations}
    assert targets & created, "the plan should cut the attacker's user"
    with start_sandbox(account, reuse=False) as sb:
        record = apply(
            plan, sb, now=datetime.now(UTC), dry_run=False, confirm=True, record_dir=tmp_path / "a"
        )
    assert {c.target for c in record.changed} >= targets & created
