"""The evaluator: IAM's semantics for the operators ircreds writes, pinned by property tests."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ircreds.containment.evaluate import (
    Decision,
    RequestContext,
    call_context,
    compile_policy,
    denied_calls,
    evaluate,
    evaluate_cutoff,
    is_denied,
    parse_date,
    session_context,
)
from ircreds.containment.policy import (
    cutoff_policy,
    deny_session_policy,
    deny_source_identity_policy,
    deny_source_ip_policy,
    normalize_cutoff,
)
from ircreds.errors import PolicyError

T0 = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
aware_times = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2098, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def _policy(condition: dict) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}],
    }


@given(cutoff=aware_times, issued=aware_times)
def test_cutoff_denies_exactly_the_sessions_issued_before_the_written_cutoff(
    cutoff: datetime, issued: datetime
) -> None:
    denied = is_denied(cutoff_policy(cutoff), RequestContext(token_issue_time=issued))
    assert denied == (issued < normalize_cutoff(cutoff))


@given(cutoff=aware_times, offset=st.integers(min_value=0, max_value=999_999))
def test_session_issued_within_the_cutoff_second_survives(cutoff: datetime, offset: int) -> None:
    written = normalize_cutoff(cutoff)
    inside = written + timedelta(microseconds=offset)
    assert not is_denied(cutoff_policy(cutoff), RequestContext(token_issue_time=inside))
    assert is_denied(
        cutoff_policy(cutoff), RequestContext(token_issue_time=written - timedelta(microseconds=1))
    )


@given(cutoff=aware_times, a=aware_times, b=aware_times)
def test_cutoff_is_monotonic_in_issue_time(cutoff: datetime, a: datetime, b: datetime) -> None:
    early, late = sorted((a, b))
    policy = compile_policy(cutoff_policy(cutoff))
    if policy.denies(RequestContext(token_issue_time=late)):
        assert policy.denies(RequestContext(token_issue_time=early))


@given(cutoff=aware_times)
def test_long_term_key_requests_are_never_cut(cutoff: datetime) -> None:
    assert not is_denied(
        cutoff_policy(cutoff), RequestContext(token_issue_time=None, userid="AIDACKCEVSQ6C2EXAMPLE")
    )


def test_get_caller_identity_is_never_denied() -> None:
    ctx = RequestContext(action="sts:GetCallerIdentity", token_issue_time=T0 - timedelta(hours=1))
    assert evaluate(cutoff_policy(T0), ctx) is Decision.NOT_DENIED
    assert (
        evaluate(
            cutoff_policy(T0), RequestContext(action="s3:GetObject", token_issue_time=T0 - timedelta(hours=1))
        )
        is Decision.DENY
    )


@pytest.mark.parametrize(
    ("operator", "issued", "expected"),
    [
        ("DateLessThan", T0, False),
        ("DateLessThanEquals", T0, True),
        ("DateGreaterThan", T0, False),
        ("DateGreaterThanEquals", T0, True),
        ("DateEquals", T0, True),
        ("DateGreaterThan", T0 + timedelta(seconds=1), True),
        ("DateLessThan", T0 - timedelta(seconds=1), True),
    ],
)
def test_date_operators(operator: str, issued: datetime, expected: bool) -> None:
    policy = _policy({operator: {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"}})
    assert is_denied(policy, RequestContext(token_issue_time=issued)) is expected


@given(issued=aware_times, cutoff=aware_times)
def test_date_greater_than_is_the_complement_of_less_than_equals(issued: datetime, cutoff: datetime) -> None:
    value = normalize_cutoff(cutoff).strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx = RequestContext(token_issue_time=issued)
    gt = is_denied(_policy({"DateGreaterThan": {"aws:TokenIssueTime": value}}), ctx)
    le = is_denied(_policy({"DateLessThanEquals": {"aws:TokenIssueTime": value}}), ctx)
    assert gt != le


@pytest.mark.parametrize(
    "value",
    ["2025-01-20T12:00:00Z", "20250120T120000Z", "1737374400", 1737374400, "2025-01-20T13:00:00+01:00"],
)
def test_dates_accept_iso_basic_and_epoch_forms(value: object) -> None:
    assert parse_date(value) == T0


session_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_", min_size=2, max_size=64
)


@given(name=session_names, other=session_names)
def test_session_deny_hits_only_that_session(name: str, other: str) -> None:
    policy = compile_policy(deny_session_policy(f"AROADBQP57FF2AEXAMPLE:{name}"))
    assert policy.denies(RequestContext(userid=f"AROADBQP57FF2AEXAMPLE:{name}"))
    assert policy.denies(RequestContext(userid=f"AROADBQP57FF2AEXAMPLE:{other}")) == (other == name)
    assert not policy.denies(RequestContext(userid=None))


@given(name=session_names)
def test_string_like_wildcards_and_string_equals_literal(name: str) -> None:
    like = _policy({"StringLike": {"aws:userid": "AROADBQP57FF2AEXAMPLE:*"}})
    equals = _policy({"StringEquals": {"aws:userid": "AROADBQP57FF2AEXAMPLE:*"}})
    ctx = RequestContext(userid=f"AROADBQP57FF2AEXAMPLE:{name}")
    assert is_denied(like, ctx)
    assert not is_denied(equals, ctx)
    assert not is_denied(like, RequestContext(userid=f"AROAOTHER00000EXAMPLE:{name}"))


def test_string_like_question_mark_is_one_character() -> None:
    policy = _policy({"StringLike": {"aws:userid": "AROA?:x"}})
    assert is_denied(policy, RequestContext(userid="AROAB:x"))
    assert not is_denied(policy, RequestContext(userid="AROABC:x"))


def test_negated_operators_are_true_when_the_key_is_absent_and_nor_over_values() -> None:
    not_like = _policy({"StringNotLike": {"aws:userid": ["AROAA*", "AROAB*"]}})
    assert is_denied(not_like, RequestContext(userid=None))
    assert is_denied(not_like, RequestContext(userid="AROAC:x"))
    assert not is_denied(not_like, RequestContext(userid="AROAB:x"))
    not_equals = _policy({"StringNotEquals": {"aws:SourceIdentity": "alice"}})
    assert is_denied(not_equals, RequestContext(source_identity="bob"))
    assert not is_denied(not_equals, RequestContext(source_identity="alice"))


def test_if_exists_passes_when_the_key_is_absent() -> None:
    policy = _policy({"StringEqualsIfExists": {"aws:SourceIdentity": "alice"}})
    assert is_denied(policy, RequestContext(source_identity=None))
    assert not is_denied(policy, RequestContext(source_identity="bob"))


def test_conditions_are_anded_across_operators_and_keys() -> None:
    policy = _policy(
        {
            "DateLessThan": {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"},
            "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
        }
    )
    early = T0 - timedelta(minutes=1)
    assert is_denied(policy, RequestContext(token_issue_time=early, source_ip="203.0.113.5"))
    assert not is_denied(policy, RequestContext(token_issue_time=early, source_ip="198.51.100.5"))
    assert not is_denied(policy, RequestContext(token_issue_time=T0, source_ip="203.0.113.5"))


ipv4 = st.ip_addresses(v=4)


@given(ip=ipv4, prefix=st.integers(min_value=0, max_value=32), net_ip=ipv4)
def test_ip_address_and_not_ip_address_are_complements_when_the_ip_is_present(
    ip: ipaddress.IPv4Address, prefix: int, net_ip: ipaddress.IPv4Address
) -> None:
    network = ipaddress.ip_network(f"{net_ip}/{prefix}", strict=False)
    ctx = RequestContext(source_ip=str(ip))
    inside = is_denied(_policy({"IpAddress": {"aws:SourceIp": str(network)}}), ctx)
    outside = is_denied(_policy({"NotIpAddress": {"aws:SourceIp": str(network)}}), ctx)
    assert inside == (ip in network)
    assert outside != inside


def test_ip_denies_when_the_source_ip_is_absent() -> None:
    assert not is_denied(deny_source_ip_policy("203.0.113.0/24"), RequestContext(source_ip=None))
    assert is_denied(
        _policy({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), RequestContext(source_ip=None)
    )


def test_allow_only_ip_policy_spares_calls_via_aws_services() -> None:
    policy = deny_source_ip_policy("192.0.2.0/24", allow_only=True)
    assert is_denied(policy, RequestContext(source_ip="203.0.113.9", via_aws_service=False))
    assert not is_denied(policy, RequestContext(source_ip="203.0.113.9", via_aws_service=True))
    assert not is_denied(policy, RequestContext(source_ip="192.0.2.9", via_aws_service=False))


def test_source_identity_deny() -> None:
    policy = deny_source_identity_policy("mallory")
    assert is_denied(policy, RequestContext(source_identity="mallory"))
    assert not is_denied(policy, RequestContext(source_identity="Mallory"))
    assert not is_denied(policy, RequestContext())


def test_action_patterns_are_case_insensitive_wildcards() -> None:
    policy = {"Statement": [{"Effect": "Deny", "Action": ["s3:Get*"], "Resource": "*"}]}
    assert is_denied(policy, RequestContext(action="s3:GetObject"))
    assert is_denied(policy, RequestContext(action="S3:getobject"))
    assert not is_denied(policy, RequestContext(action="s3:PutObject"))


def test_allow_statements_never_deny() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert not is_denied(policy, RequestContext(action="s3:GetObject"))


@pytest.mark.parametrize(
    "policy",
    [
        _policy({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}),
        _policy({"StringEquals": {"aws:PrincipalTag/team": "x"}}),
        _policy({"ForAnyValue:StringLike": {"aws:userid": "x"}}),
        _policy({"IpAddress": {"aws:TokenIssueTime": "203.0.113.0/24"}}),
        _policy({"DateLessThan": {"aws:TokenIssueTime": "yesterday"}}),
        {"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}]},
        {"Version": "2012-10-17"},
    ],
)
def test_what_the_evaluator_cannot_judge_is_refused_not_guessed(policy: dict) -> None:
    with pytest.raises(PolicyError):
        compile_policy(policy)


def test_session_context_has_no_issue_time_for_long_term_keys() -> None:
    issued = T0 - timedelta(hours=1)
    temp = session_context(
        {"access_key_id": "ASIAIOSFODNN7EXAMPLE", "kind": "AssumeRole", "issued_at": issued}
    )
    long_term = session_context(
        {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "kind": "CreateAccessKey", "issued_at": issued}
    )
    assert temp.token_issue_time == issued
    assert long_term.token_issue_time is None


def _record(**overrides: object) -> dict:
    record = {
        "eventTime": T0 + timedelta(minutes=5),
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "sourceIPAddress": "203.0.113.10",
        "vpcEndpointId": pd.NA,
        "userIdentity.accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "userIdentity.principalId": "AROADBQP57FF2AEXAMPLE:dev",
        "userIdentity.sessionContext.attributes.creationDate": T0 - timedelta(hours=2),
        "userIdentity.sessionContext.sourceIdentity": pd.NA,
        "userIdentity.invokedBy": pd.NA,
    }
    record.update(overrides)
    return record


def test_call_context_reads_the_events_frame_columns() -> None:
    ctx = call_context(_record())
    assert ctx.action == "s3:ListBuckets"
    assert ctx.token_issue_time == T0 - timedelta(hours=2)
    assert ctx.source_ip == "203.0.113.10"
    assert ctx.userid == "AROADBQP57FF2AEXAMPLE:dev"
    assert ctx.via_aws_service is False


@pytest.mark.parametrize(
    "overrides",
    [
        {"sourceIPAddress": "AWS Internal"},
        {"sourceIPAddress": "10.0.0.5", "vpcEndpointId": "vpce-0123456789abcdef0"},
    ],
)
def test_call_context_has_no_source_ip_for_internal_or_vpc_endpoint_calls(overrides: dict) -> None:
    assert call_context(_record(**overrides)).source_ip is None


def test_denied_calls_over_a_frame() -> None:
    calls = pd.DataFrame(
        [
            _record(),
            _record(**{"userIdentity.sessionContext.attributes.creationDate": T0 + timedelta(minutes=1)}),
            _record(eventSource="sts.amazonaws.com", eventName="GetCallerIdentity"),
            _record(
                **{
                    "userIdentity.accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "userIdentity.sessionContext.attributes.creationDate": pd.NaT,
                }
            ),
            _record(
                **{
                    "userIdentity.accessKeyId": "ASIAI44QH8DHBEXAMPLE",
                    "userIdentity.sessionContext.attributes.creationDate": pd.NaT,
                }
            ),
        ],
        index=[10, 11, 12, 13, 14],
    )
    out = denied_calls(
        cutoff_policy(T0), calls, issued_at={"ASIAI44QH8DHBEXAMPLE": T0 - timedelta(minutes=3)}
    )
    assert out.to_dict() == {10: True, 11: False, 12: False, 13: False, 14: True}


def test_evaluate_cutoff_partitions_sessions() -> None:
    sessions = [
        {
            "access_key_id": "ASIAIOSFODNN7EXAMPLE",
            "kind": "AssumeRole",
            "issued_at": T0 - timedelta(seconds=1),
        },
        {"access_key_id": "ASIAI44QH8DHBEXAMPLE", "kind": "AssumeRole", "issued_at": T0},
        {
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "kind": "CreateAccessKey",
            "issued_at": T0 - timedelta(hours=1),
        },
    ]
    assert [cut for _, cut in evaluate_cutoff(sessions, T0)] == [True, False, False]


# the column-wise fast path must agree with the one-context-per-call reference path
_KEYS = ["ASIAIOSFODNN7EXAMPLE", "ASIAI44QH8DHBEXAMPLE", "AKIAIOSFODNN7EXAMPLE", None, ""]
_DATE_OPS = ["DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "DateEquals"]
base = datetime(2025, 1, 20, 12, tzinfo=UTC)
offsets = st.integers(min_value=-3, max_value=3).map(lambda m: base + timedelta(minutes=m))
rows = st.fixed_dictionaries(
    {
        "key": st.sampled_from(_KEYS),
        "created": st.one_of(st.none(), offsets),
        "probe": st.booleans(),
    }
)
conditions = st.lists(
    st.tuples(st.sampled_from(_DATE_OPS), st.booleans(), st.lists(offsets, min_size=1, max_size=2)),
    min_size=0,
    max_size=2,
)


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(rows, min_size=1, max_size=8),
    statements=st.lists(conditions, min_size=1, max_size=2),
    mapped=st.one_of(st.none(), offsets),
)
def test_vectorized_cutoff_path_agrees_with_the_row_path(
    records: list[dict], statements: list, mapped: datetime | None
) -> None:
    from ircreds.containment.evaluate import _denied_calls_rowwise, _denied_cutoff_vectorized

    doc = {"Statement": []}
    for conds in statements:
        block: dict = {}
        for op, if_exists, values in conds:
            block.setdefault(op + ("IfExists" if if_exists else ""), {})["aws:TokenIssueTime"] = [
                v.strftime("%Y-%m-%dT%H:%M:%SZ") for v in values
            ]
        doc["Statement"].append({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": block})
    frame = pd.DataFrame(
        {
            "eventTime": pd.to_datetime([base] * len(records), utc=True),
            "eventSource": ["sts.amazonaws.com" if r["probe"] else "s3.amazonaws.com" for r in records],
            "eventName": ["GetCallerIdentity" if r["probe"] else "ListBuckets" for r in records],
            "userIdentity.accessKeyId": pd.array([r["key"] for r in records], dtype="string"),
            "userIdentity.sessionContext.attributes.creationDate": pd.to_datetime(
                [r["created"] for r in records], utc=True
            ),
        }
    )
    compiled = compile_policy(doc)
    issued = {"ASIAI44QH8DHBEXAMPLE": mapped} if mapped else {}
    fast = _denied_cutoff_vectorized(compiled, frame, issued)
    assert fast is not None
    assert fast.tolist() == _denied_calls_rowwise(compiled, frame, issued).tolist()


def test_vectorized_path_is_not_used_for_other_keys() -> None:
    from ircreds.containment.evaluate import _denied_cutoff_vectorized

    frame = pd.DataFrame([_record()])
    assert (
        _denied_cutoff_vectorized(compile_policy(deny_source_ip_policy("203.0.113.0/24")), frame, {}) is None
    )
    assert denied_calls(deny_source_ip_policy("203.0.113.0/24"), frame).tolist() == [True]
