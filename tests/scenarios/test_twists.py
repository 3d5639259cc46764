"""Every twist can be generated, keeps the invariants, and looks the way aws-facts says."""

from __future__ import annotations

from functools import cache

import pytest

from ircreds.errors import ScenarioError
from ircreds.scenarios import TWISTS, Scenario, generate
from scenarios.invariants import EXPLICIT, cutoff_problems, issuing_problems, key_problems


@cache
def story(*twists: str) -> Scenario:
    return generate(21, events=2500, twists=list(twists))


def calls_with(s: Scenario, key_id: str) -> list[dict]:
    return [r for r in s.records if r["userIdentity"].get("accessKeyId") == key_id]


def issuing(s: Scenario, key_id: str) -> dict:
    return next(
        r
        for r in s.records
        if ((r.get("responseElements") or {}).get("credentials") or {}).get("accessKeyId") == key_id
    )


@pytest.mark.parametrize("twist", sorted(TWISTS))
def test_twist_keeps_the_story_invariants(twist: str) -> None:
    s = story(twist)
    assert [t["name"] for t in s.answer_key["twists"]] == [twist]
    assert s.answer_key["twists"][0]["description"] == TWISTS[twist]
    assert key_problems(s.records) == []
    assert issuing_problems(s.records) == []
    assert cutoff_problems(s.records, s.answer_key) == []


def test_cross_account_copies_share_shared_event_id() -> None:
    s = story("cross_account")
    other = s.answer_key["other_account_id"]
    (role_arn,) = [a for a in s.answer_key["chained_role_arns"] if f"::{other}:" in a]
    copies = [
        r
        for r in s.records
        if r["eventName"] == "AssumeRole" and (r["requestParameters"] or {}).get("roleArn") == role_arn
    ]
    assert len(copies) == 2
    caller, owner = sorted(copies, key=lambda r: r["recipientAccountId"] == other)
    assert caller["sharedEventID"] == owner["sharedEventID"]
    assert caller["requestID"] == owner["requestID"]
    assert caller["eventID"] != owner["eventID"]
    assert caller["userIdentity"]["type"] == "AssumedRole"
    assert caller["userIdentity"]["accessKeyId"] == s.answer_key["leaked_access_key_id"]
    assert owner["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": caller["userIdentity"]["principalId"],
        "accountId": s.answer_key["account_id"],
    }
    assert owner["recipientAccountId"] == other
    key = caller["responseElements"]["credentials"]["accessKeyId"]
    used = calls_with(s, key)
    assert used
    assert {r["recipientAccountId"] for r in used} == {other}
    assert {r["userIdentity"]["accountId"] for r in used} == {other}
    assert any(r["account_id"] == other for r in s.account["linked_accounts"])


def test_saml_root_is_issued_by_a_saml_user() -> None:
    s = story("saml_root")
    rec = issuing(s, s.answer_key["leaked_access_key_id"])
    assert rec["eventName"] == "AssumeRoleWithSAML"
    assert rec["userIdentity"]["type"] == "SAMLUser"
    assert rec["userIdentity"]["principalId"].endswith(":" + rec["userIdentity"]["userName"])
    assert s.answer_key["issuer_arn"] == rec["requestParameters"]["principalArn"]
    assert s.answer_key["issuer_type"] == "SAMLUser"


def test_oidc_root_calls_carry_web_identity_federation_data() -> None:
    s = story("oidc_root")
    key = s.answer_key["leaked_access_key_id"]
    rec = issuing(s, key)
    assert rec["eventName"] == "AssumeRoleWithWebIdentity"
    assert rec["userIdentity"]["type"] == s.answer_key["issuer_type"] == "WebIdentityUser"
    for r in calls_with(s, key):
        assert (
            r["userIdentity"]["sessionContext"]["webIdFederationData"]["federatedProvider"]
            == s.answer_key["issuer_arn"]
        )


