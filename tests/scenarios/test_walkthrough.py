"""The walkthrough: the committed sample is the generator's output, and the story holds."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import SAMPLES

import ircreds
from ircreds.scenarios import Scenario, walkthrough
from scenarios.invariants import (
    EXPLICIT,
    cutoff_problems,
    expiration,
    issuing_problems,
    key_problems,
    when,
)

SAMPLE = SAMPLES / "walkthrough"


@pytest.fixture(scope="module")
def story() -> Scenario:
    return walkthrough()


@pytest.fixture(scope="module")
def by_key(story: Scenario) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in story.records:
        out.setdefault(r["userIdentity"].get("accessKeyId", ""), []).append(r)
    return out


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}


def test_committed_walkthrough_is_what_the_generator_writes(story: Scenario, tmp_path: Path) -> None:
    story.write(tmp_path)
    fresh, committed = _files(tmp_path), _files(SAMPLE)
    assert sorted(fresh) == sorted(committed)
    for rel, path in fresh.items():
        if rel.endswith(".gz"):
            assert gzip.decompress(path.read_bytes()) == gzip.decompress(committed[rel].read_bytes()), rel
        else:
            assert path.read_bytes() == committed[rel].read_bytes(), rel


def test_walkthrough_is_the_design_story(story: Scenario) -> None:
    key = story.answer_key
    assert key["account_id"] == "111122223333"
    assert key["issuer_arn"] == "arn:aws:iam::111122223333:user/DevUser"
    assert key["issuer_type"] == "IAMUser"
    assert key["role_arn"] == "arn:aws:iam::111122223333:role/ExampleRole"
    assert key["issued_at"] == "2025-01-20T09:14:27Z"
    assert key["expires_at"] == "2025-01-20T21:14:27Z"
    assert key["cutoff"] == "2025-01-20T12:00:00Z"
    assert key["chained_role_arns"] == ["arn:aws:iam::111122223333:role/DataPipelineRole"]
    assert key["minted_user_arns"] == ["arn:aws:iam::111122223333:user/backup-svc"]
    assert len(set(key["attacker_ips"])) == 3
    assert 20_000 <= len(story.records) <= 40_000
    issuing = next(r for r in story.records if r["eventID"] == key["issuing_event_id"])
    assert issuing["requestParameters"]["durationSeconds"] == 43200
    assert issuing["responseElements"]["credentials"]["expiration"] == "Jan 20, 2025, 9:14:27 PM"
    assert issuing["responseElements"]["credentials"]["accessKeyId"] == key["leaked_access_key_id"]


def test_account_json_lists_the_story_principals_but_not_the_backdoor(story: Scenario) -> None:
    roles = {r["name"]: r for r in story.account["roles"]}
    users = {u["name"] for u in story.account["users"]}
    assert roles["ExampleRole"]["max_session_duration"] == 43200
    assert {
        "DataPipelineRole",
        "GitHubActionsDeployRole",
        "EngineerAccess",
        "web-app-instance-role",
        "orders-processor-role",
    } <= set(roles)
    assert {"DevUser", "ops-admin"} <= users
    assert "backup-svc" not in users
    assert all("AWSRevokeOlderSessions" not in r["inline_policies"] for r in roles.values())


def test_every_key_used_was_issued_or_observed_and_times_line_up(story: Scenario) -> None:
    assert key_problems(story.records) == []


def test_expirations_match_durations_and_chained_sessions_cap_at_one_hour(story: Scenario) -> None:
    assert issuing_problems(story.records) == []


def test_cut_sessions_fail_after_the_cutoff_except_get_caller_identity(story: Scenario) -> None:
    key = story.answer_key
    assert cutoff_problems(story.records, key) == []
    legit = {s["principal"] for s in key["cut_sessions"] if s["legitimate"]}
    assert legit >= {"arn:aws:iam::111122223333:user/ana.ops"}
    assert [s["access_key_id"] for s in key["cut_sessions"] if not s["legitimate"]] == [
        key["leaked_access_key_id"]
    ]


def test_leaked_key_is_denied_after_the_cutoff_but_its_probe_still_succeeds(
    story: Scenario, by_key: dict[str, list[dict]]
) -> None:
    key = story.answer_key
    after = [r for r in by_key[key["leaked_access_key_id"]] if r["eventTime"] >= key["cutoff"]]
    denied = [r for r in after if EXPLICIT in r.get("errorMessage", "")]
    probes = [r for r in after if r["eventName"] == "GetCallerIdentity"]
    assert {r["eventName"] for r in denied} >= {"AssumeRole", "CreateAccessKey", "ListBuckets"}
    assert probes
    assert all("errorCode" not in r for r in probes)


def test_legitimate_sessions_are_cut_and_their_owners_reassume(story: Scenario) -> None:
    key = story.answer_key
    role = key["role_arn"]
    for s in (s for s in key["cut_sessions"] if s["legitimate"]):
        fresh = [
            r
            for r in story.records
            if r["eventName"] == "AssumeRole"
            and "errorCode" not in r
            and r["eventTime"] > key["cutoff"]
            and r["requestParameters"]["roleArn"] == role
            and r["userIdentity"].get("arn") == s["principal"]
        ]
        assert fresh, f"{s['principal']} never got a new session after the cut-off"


def test_cutoff_is_the_responders_put_role_policy(story: Scenario) -> None:
    key = story.answer_key
    rec = next(r for r in story.records if r["eventID"] == key["cutoff_event_id"])
    assert (rec["eventName"], rec["eventTime"]) == ("PutRolePolicy", "2025-01-20T12:00:00Z")
    params = rec["requestParameters"]
    assert (params["roleName"], params["policyName"]) == ("ExampleRole", "AWSRevokeOlderSessions")
    assert json.loads(params["policyDocument"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"}},
            }
        ],
    }


def test_chained_key_lives_until_it_expires_and_backdoor_key_is_untouched(
    story: Scenario, by_key: dict[str, list[dict]]
) -> None:
    key = story.answer_key
    (k2,) = key["chained_access_key_ids"]
    (k3,) = key["minted_access_key_ids"]
    issuing = next(
        r
        for r in story.records
        if (r.get("responseElements") or {}).get("credentials", {}).get("accessKeyId") == k2
    )
    expires = expiration(issuing["responseElements"]["credentials"]["expiration"])
    assert expires - when(issuing["eventTime"]) == timedelta(hours=1)
    k2_after = [r for r in by_key[k2] if r["eventTime"] >= key["cutoff"]]
    assert k2_after
    assert all("errorCode" not in r for r in k2_after)
    k3_after = [r for r in by_key[k3] if r["eventTime"] >= key["cutoff"]]
    assert k3_after
    assert all("errorCode" not in r for r in k3_after)
    assert {r["sourceIPAddress"] for r in by_key[k3]} == {key["attacker_ips"][2]}


def test_attacker_starts_with_get_caller_identity_and_recon_hits_access_denied(story: Scenario) -> None:
    key = story.answer_key
    first = next(r for r in story.records if r["eventID"] == key["first_malicious_event_id"])
    assert first["eventName"] == "GetCallerIdentity"
    assert first["sourceIPAddress"] == key["attacker_ips"][0]
    recon = [
        r
        for r in story.records
        if r["eventID"] in set(key["malicious_event_ids"]) and r["eventTime"] < key["cutoff"]
    ]
    denied_regions = {
        r["awsRegion"]
        for r in recon
        if r.get("errorCode") in ("AccessDenied", "Client.UnauthorizedOperation")
    }
    assert len(denied_regions) >= 3
    reads = [r for r in recon if r["eventName"] == "GetObject" and r["eventCategory"] == "Data"]
    assert {r["requestParameters"]["bucketName"] for r in reads} >= {"examplecorp-finance-reports"}


def test_committed_sample_loads_with_no_rejects() -> None:
    key = json.loads((SAMPLE / "answer_key.json").read_text())
    df = ircreds.load(SAMPLE)
    report = df.attrs["load_report"]
    assert report["rejects"] == []
    assert report["duplicates"] >= 1
    assert report["events"] == key["scenario"]["events"] == len(df)
    assert len(report["regions"]) >= 3


def test_vpc_endpoint_calls_show_a_private_ip_and_the_endpoint(story: Scenario) -> None:
    via = [r for r in story.records if "vpcEndpointId" in r]
    assert via
    assert all(r["sourceIPAddress"].startswith("10.") for r in via)
    assert {r["eventSource"] for r in via} == {"s3.amazonaws.com", "dynamodb.amazonaws.com"}
    assert not any(r["sourceIPAddress"].startswith("10.") for r in story.records if "vpcEndpointId" not in r)
