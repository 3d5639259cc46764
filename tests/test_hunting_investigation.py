"""Rule hits join the investigation: on a trace's calls, as scope seeds, in the report beside the findings."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, SAMPLES
from sigma.collection import SigmaCollection

import ircreds

RULES = REPO.parent / "shared" / "sigma" / "aws-cloudtrail"
WALKTHROUGH = SAMPLES / "walkthrough"
BACKDOOR = "0a5177f4-6ca9-44c2-aacf-d3f3d8b6e4d2"  # SigmaHQ "AWS IAM Backdoor Users Keys"
pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason=f"Sigma rules not found at {RULES}")


@pytest.fixture(scope="module")
def case() -> tuple:
    events = ircreds.load(WALKTHROUGH)
    answer = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    return events, answer, ircreds.hunt(events, RULES)


def test_trace_shows_the_rule_hits_on_its_calls_with_attribution(case: tuple) -> None:
    events, answer, hunted = case
    tr = ircreds.trace(events, answer["leaked_access_key_id"])
    entries = hunted.on_trace(tr)
    lineage_ids = set(tr.all_calls()["eventID"].dropna())
    assert entries
    assert {e["event_id"] for e in entries} <= lineage_ids
    backdoor = [e for e in entries if e["rule_id"] == BACKDOOR]
    assert backdoor
    assert {e["event_id"] for e in backdoor} <= set(answer["malicious_event_ids"])
    assert {e["event_id"] for e in backdoor} & set(answer["persistence_event_ids"])
    assert backdoor[0]["author"] == "faloker"
    assert backdoor[0]["source"].endswith("/rules/cloud/aws/cloudtrail/aws_iam_backdoor_users_keys.yml")
    assert "attack.t1098" in backdoor[0]["tags"]
    # a hit on an event outside the lineage is not shown on it
    outside = set(hunted.matches["eventID"].dropna()) - lineage_ids
    assert outside
    assert not outside & {e["event_id"] for e in entries}


def test_a_high_level_hit_seeds_the_scope(case: tuple) -> None:
    events, answer, _ = case
    rule = SigmaCollection.from_yaml(
        """
title: Access key created for another user
id: 5f0c9d1e-0000-4000-8000-0000000000dd
author: ircreds tests
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: CreateAccessKey}, condition: sel}
level: high
"""
    )
    hunted = ircreds.hunt(events, rule)
    assert answer["leaked_access_key_id"] in hunted.seed_keys("high")
    sc = ircreds.scope(events, sigma=hunted)
    assert answer["leaked_access_key_id"] in sc.keys
    assert set(answer["minted_access_key_ids"]) <= set(sc.keys)
    assert hunted.seed_keys("critical") == ()


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_lists_the_rule_hits_beside_the_findings(case: tuple, fmt: str) -> None:
    from ircreds.report import render

    events, answer, hunted = case
    tr = ircreds.trace(events, answer["leaked_access_key_id"])
    report = render(tr, events=events, fmt=fmt, figures=False, integrity=False, hunt=hunted)
    text = report.text
    assert "Community detections (Sigma)" in text
    assert "AWS IAM Backdoor Users Keys" in text
    assert "faloker" in text
    assert "aws_iam_backdoor_users_keys.yml" in text
    assert (
        text.rindex("5. Findings") < text.index("Community detections (Sigma)") < text.rindex("6. Key calls")
    )
    without = render(tr, events=events, fmt=fmt, figures=False, integrity=False)
    assert "Community detections (Sigma)" not in without.text


def test_hunt_over_a_case_store_finds_what_it_finds_over_the_frame(case: tuple, tmp_path) -> None:
    from ircreds.engines import index, open_case

    _, _, hunted = case
    index([WALKTHROUGH], tmp_path / "case")
    with open_case(tmp_path / "case") as store:
        in_store = ircreds.hunt(store, RULES)
    assert in_store.rules_unsupported == ()
    pairs = set(zip(hunted.matches["rule_id"], hunted.matches["eventID"], strict=True))
    assert pairs
    assert set(zip(in_store.matches["rule_id"], in_store.matches["eventID"], strict=True)) == pairs
    assert [h.to_dict()["access_key_ids"] for h in in_store.hits] == [
        h.to_dict()["access_key_ids"] for h in hunted.hits
    ]
