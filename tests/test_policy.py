"""The deny documents: exactly the console's, cut-off formatting, the narrower options."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ircreds.containment.policy import (
    POLICY_NAME,
    canonical,
    cutoff_policy,
    deny_session_policy,
    deny_source_identity_policy,
    deny_source_ip_policy,
    format_cutoff,
    narrower_options,
    normalize_cutoff,
    policy_size,
    session_userid,
    user_cutoff_policy,
)
from ircreds.errors import IrcredsError, PolicyError

CONSOLE_DOCUMENT = """
{"Version": "2012-10-17",
 "Statement": [{"Effect": "Deny", "Action": ["*"], "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"}}}]}
"""


def test_cutoff_policy_is_exactly_the_console_document() -> None:
    assert cutoff_policy(datetime(2025, 1, 20, 12, 0, tzinfo=UTC)) == json.loads(CONSOLE_DOCUMENT)


def test_policy_name_is_the_console_name() -> None:
    assert POLICY_NAME == "AWSRevokeOlderSessions"


def test_cutoff_policy_refuses_naive_datetime() -> None:
    with pytest.raises(PolicyError, match="no time zone"):
        cutoff_policy(datetime(2025, 1, 20, 12, 0))  # noqa: DTZ001


def test_policy_error_is_an_ircreds_error_and_value_error() -> None:
    with pytest.raises(IrcredsError):
        format_cutoff(datetime(2025, 1, 20))  # noqa: DTZ001
    with pytest.raises(ValueError):
        format_cutoff(datetime(2025, 1, 20))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("cutoff", "expected"),
    [
        (datetime(2025, 1, 20, 12, 0, tzinfo=UTC), "2025-01-20T12:00:00Z"),
        (datetime(2025, 1, 20, 7, 0, tzinfo=timezone(timedelta(hours=-5))), "2025-01-20T12:00:00Z"),
        (
            datetime(2025, 1, 21, 1, 30, tzinfo=timezone(timedelta(hours=13, minutes=30))),
            "2025-01-20T12:00:00Z",
        ),
        (datetime(2025, 1, 20, 11, 59, 59, 1, tzinfo=UTC), "2025-01-20T12:00:00Z"),
        (datetime(2025, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), "2026-01-01T00:00:00Z"),
    ],
)
def test_format_cutoff_writes_utc_seconds_rounding_fractions_up(cutoff: datetime, expected: str) -> None:
    assert format_cutoff(cutoff) == expected


BOUNDS = {"min_value": datetime(2000, 1, 2), "max_value": datetime(2099, 1, 1)}  # noqa: DTZ001 - naive bounds


@given(st.datetimes(timezones=st.timezones(), **BOUNDS))
def test_normalized_cutoff_is_never_before_the_instant_asked_for(cutoff: datetime) -> None:
    written = normalize_cutoff(cutoff)
    assert written >= cutoff
    assert written - cutoff < timedelta(seconds=1)
    assert written.microsecond == 0
    assert format_cutoff(cutoff).endswith("Z")


def test_user_cutoff_policy_is_the_same_deny() -> None:
    t = datetime(2025, 1, 20, 12, tzinfo=UTC)
    assert user_cutoff_policy(t) == cutoff_policy(t)


def test_deny_session_policy_keys_on_userid() -> None:
    doc = deny_session_policy(session_userid("AROADBQP57FF2AEXAMPLE", "attacker-session"))
    statement = doc["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {
        "StringLike": {"aws:userid": ["AROADBQP57FF2AEXAMPLE:attacker-session"]}
    }


def test_session_userid_refuses_wildcards_and_empty_parts() -> None:
    with pytest.raises(PolicyError):
        session_userid("AROADBQP57FF2AEXAMPLE", "a*")
    with pytest.raises(PolicyError):
        session_userid("", "name")


def test_deny_source_ip_policy_normalises_addresses_and_rejects_garbage() -> None:
    doc = deny_source_ip_policy(["203.0.113.7", "198.51.100.0/24"])
    assert doc["Statement"][0]["Condition"] == {
        "IpAddress": {"aws:SourceIp": ["203.0.113.7/32", "198.51.100.0/24"]}
    }
    with pytest.raises(PolicyError, match="not an IP"):
        deny_source_ip_policy("AWS Internal")


def test_deny_source_ip_allow_only_spares_services_acting_for_the_principal() -> None:
    condition = deny_source_ip_policy("192.0.2.0/24", allow_only=True)["Statement"][0]["Condition"]
    assert condition == {
        "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]},
        "Bool": {"aws:ViaAWSService": "false"},
    }


def test_source_identity_deny_uses_the_global_key_not_the_sts_request_key() -> None:
    condition = deny_source_identity_policy("alice@example.com")["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"aws:SourceIdentity": ["alice@example.com"]}}
    assert "sts:SourceIdentity" not in json.dumps(condition)


def test_policy_size_ignores_whitespace() -> None:
    doc = cutoff_policy(datetime(2025, 1, 20, 12, tzinfo=UTC))
    assert policy_size(json.dumps(doc, indent=4)) == policy_size(doc) == len(canonical(doc))


def test_narrower_options_skip_what_cannot_apply() -> None:
    options = narrower_options(
        role_id="AROADBQP57FF2AEXAMPLE", session_name="dev", source_ips=["AWS Internal"]
    )
    assert [o.name for o in options] == ["session"]
    assert options[0].caveats
    assert narrower_options() == ()
    named = narrower_options(source_identity="alice", source_ips=["203.0.113.7"])
    assert [o.name for o in named] == ["source-ip", "source-identity"]
    assert named[0].to_dict()["policy"] == deny_source_ip_policy("203.0.113.7")
