"""Guardrail review over plain role descriptions and trust policies; live-check assembly. No AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from ircreds.containment import Plan, Revocation, SessionImpact, Verdict
from ircreds.containment.audit import (
    LiveCheck,
    cutoff_in,
    expects_deny,
    issue_times,
    live_checks,
    review_account,
    review_role,
)
from ircreds.containment.policy import POLICY_NAME, TargetKind, cutoff_policy

ACCOUNT = "123456789012"
PARTNER = "444455556666"
CUTOFF = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)


def _trust(principal: Any, condition: dict | None = None, effect: str = "Allow") -> dict:
    stmt: dict = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [stmt]}


def _role(name: str = "AppRole", trust: Any = None, *, hours: float = 1, path: str = "/") -> dict:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        "Path": path,
        "MaxSessionDuration": int(hours * 3600),
        "AssumeRolePolicyDocument": trust if trust is not None else _trust({"Service": "ec2.amazonaws.com"}),
    }


def _codes(role: dict) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in review_role(role, account_id=ACCOUNT).findings]


# ------------------------------------------------------------------------------------ review_role


def test_one_hour_sessions_and_a_service_trust_raise_nothing() -> None:
    assert _codes(_role()) == []


def test_max_session_duration_over_an_hour_is_a_finding_naming_the_hours() -> None:
    review = review_role(_role("ExampleRole", hours=12), account_id=ACCOUNT)
    assert [f.code for f in review.findings] == ["long-max-session"]
    assert review.findings[0].message.startswith("ExampleRole allows 12 h sessions")


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}])
def test_wildcard_trust_without_condition_is_critical(principal: Any) -> None:
    assert ("open-trust", "critical") in _codes(_role(trust=_trust(principal)))


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        {"StringEquals": {"sts:ExternalId": "x"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:role/ci"}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    ],
)
def test_a_restricting_condition_silences_trust_findings(condition: dict) -> None:
    assert _codes(_role(trust=_trust({"AWS": "*"}, condition))) == []
    assert _codes(_role(trust=_trust({"AWS": f"arn:aws:iam::{PARTNER}:root"}, condition))) == []


def test_a_condition_that_does_not_restrict_the_caller_still_counts_as_open() -> None:
    loose = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert _codes(_role(trust=_trust({"AWS": "*"}, loose))) == [("open-trust", "critical")]


@pytest.mark.parametrize(
    ("principal", "severity", "where"),
    [
        (f"arn:aws:iam::{PARTNER}:root", "high", f"another account ({PARTNER})"),
        (PARTNER, "high", f"another account ({PARTNER})"),
        (f"arn:aws:iam::{ACCOUNT}:root", "medium", f"the whole account ({ACCOUNT})"),
    ],
)
def test_trusting_a_whole_account_without_condition_names_which_account(
    principal: str, severity: str, where: str
) -> None:
    (finding,) = review_role(_role(trust=_trust({"AWS": principal})), account_id=ACCOUNT).findings
    assert (finding.code, finding.severity) == ("account-trust-without-condition", severity)
    assert f"AppRole trusts {where}" in finding.message


def test_trusting_one_role_arn_is_not_whole_account_trust() -> None:
    assert _codes(_role(trust=_trust({"AWS": f"arn:aws:iam::{PARTNER}:role/Deployer"}))) == []


def test_deny_statements_are_not_read_as_trust() -> None:
    review = review_role(_role(trust=_trust({"AWS": "*"}, effect="Deny")), account_id=ACCOUNT)
    assert (review.findings, review.principals) == ((), ())


def test_trust_policy_as_url_encoded_text_with_a_single_statement_object() -> None:
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}}}
    review = review_role(_role(trust=quote(json.dumps(doc))), account_id=ACCOUNT)
    assert [f.code for f in review.findings] == ["open-trust"]
    assert review.principals == ("*",)


def test_principals_list_every_kind_with_non_aws_kinds_prefixed() -> None:
    trust = _trust({"AWS": [f"arn:aws:iam::{PARTNER}:role/ci"], "Service": "lambda.amazonaws.com"})
    review = review_role(_role(trust=trust), account_id=ACCOUNT)
    assert review.principals == (f"arn:aws:iam::{PARTNER}:role/ci", "Service:lambda.amazonaws.com")


# ---------------------------------------------------------------------------------- review_account


def test_review_account_counts_but_skips_service_linked_roles() -> None:
    roles = [
        _role("AWSServiceRoleForConfig", _trust({"AWS": "*"}), hours=12, path="/aws-service-role/config/"),
        _role("AppRole", hours=2),
    ]
    asked: list[str] = []
    report = review_account(
        roles, account_id=ACCOUNT, revoke_policy=lambda role: asked.append(role["RoleName"]) or None
    )
    assert report.roles_checked == 2
    assert [f.target for f in report.findings] == ["AppRole"]
    assert asked == ["AppRole"]


def test_review_account_reports_assumers_and_cutoffs_only_for_wanted_roles() -> None:
    roles = [
        _role("ExampleRole", _trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
        _role("OpenRole", _trust("*")),
    ]
    in_place = {"ExampleRole": cutoff_policy(CUTOFF), "OpenRole": cutoff_policy(CUTOFF)}
    report = review_account(
        roles, account_id=ACCOUNT, wanted=["ExampleRole"], revoke_policy=lambda r: in_place[r["RoleName"]]
    )
    assert report.assumers == {"ExampleRole": (f"arn:aws:iam::{ACCOUNT}:root",)}
    assert report.cutoffs == {"ExampleRole": "2025-01-20T12:00:00Z"}
    assert {f.target for f in report.findings} == {"ExampleRole", "OpenRole"}
    assert report.to_dict()["assumers"] == {"ExampleRole": [f"arn:aws:iam::{ACCOUNT}:root"]}


def test_cutoff_in_ignores_policies_without_token_issue_time() -> None:
    assert cutoff_in(cutoff_policy(CUTOFF)) == "2025-01-20T12:00:00Z"
    assert cutoff_in({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}) is None
    assert cutoff_in(None) is None


# ------------------------------------------------------------------------------------ live checks


def _session(key: str, issued: datetime, verdict: Verdict) -> SessionImpact:
    return SessionImpact(access_key_id=key, kind="AssumeRole", issued_at=issued, verdict=verdict)


def _plan(*sessions: SessionImpact) -> Plan:
    rev = Revocation(
        target="ExampleRole",
        target_kind=TargetKind.ROLE,
        arn=f"arn:aws:iam::{ACCOUNT}:role/ExampleRole",
        account_id=ACCOUNT,
        policy_name=POLICY_NAME,
        policy=cutoff_policy(CUTOFF),
        sessions=sessions,
    )
    return Plan(key="ASIAIOSFODNN7EXAMPLE", account_id=ACCOUNT, cutoff=CUTOFF, revocations=(rev,))


def test_issue_times_group_sessions_of_the_same_second_oldest_first() -> None:
    early = CUTOFF - timedelta(hours=3)
    plan = _plan(
        _session("ASIAAAAAAAAAAEXAMPLE", CUTOFF + timedelta(minutes=5), Verdict.SURVIVES),
        _session("ASIABBBBBBBBBEXAMPLE", early + timedelta(microseconds=250), Verdict.CUT),
        _session("ASIACCCCCCCCCEXAMPLE", early + timedelta(microseconds=900), Verdict.CUT),
    )
    groups = issue_times(plan.revocations[0])
    assert [t for t, _ in groups] == [early, CUTOFF + timedelta(minutes=5)]
    assert [s.access_key_id for s in groups[0][1]] == ["ASIABBBBBBBBBEXAMPLE", "ASIACCCCCCCCCEXAMPLE"]


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [((Verdict.CUT,), True), ((Verdict.EXPIRED,), True), ((Verdict.SURVIVES,), False), ((), False)],
)
def test_a_deny_is_expected_when_the_plan_cuts_or_expired_a_session(
    verdicts: tuple[Verdict, ...], expected: bool
) -> None:
    assert expects_deny([_session("ASIAAAAAAAAAAEXAMPLE", CUTOFF, v) for v in verdicts]) is expected


def test_live_checks_ask_once_per_issue_second_and_flag_disagreement() -> None:
    k1, k5 = "ASIAK1LEAKED0EXAMPLE", "ASIAK5LATER00EXAMPLE"
    plan = _plan(
        _session(k1, CUTOFF - timedelta(hours=2), Verdict.CUT),
        _session(k5, CUTOFF + timedelta(minutes=1), Verdict.SURVIVES),
    )
    asked: list[tuple[str, datetime]] = []

    def simulate(arn: str, issued: datetime) -> str:
        asked.append((arn, issued))
        return "explicitDeny"  # the simulator denies both: the second is a disagreement

    checks = live_checks(plan, simulate)
    assert [a[1] for a in asked] == [CUTOFF - timedelta(hours=2), CUTOFF + timedelta(minutes=1)]
    assert [(c.access_key_ids, c.agrees) for c in checks] == [((k1,), True), ((k5,), False)]
    assert checks[1].to_dict()["issued_at"] == "2025-01-20T12:01:00Z"


def test_live_check_agrees_only_on_explicit_deny_when_deny_expected() -> None:
    base = {"target_arn": "arn:r", "issued_at": CUTOFF, "access_key_ids": ()}
    assert LiveCheck(**base, simulator="explicitDeny", expected_deny=True).agrees
    assert not LiveCheck(**base, simulator="implicitDeny", expected_deny=True).agrees
    assert LiveCheck(**base, simulator="implicitDeny", expected_deny=False).agrees
