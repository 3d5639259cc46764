"""scope(): from one alert to every credential the attacker holds, checked against generated answer keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

import pandas as pd
import pytest
from conftest import SAMPLES

import ircreds
from ircreds import scoping
from ircreds.scenarios import TWISTS, Scenario, generate
from ircreds.scoping import ATTACKER_MADE, STOLEN, Scope

WALK = SAMPLES / "walkthrough"
CONTRACT = {
    "seeds",
    "compromised",
    "legitimate",
    "attacker",
    "first_malicious_event_id",
    "first_malicious_time",
    "timeline",
    "plan",
}
COMPROMISED_FIELDS = {
    "access_key_id",
    "principal_arn",
    "kind",
    "how",
    "linked_by_event_ids",
    "first_malicious_event_id",
    "first_seen",
    "last_seen",
}


@cache
def exercise(
    seed: int, twists: tuple[str, ...] | None, difficulty: str = "standard"
) -> tuple[Scenario, pd.DataFrame]:
    s = generate(seed, events=1200, twists=None if twists is None else list(twists), difficulty=difficulty)
    return s, ircreds.load(s.records)


def _check_against_answer_key(s: Scenario, events: pd.DataFrame) -> Scope:
    key = s.answer_key
    sc = ircreds.scope(events, key=key["leaked_access_key_id"])
    got = set(sc.keys)
    assert got == set(key["compromised_access_key_ids"]), (sorted(got), key["compromised_access_key_ids"])
    assert not got & set(key["legitimate_access_key_ids"])
    assert sc.first_malicious_event_id == key["scope_first_malicious_event_id"]
    assert set(sc.attacker_ips) <= set(key["attacker_ips"])
    return sc


@pytest.mark.parametrize("seed", [3, 15])
@pytest.mark.parametrize("twist", sorted(TWISTS))
def test_scope_returns_exactly_the_compromised_set_of_every_twist(twist: str, seed: int) -> None:
    s, events = exercise(seed, (twist,))
    _check_against_answer_key(s, events)


@pytest.mark.parametrize("seed", range(40, 64))
def test_scope_returns_exactly_the_compromised_set_on_hard_exercises(seed: int) -> None:
    # hard: a root twist, two branch twists and, for about half the seeds, the other stolen credentials
    s, events = exercise(seed, None, "hard")
    _check_against_answer_key(s, events)


def test_more_stolen_credentials_links_each_by_the_attackers_address_and_keeps_owners_apart() -> None:
    s, events = exercise(21, ("more_stolen_credentials",))
    key = s.answer_key
    sc = _check_against_answer_key(s, events)
    instance_key, user_key = key["stolen_access_key_ids"]
    (child,) = key["stolen_made_access_key_ids"]
    instance = sc.credential(instance_key)
    assert instance.mode == STOLEN
    assert key["attacker_ips"][0] in instance.how
    linked = events.set_index("eventID").loc[list(instance.linked_by_event_ids)]
    assert set(linked["sourceIPAddress"]) == {key["attacker_ips"][0]}
    # used before the alerted key's first misuse: the scope's first malicious event is the instance's
    assert sc.first_malicious_event_id == instance.first_malicious_event_id != key["first_malicious_event_id"]
    assert sc.credential(user_key).mode == STOLEN
    assert sc.credential(child).mode == ATTACKER_MADE
    assert sc.credential(child).linked_from == user_key
    # the stolen key's owner keeps using it: only the attacker's calls count
    owner_calls = events.loc[events["userIdentity.accessKeyId"] == user_key]
    assert sc.credential(user_key).malicious_calls < len(owner_calls)
    legit = {c.access_key_id: c.why for c in sc.legitimate}
    pipeline_sessions = [
        k for k in key["legitimate_access_key_ids"] if k in legit and "session of" in legit[k]
    ]
    assert pipeline_sessions


def test_walkthrough_scope_is_k1_k2_k3_with_devuser_upstream_legitimate() -> None:
    events = ircreds.load(WALK)
    key = json.loads((WALK / "answer_key.json").read_text())
    sc = ircreds.scope(events, key=key["leaked_access_key_id"])
    expected = {key["leaked_access_key_id"], *key["chained_access_key_ids"], *key["minted_access_key_ids"]}
    assert set(sc.keys) == expected
    assert sc.first_malicious_event_id == key["first_malicious_event_id"]
    assert set(sc.attacker_ips) == set(key["attacker_ips"])
    issuer_key = events.loc[events["eventID"] == key["issuing_event_id"], "userIdentity.accessKeyId"].iloc[0]
    upstream = next(c for c in sc.legitimate if c.access_key_id == issuer_key)
    assert "upstream" in upstream.why
    assert sc.credential(key["chained_access_key_ids"][0]).linked_by_event_ids


def test_scope_from_an_ip_alone_finds_the_same_credentials() -> None:
    events = ircreds.load(WALK)
    key = json.loads((WALK / "answer_key.json").read_text())
    by_key = ircreds.scope(events, key=key["leaked_access_key_id"])
    by_ip = ircreds.scope(events, ips=[key["attacker_ips"][0]])
    assert set(by_ip.keys) == set(by_key.keys)


def test_scope_window_ending_before_the_leak_finds_no_malicious_call() -> None:
    events = ircreds.load(WALK)
    key = json.loads((WALK / "answer_key.json").read_text())
    end = datetime.fromisoformat(key["issued_at"].replace("Z", "+00:00"))
    sc = ircreds.scope(events, key=key["leaked_access_key_id"], end=end)
    assert sc.first_malicious_event_id is None
    assert set(sc.keys) == {key["leaked_access_key_id"]}


def test_scope_json_follows_the_contract() -> None:
    s, events = exercise(3, ("cross_account",))
    sc = ircreds.scope(events, key=s.answer_key["leaked_access_key_id"])
    doc = json.loads(json.dumps(sc.to_dict()))
    assert set(doc) >= CONTRACT
    assert set(doc["attacker"]) == {"ips", "user_agents"}
    assert all(set(c) >= COMPROMISED_FIELDS for c in doc["compromised"])
    assert all({"access_key_id", "principal_arn", "why"} <= set(c) for c in doc["legitimate"])
    assert doc["first_malicious_time"].endswith("Z")
    assert doc["timeline"] == sorted(doc["timeline"], key=lambda r: r["time"])


def test_scope_refuses_no_seed_an_unknown_key_and_naive_times() -> None:
    events = ircreds.load(WALK)
    with pytest.raises(ValueError, match="at least one seed"):
        ircreds.scope(events)
    with pytest.raises(ircreds.SessionNotFoundError, match="ASIAIOSFODNN7EXAMPLE"):
        ircreds.scope(events, key="ASIAIOSFODNN7EXAMPLE")
    with pytest.raises(ValueError, match="timezone-aware"):
        ircreds.scope(events, key="ASIAEEVJSIT2Z6BAKQOE", start=datetime(2025, 1, 20))  # noqa: DTZ001


def test_scope_html_shows_the_verdict_first_and_escapes_attacker_strings() -> None:
    s, _ = exercise(3, ())
    evil = "<img src=x onerror=alert(1)>"
    records = [dict(r) for r in s.records]
    for r in records:
        if r["sourceIPAddress"] in s.answer_key["attacker_ips"]:
            r["userAgent"] = evil
    sc = ircreds.scope(ircreds.load(records), key=s.answer_key["leaked_access_key_id"])
    page = sc._repr_html_()
    assert page.index("The attacker holds") < page.index("<table")
    assert evil not in page
    assert "&lt;img src=x" in page


def test_scope_is_exported_lazily() -> None:
    assert ircreds.scope is scoping.scope
    assert ircreds.Scope is Scope
    assert callable(ircreds.plan_scope)
    assert "scope" in ircreds.__all__


def test_scope_keeps_end_after_start_order_of_the_timeline() -> None:
    s, events = exercise(8, ("more_stolen_credentials",))
    sc = ircreds.scope(events, key=s.answer_key["leaked_access_key_id"])
    times = list(sc.timeline["time"])
    assert times == sorted(times)
    assert sc.first_malicious_time == min(c.first_seen for c in sc.compromised if c.first_seen)
    assert sc.first_malicious_time.tzinfo is UTC or sc.first_malicious_time.utcoffset().total_seconds() == 0


def test_scope_frames_list_every_compromised_and_legitimate_credential() -> None:
    s, events = exercise(3, ("more_stolen_credentials",))
    sc = ircreds.scope(events, key=s.answer_key["leaked_access_key_id"])
    frame = sc.compromised_frame()
    assert list(frame["access_key_id"]) == list(sc.keys)
    assert {"how", "mode", "first_seen"} <= set(frame.columns)
    assert len(sc.legitimate_frame()) == len(sc.legitimate) > 0
