"""df.ircreds: delegates to sessions()/trace(), refuses frames that are not events frames."""

from __future__ import annotations

import pandas as pd
import pytest
from findings.records import K1, K2, leak_story

import ircreds
import ircreds.accessor  # registers df.ircreds


def test_accessor_trace_and_sessions_match_the_functions() -> None:
    events = ircreds.load(leak_story())
    assert events.ircreds.trace(K1).to_dict() == ircreds.trace(events, K1).to_dict()
    pd.testing.assert_frame_equal(events.ircreds.sessions(), ircreds.sessions(events))
    role = "arn:aws:iam::111122223333:role/DataPipelineRole"
    assert events.ircreds.trace(role_arn=role, session_name="pipe").key == K2


def test_accessor_names_the_missing_columns() -> None:
    events = ircreds.load(leak_story()).drop(columns=["userIdentity.accessKeyId", "responseElements"])
    with pytest.raises(AttributeError) as err:
        events.ircreds  # noqa: B018
    assert "userIdentity.accessKeyId" in str(err.value)
    assert "responseElements" in str(err.value)
    assert "eventTime" not in str(err.value)


def test_accessor_pivot_returns_the_events_matching_every_criterion() -> None:
    from conftest import SAMPLES

    events = ircreds.load(SAMPLES / "walkthrough")
    ip = "203.0.113.45"
    by_ip = events.ircreds.pivot(ip=ip)
    assert len(by_ip) == int((events["sourceIPAddress"] == ip).sum()) > 0
    assert set(by_ip["sourceIPAddress"]) == {ip}
    agent = by_ip["userAgent"].astype(str).str.strip("[]").iloc[0]
    both = events.ircreds.pivot(ip=ip, user_agent=agent)
    assert 0 < len(both) <= len(by_ip)
    assert set(both["userAgent"].astype(str).str.strip("[]")) == {agent}
    key = by_ip["userIdentity.accessKeyId"].iloc[0]
    assert set(events.ircreds.pivot(key=key)["userIdentity.accessKeyId"]) == {key}
    dev = "arn:aws:iam::111122223333:user/DevUser"
    mine = events.ircreds.pivot(principal=dev)
    assert key in set(mine["userIdentity.accessKeyId"])  # DevUser's role session, through its issuer
    assert events.ircreds.pivot(ip="192.0.2.1", key=key).empty


def test_accessor_scope_matches_the_function() -> None:
    from conftest import SAMPLES

    events = ircreds.load(SAMPLES / "walkthrough")
    assert (
        events.ircreds.scope("ASIAEEVJSIT2Z6BAKQOE").keys
        == ircreds.scope(events, key="ASIAEEVJSIT2Z6BAKQOE").keys
    )