def test_ec2_exfil_key_is_an_instance_session_used_outside_aws() -> None:
    s = story("ec2_exfil")
    key = s.answer_key["leaked_access_key_id"]
    rec = issuing(s, key)
    assert rec["userIdentity"] == {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    assert rec["sharedEventID"]
    assert s.answer_key["issuer_type"] == "AWSService"
    calls = calls_with(s, key)
    assert all(r["userIdentity"]["principalId"].split(":")[1].startswith("i-") for r in calls)
    assert {r["userIdentity"]["sessionContext"]["ec2RoleDelivery"] for r in calls} == {"1.0"}
    assert s.answer_key["issuer_arn"] == calls[0]["userIdentity"]["inScopeOf"]["credentialsIssuedTo"]
    ips = {r["sourceIPAddress"] for r in calls}
    assert set(s.answer_key["attacker_ips"][:1]) < ips  # the instance's own IP and the attacker's


def test_console_root_key_appears_in_no_issuing_record() -> None:
    s = story("console_root")
    key = s.answer_key["leaked_access_key_id"]
    assert all(
        ((r.get("responseElements") or {}).get("credentials") or {}).get("accessKeyId") != key
        for r in s.records
    )
    rec = next(r for r in s.records if r["eventID"] == s.answer_key["issuing_event_id"])
    calls = calls_with(s, key)
    assert (
        rec["responseElements"]["assumedRoleUser"]["assumedRoleId"] == calls[0]["userIdentity"]["principalId"]
    )
    assert rec["eventTime"] == calls[0]["userIdentity"]["sessionContext"]["attributes"]["creationDate"]
    assert rec["sourceIPAddress"] == "AWS Internal"
    assert any(r["eventName"] == "SwitchRole" and r["userIdentity"]["accessKeyId"] == key for r in s.records)
    assert all(r["sessionCredentialFromConsole"] == "true" for r in calls)


@pytest.mark.parametrize(
    ("twist", "identity_type"), [("federation_token", "FederatedUser"), ("session_token", "IAMUser")]
)
def test_user_tokens_survive_the_role_cutoff(twist: str, identity_type: str) -> None:
    s = story(twist)
    (key,) = s.answer_key["minted_session_access_key_ids"]
    calls = calls_with(s, key)
    assert {r["userIdentity"]["type"] for r in calls} == {identity_type}
    after = [r for r in calls if r["eventTime"] >= s.answer_key["cutoff"]]
    assert after
    assert all("errorCode" not in r for r in after)
    assert key in {x["access_key_id"] for x in s.answer_key["surviving_sessions"]}
    assert issuing(s, key)["userIdentity"]["accessKeyId"] in s.answer_key["minted_access_key_ids"]


def test_reassume_after_cutoff_gives_a_session_the_cutoff_misses() -> None:
    s = story("reassume")
    key = s.answer_key
    (k7,) = key["reassumed_access_key_ids"]
    rec = issuing(s, k7)
    assert rec["eventTime"] > key["cutoff"]
    assert rec["requestParameters"]["roleArn"] == key["role_arn"]
    assert rec["userIdentity"]["accessKeyId"] in key["minted_access_key_ids"]
    calls = calls_with(s, k7)
    assert calls
    assert not any(EXPLICIT in r.get("errorMessage", "") for r in calls)
    assert k7 not in {x["access_key_id"] for x in key["cut_sessions"]}


def test_root_twists_cannot_be_combined() -> None:
    with pytest.raises(ScenarioError, match="pick one"):
        generate(1, events=500, twists=["saml_root", "ec2_exfil"])


def test_unknown_twist_is_refused_with_the_choices() -> None:
    with pytest.raises(ScenarioError, match="cross_account"):
        generate(1, events=500, twists=["nope"])


@pytest.mark.parametrize("difficulty", ["easy", "standard", "hard"])
def test_seed_draws_twists_by_difficulty(difficulty: str) -> None:
    names = [t["name"] for t in generate(5, events=800, difficulty=difficulty).answer_key["twists"]]
    assert len(names) == {"easy": 0, "standard": 1, "hard": len(names)}[difficulty]
    if difficulty == "hard":
        assert len(names) >= 2


@pytest.mark.parametrize("twist", sorted(TWISTS))
def test_every_twist_generates_across_seeds(twist: str) -> None:
    # seed 12 with console_root once used the owner's fresh session 10 s before its switch-role
    for seed in range(10, 16):
        s = generate(seed, events=600, twists=[twist])
        assert key_problems(s.records) == []
