"""The containment plan and the post-apply check, on a small incident and on the walkthrough."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from _contain import incident as inc
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

import ircreds
from ircreds.containment import (
    Plan,
    UncoveredKind,
    Verdict,
    WarningCode,
    plan,
    recommend_cutoff,
    verify,
)
from ircreds.containment.policy import POLICY_NAME, cutoff_policy
from ircreds.errors import PlanError


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return ircreds.load(inc.records())


@pytest.fixture(scope="module")
def trace(events: pd.DataFrame):
    return ircreds.trace(events, inc.K1)


@pytest.fixture(scope="module")
def noon_plan(trace, events: pd.DataFrame) -> Plan:
    return plan(trace, inc.NOON, events=events)


def _keys(sessions) -> set[str]:
    return {s.access_key_id for s in sessions}


def test_plan_revokes_every_role_of_the_lineage(noon_plan: Plan) -> None:
    assert [r.target for r in noon_plan.revocations] == ["ExampleRole", "DataPipelineRole"]
    for rev in noon_plan.revocations:
        assert rev.policy_name == POLICY_NAME
        assert rev.policy == cutoff_policy(inc.NOON)
        assert rev.account_id == inc.ACCOUNT


def test_plan_lists_cut_surviving_and_expired_sessions_of_the_role(noon_plan: Plan) -> None:
    example = noon_plan.revocation("ExampleRole")
    assert _keys(example.cuts) == {inc.K1, inc.K4}
    assert _keys(example.survives) == {inc.K5}
    assert _keys(example.expired) == {inc.K6}
    by_key = {s.access_key_id: s for s in example.sessions}
    assert by_key[inc.K1].suspicious
    assert not by_key[inc.K4].suspicious
    assert by_key[inc.K4].issuer == "arn:aws:iam::111122223333:user/alice"
    assert by_key[inc.K1].expires_at == inc.K1_ISSUED + timedelta(hours=12)
    assert by_key[inc.K1].last_activity == datetime(2025, 1, 20, 12, 6, tzinfo=UTC)
    assert inc.ATTACKER_IP in by_key[inc.K1].source_ips
    assert _keys(noon_plan.revocation("DataPipelineRole").cuts) == {inc.K2}


def test_plan_names_minted_key_and_user_as_uncovered(noon_plan: Plan) -> None:
    kinds = {(u.kind, u.target) for u in noon_plan.uncovered}
    assert (UncoveredKind.ACCESS_KEY, inc.K3) in kinds
    assert (UncoveredKind.USER, "backup-svc") in kinds
    key_item = next(u for u in noon_plan.uncovered if u.target == inc.K3)
    assert "backup-svc" in key_item.action
    assert "Inactive" in key_item.action
    assert key_item.event_ids
    assert inc.K3 not in noon_plan.cut_keys()


def test_plan_warns_when_cutoff_precedes_an_attacker_session(trace, events: pd.DataFrame) -> None:
    early = plan(trace, inc.K2_ISSUED - timedelta(minutes=1), events=events)
    survivors = [w for w in early.warnings if w.code is WarningCode.ATTACKER_SESSION_SURVIVES]
    assert [w.access_key_id for w in survivors] == [inc.K2]
    assert inc.K2 in survivors[0].message
    assert "DataPipelineRole" in survivors[0].message


def test_cutoff_in_the_issue_second_of_an_attacker_session_spares_it(trace, events: pd.DataFrame) -> None:
    same_second = plan(trace, inc.K2_ISSUED, events=events)
    assert _keys(same_second.revocation("DataPipelineRole").survives) == {inc.K2}
    one_later = plan(trace, inc.K2_ISSUED + timedelta(seconds=1), events=events)
    assert _keys(one_later.revocation("DataPipelineRole").cuts) == {inc.K2}
    assert not [w for w in one_later.warnings if w.code is WarningCode.ATTACKER_SESSION_SURVIVES]


def test_recommended_cutoff_follows_the_newest_attacker_session_plus_margin(
    trace, events: pd.DataFrame
) -> None:
    p = plan(trace, events=events)
    assert p.cutoff == p.recommended_cutoff == inc.K2_ISSUED + timedelta(seconds=31)
    assert not [w for w in p.warnings if w.code is WarningCode.ATTACKER_SESSION_SURVIVES]
    assert inc.K4 in _keys(p.revocation("ExampleRole").survives)


def test_recommended_cutoff_is_never_before_now(trace, events: pd.DataFrame) -> None:
    now = datetime(2025, 1, 20, 11, 59, 0, 250000, tzinfo=UTC)
    p = plan(trace, events=events, now=now)
    assert p.cutoff == datetime(2025, 1, 20, 11, 59, 31, tzinfo=UTC)
    late = plan(trace, inc.NOON, events=events, now=inc.NOON + timedelta(hours=1))
    assert WarningCode.CUTOFF_IN_PAST in {w.code for w in late.warnings}


@settings(max_examples=50, deadline=None)
@given(
    times=st.lists(
        st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
        min_size=1,
        max_size=5,
    ),
    margin=st.integers(min_value=0, max_value=600),
)
def test_recommended_cutoff_cuts_every_attacker_session(times: list[datetime], margin: int) -> None:
    cutoff = recommend_cutoff(times, margin=timedelta(seconds=margin))
    assert cutoff is not None
    from ircreds.containment.evaluate import RequestContext, is_denied

    assert all(is_denied(cutoff_policy(cutoff), RequestContext(token_issue_time=t)) for t in times)


def test_plan_warns_about_legitimate_sessions_it_cuts(noon_plan: Plan) -> None:
    legit = [w for w in noon_plan.warnings if w.code is WarningCode.LEGITIMATE_SESSIONS_CUT]
    assert len(legit) == 1
    assert "alice" in legit[0].message


def test_plan_always_warns_about_propagation_and_get_caller_identity(noon_plan: Plan) -> None:
    codes = {w.code for w in noon_plan.warnings}
    assert {WarningCode.PROPAGATION, WarningCode.GET_CALLER_IDENTITY} <= codes


def test_plan_without_events_lists_only_the_lineage_and_says_so(trace) -> None:
    p = plan(trace, inc.NOON)
    assert _keys(p.revocation("ExampleRole").sessions) == {inc.K1}
    assert WarningCode.EVIDENCE_INCOMPLETE in {w.code for w in p.warnings}


def test_with_cutoff_equals_a_fresh_plan(trace, events: pd.DataFrame, noon_plan: Plan) -> None:
    for t in (inc.K2_ISSUED, inc.K2_ISSUED + timedelta(seconds=1), datetime(2025, 1, 20, 12, 45, tzinfo=UTC)):
        assert noon_plan.with_cutoff(t).to_dict() == plan(trace, t, events=events).to_dict()


def test_plan_json_contract_and_round_trip(noon_plan: Plan) -> None:
    data = json.loads(noon_plan.to_json())
    assert {"cutoff", "revocations", "warnings", "uncovered"} <= set(data)
    assert data["cutoff"] == "2025-01-20T12:00:00Z"
    rev = data["revocations"][0]
    assert {"target", "arn", "policy_name", "policy", "cuts", "survives"} <= set(rev)
    assert {c["access_key_id"] for c in rev["cuts"]} == {inc.K1, inc.K4}
    back = Plan.from_dict(data)
    assert back.to_dict()["revocations"] == data["revocations"]
    assert (
        back.with_cutoff(inc.K2_ISSUED).to_dict()["revocations"]
        == noon_plan.with_cutoff(inc.K2_ISSUED).to_dict()["revocations"]
    )


def test_plan_from_dict_rejects_garbage() -> None:
    with pytest.raises(PlanError, match="not an ircreds plan"):
        Plan.from_dict({"revocations": [{"no": "target"}]})


def test_plan_offers_narrower_options_for_attacker_sessions(noon_plan: Plan) -> None:
    k1 = next(a for a in noon_plan.alternatives if a.access_key_id == inc.K1)
    names = [o.name for o in k1.options]
    assert "session" in names
    assert "source-ip" in names
    session = next(o for o in k1.options if o.name == "session")
    assert session.policy["Statement"][0]["Condition"]["StringLike"]["aws:userid"] == [
        f"{inc.ROLE_IDS['ExampleRole']}:devuser"
    ]


def test_plan_shows_who_depends_on_each_role_last(noon_plan: Plan) -> None:
    example = next(d for d in noon_plan.deletion if d.role_arn == inc.EXAMPLE_ROLE)
    who = {d.principal: d for d in example.dependents}
    assert who["arn:aws:iam::111122223333:user/alice"].sessions == 2
    assert who["arn:aws:iam::111122223333:user/DevUser"].suspicious
    assert list(noon_plan.to_dict())[-1] == "deletion"


def test_plan_checks_inline_policy_size_against_the_account(trace, events: pd.DataFrame) -> None:
    account = inc.account_json()
    account["roles"][0]["inline_policies"]["Huge"] = {
        "Statement": [{"Effect": "Allow", "Action": ["s3:" + "x" * 10_200], "Resource": "*"}]
    }
    p = plan(trace, inc.NOON, events=events, account=account)
    size = [w for w in p.warnings if w.code is WarningCode.POLICY_SIZE]
    assert [w.target for w in size] == [inc.EXAMPLE_ROLE]
    assert not [
        w
        for w in plan(trace, inc.NOON, events=events, account=inc.account_json()).warnings
        if w.code is WarningCode.POLICY_SIZE
    ]


def test_plan_refuses_naive_times(trace) -> None:
    with pytest.raises(ValueError):
        plan(trace, datetime(2025, 1, 20, 12))  # noqa: DTZ001
    with pytest.raises(ValueError):
        plan(trace, inc.NOON, now=datetime(2025, 1, 20, 12))  # noqa: DTZ001


# ------------------------------------------------------------------------------------- other shapes


def _get_session_token_records() -> list[dict]:
    user = inc.user_identity("mfa-user", "AKIAMFAUSER00EXAMPLE")
    t = datetime(2025, 1, 20, 10, 0, tzinfo=UTC)
    issue = inc.call(
        t,
        user,
        inc.OFFICE_IP,
        "sts.amazonaws.com",
        "GetSessionToken",
        requestParameters={"durationSeconds": 43200},
        responseElements={
            "credentials": {
                "accessKeyId": "ASIAMFASESSN0EXAMPLE",
                "sessionToken": "<redacted>",
                "expiration": "Jan 20, 2025, 10:00:00 PM",
            }
        },
    )
    session_identity = dict(
        user,
        accessKeyId="ASIAMFASESSN0EXAMPLE",
        sessionContext={
            "sessionIssuer": {},
            "attributes": {"creationDate": "2025-01-20T10:00:00Z", "mfaAuthenticated": "false"},
        },
    )
    use = inc.call(
        t + timedelta(minutes=5), session_identity, inc.ATTACKER_IP, "s3.amazonaws.com", "ListBuckets"
    )
    return json.loads(json.dumps([issue, use]))


def test_get_session_token_credentials_are_revoked_on_the_iam_user() -> None:
    events = ircreds.load(_get_session_token_records())
    p = plan(ircreds.trace(events, "ASIAMFASESSN0EXAMPLE"), inc.NOON, events=events)
    [rev] = p.revocations
    assert rev.target == "mfa-user"
    assert str(rev.target_kind) == "user"
    assert rev.arn == "arn:aws:iam::111122223333:user/mfa-user"
    assert _keys(rev.cuts) == {"ASIAMFASESSN0EXAMPLE"}
    assert WarningCode.LONG_TERM_KEY_SURVIVES in {w.code for w in p.warnings}


def test_a_leaked_long_term_key_is_uncovered_not_revoked(events: pd.DataFrame) -> None:
    p = plan(ircreds.trace(events, inc.K3), inc.NOON, events=events)
    assert p.revocations == ()
    assert [(u.kind, u.target) for u in p.uncovered] == [(UncoveredKind.ACCESS_KEY, inc.K3)]


# ------------------------------------------------------------------------------------------ verify


def test_verify_counts_explicit_denies_and_exempts_get_caller_identity(
    noon_plan: Plan, events: pd.DataFrame
) -> None:
    result = verify(noon_plan, events, targets=["ExampleRole"])
    assert [c.access_key_id for c in result.denied] == [inc.K1]
    assert [c.event_name for c in result.exempt] == ["GetCallerIdentity"]
    assert result.succeeded == ()
    assert result.ok
    assert [c.access_key_id for c in result.survivors_active] == [inc.K2]


def test_verify_flags_cut_sessions_whose_calls_still_succeed(noon_plan: Plan, events: pd.DataFrame) -> None:
    result = verify(noon_plan, events)
    assert not result.ok
    assert [(c.access_key_id, c.event_name) for c in result.succeeded] == [(inc.K2, "ListBuckets")]
    generous = verify(noon_plan, events, allowance=timedelta(minutes=10))
    assert generous.ok
    assert [c.access_key_id for c in generous.within_allowance] == [inc.K2]


def test_verify_does_not_count_an_implicit_deny_as_proof(noon_plan: Plan) -> None:
    records = inc.records()
    for r in records:
        if r.get("errorCode") == "AccessDenied":
            r["errorMessage"] = (
                "User is not authorized to perform: s3:ListBuckets because no identity-based policy allows the s3:ListBuckets action"
            )
    result = verify(noon_plan, ircreds.load(records), targets=["ExampleRole"])
    assert result.denied == ()
    assert [c.access_key_id for c in result.implicit_denies] == [inc.K1]


def test_verify_rejects_unknown_targets(noon_plan: Plan, events: pd.DataFrame) -> None:
    with pytest.raises(PlanError):
        verify(noon_plan, events, targets=["NoSuchRole"])


# ------------------------------------------------------------------------------------- walkthrough

WALKTHROUGH = SAMPLES / "walkthrough"
needs_walkthrough = pytest.mark.skipif(
    not (WALKTHROUGH / "answer_key.json").is_file(), reason="data/samples/walkthrough not generated yet"
)


@pytest.fixture(scope="module")
def walkthrough() -> tuple[pd.DataFrame, dict]:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    return ircreds.load(WALKTHROUGH), key


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@needs_walkthrough
def test_walkthrough_plan_revokes_both_roles_and_lists_k3_and_backup_svc(
    walkthrough: tuple[pd.DataFrame, dict],
) -> None:
    events, key = walkthrough
    p = plan(ircreds.trace(events, key["leaked_access_key_id"]), _time(key["cutoff"]), events=events)
    assert {r.target for r in p.revocations} == {"ExampleRole", "DataPipelineRole"}
    assert p.revocation("ExampleRole").arn == key["role_arn"]
    uncovered_targets = {u.target for u in p.uncovered}
    assert set(key["minted_access_key_ids"]) <= uncovered_targets
    assert "backup-svc" in uncovered_targets or any(a.endswith("/backup-svc") for a in uncovered_targets)
    assert key["leaked_access_key_id"] in p.cut_keys()


@needs_walkthrough
def test_walkthrough_cutoff_before_k2_warns(walkthrough: tuple[pd.DataFrame, dict]) -> None:
    events, key = walkthrough
    sessions = ircreds.sessions(events)
    [k2] = key["chained_access_key_ids"][:1]
    k2_issued = sessions.loc[sessions["access_key_id"] == k2, "issued_at"].iloc[0].to_pydatetime()
    p = plan(
        ircreds.trace(events, key["leaked_access_key_id"]), k2_issued - timedelta(seconds=1), events=events
    )
    assert k2 in {w.access_key_id for w in p.warnings if w.code is WarningCode.ATTACKER_SESSION_SURVIVES}


@needs_walkthrough
def test_walkthrough_cut_sessions_match_the_answer_key(walkthrough: tuple[pd.DataFrame, dict]) -> None:
    events, key = walkthrough
    p = plan(ircreds.trace(events, key["leaked_access_key_id"]), _time(key["cutoff"]), events=events)
    expected = {c if isinstance(c, str) else c["access_key_id"] for c in key["cut_sessions"]}
    example = p.revocation("ExampleRole")
    assert {s.access_key_id for s in example.sessions if s.verdict is Verdict.CUT} == expected
    surviving = {c if isinstance(c, str) else c["access_key_id"] for c in key["surviving_sessions"]}
    assert surviving <= set(p.cut_keys()) | {u.access_key_id for u in p.uncovered}
    result = verify(p, events, targets=["ExampleRole"])
    assert result.ok
    assert result.denied


# ------------------------------------------------------------------------- roles that need care


def _service_and_sso_records() -> list[dict]:
    t = datetime(2025, 1, 20, 10, 0, tzinfo=UTC)
    inc.ROLE_IDS.setdefault("web-app-instance-role", "AROAWEBAPPROLE0EXAMPLE")
    ec2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    issue = inc.assume_role(
        t,
        ec2,
        "ec2.amazonaws.com",
        "web-app-instance-role",
        "i-0123456789abcdef0",
        "ASIAINSTANCE0EXAMPLE",
        21600,
    )
    stolen = inc.role_identity("web-app-instance-role", "i-0123456789abcdef0", "ASIAINSTANCE0EXAMPLE", t)
    use = inc.call(t + timedelta(minutes=30), stolen, inc.ATTACKER_IP, "s3.amazonaws.com", "ListBuckets")
    sso_role = f"arn:aws:iam::{inc.ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"
    saml = inc.call(
        t,
        {
            "type": "SAMLUser",
            "principalId": "Q2xvdWRFWEFNUExF:alice@example.com",
            "userName": "alice@example.com",
            "identityProvider": "Q2xvdWRFWEFNUExF",
        },
        "198.51.100.20",
        "sts.amazonaws.com",
        "AssumeRoleWithSAML",
        requestParameters={
            "roleArn": sso_role,
            "principalArn": f"arn:aws:iam::{inc.ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE",
        },
        responseElements={
            "credentials": {
                "accessKeyId": "ASIASSOSESSN0EXAMPLE",
                "sessionToken": "<redacted>",
                "expiration": "Jan 20, 2025, 11:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": "AROASSOADMINROLEEXAMPLE:alice@example.com",
                "arn": f"arn:aws:sts::{inc.ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com",
            },
        },
    )
    root = {
        "type": "Root",
        "principalId": inc.ACCOUNT,
        "arn": f"arn:aws:iam::{inc.ACCOUNT}:root",
        "accountId": inc.ACCOUNT,
        "accessKeyId": "AKIAROOTKEY00EXAMPLE",
    }
    root_token = inc.call(
        t,
        root,
        inc.ATTACKER_IP,
        "sts.amazonaws.com",
        "GetSessionToken",
        responseElements={
            "credentials": {
                "accessKeyId": "ASIAROOTSESSNEXAMPLE",
                "sessionToken": "<redacted>",
                "expiration": "Jan 20, 2025, 11:00:00 AM",
            }
        },
    )
    return json.loads(json.dumps([issue, use, saml, root_token]))


@pytest.fixture(scope="module")
def care_events() -> pd.DataFrame:
    return ircreds.load(_service_and_sso_records())


def test_instance_profile_role_gets_a_warning(care_events: pd.DataFrame) -> None:
    p = plan(ircreds.trace(care_events, "ASIAINSTANCE0EXAMPLE"), inc.NOON, events=care_events)
    assert [r.target for r in p.revocations] == ["web-app-instance-role"]
    [warning] = [w for w in p.warnings if w.code is WarningCode.INSTANCE_PROFILE]
    assert "IMDS" in warning.message
    assert warning.target.endswith(":role/web-app-instance-role")


def test_identity_center_role_cannot_take_the_policy(care_events: pd.DataFrame) -> None:
    p = plan(ircreds.trace(care_events, "ASIASSOSESSN0EXAMPLE"), inc.NOON, events=care_events)
    assert p.revocations == ()
    assert WarningCode.CANNOT_TAKE_POLICY in {w.code for w in p.warnings}
    [item] = [u for u in p.uncovered if u.access_key_id == "ASIASSOSESSN0EXAMPLE"]
    assert item.kind is UncoveredKind.SESSION
    assert "permission set" in item.action


def test_root_session_tokens_are_uncovered(care_events: pd.DataFrame) -> None:
    p = plan(ircreds.trace(care_events, "ASIAROOTSESSNEXAMPLE"), inc.NOON, events=care_events)
    assert p.revocations == ()
    [item] = [u for u in p.uncovered if u.kind is UncoveredKind.ROOT_SESSION]
    assert item.access_key_id == "ASIAROOTSESSNEXAMPLE"
    assert "SCP" in item.action


def test_trust_policy_edits_and_lambda_changes_are_uncovered(events: pd.DataFrame) -> None:
    records = inc.records()
    k1 = records[2]["userIdentity"]
    extra = [
        inc.call(
            datetime(2025, 1, 20, 11, 25, tzinfo=UTC),
            k1,
            inc.ATTACKER_IP,
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            requestParameters={"roleName": "DataPipelineRole", "policyDocument": "{}"},
        ),
        inc.call(
            datetime(2025, 1, 20, 11, 26, tzinfo=UTC),
            k1,
            inc.ATTACKER_IP,
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            requestParameters={"functionName": "orders-processor"},
        ),
        inc.call(
            datetime(2025, 1, 20, 11, 27, tzinfo=UTC),
            k1,
            inc.ATTACKER_IP,
            "iam.amazonaws.com",
            "CreateLoginProfile",
            requestParameters={"userName": "backup-svc"},
            errorCode="AccessDenied",
            errorMessage="denied",
        ),
    ]
    ev = ircreds.load(records + json.loads(json.dumps(extra)))
    p = plan(ircreds.trace(ev, inc.K1), inc.NOON, events=ev)
    kinds = {(u.kind, u.target) for u in p.uncovered}
    assert (UncoveredKind.TRUST_POLICY, "DataPipelineRole") in kinds
    assert (UncoveredKind.COMPUTE, "orders-processor") in kinds
    assert UncoveredKind.LOGIN_PROFILE not in {k for k, _ in kinds}  # a failed call changed nothing


def test_impact_on_calls_marks_what_the_deny_blocks_after_the_apply(
    noon_plan: Plan, events: pd.DataFrame
) -> None:
    impact = noon_plan.impact_on_calls(events, applied_at=inc.NOON)
    denied = impact[impact["denied"]]
    assert list(zip(denied["access_key_id"], denied["eventName"], strict=True)) == [
        (inc.K1, "ListBuckets"),
        (inc.K2, "ListBuckets"),
    ]
    probe = impact[
        (impact["eventName"] == "GetCallerIdentity") & (impact["eventTime"] >= pd.Timestamp(inc.NOON))
    ]
    assert not probe["denied"].any()
    assert not impact.loc[impact["eventTime"] < pd.Timestamp(inc.NOON), "denied"].any()
    assert set(impact["target"]) == {"ExampleRole", "DataPipelineRole"}
    assert impact.loc[impact["access_key_id"] == inc.K4, "suspicious"].eq(False).all()
    everything = noon_plan.impact_on_calls(events)
    assert everything["denied"].sum() > denied.shape[0]  # without an apply time, earlier calls count too


@pytest.mark.parametrize(
    "module", ["containment/policy", "containment/evaluate", "containment", "aws", "sandbox"]
)
def test_containment_modules_never_read_the_clock(module: str) -> None:
    import ast

    path = Path(ircreds.__file__).parent / module
    files = sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    clock = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
    calls = [
        node.func.attr
        for file in files
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in clock
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"datetime", "date", "time", "pd", "Timestamp"}
    ]
    assert calls == []


# ----------------------------------------------------------------------------- now and the cut-off

LATER = datetime(2025, 1, 20, 12, 20, tzinfo=UTC)
BEFORE_NOON = datetime(2025, 1, 20, 11, 45, tzinfo=UTC)


def test_a_later_cutoff_cuts_sessions_live_now_that_expire_before_it(trace, events: pd.DataFrame) -> None:
    # K2 (11:10-12:10) is live at 11:45: a deny that lands at 11:45 cuts it, though it expires before 12:20
    p = plan(trace, LATER, now=BEFORE_NOON, events=events)
    assert inc.K2 in _keys(p.revocation("DataPipelineRole").cuts)
    example = p.revocation("ExampleRole")
    assert _keys(example.cuts) == {inc.K1, inc.K4}
    assert _keys(example.expired) == {inc.K6}  # 08:00-09:00: expired at now too, only a note
    by_key = {s.access_key_id: s for s in example.sessions}
    assert by_key[inc.K4].live_at_now is True
    assert by_key[inc.K6].live_at_now is False
    # judged against the cut-off alone (no now), K2 would look harmlessly expired: the old mistake
    assert inc.K2 in _keys(plan(trace, LATER, events=events).revocation("DataPipelineRole").expired)


def test_a_later_cutoff_warns_of_the_outage_window_naming_who_assumed_the_role(
    trace, events: pd.DataFrame
) -> None:
    p = plan(trace, LATER, now=BEFORE_NOON, events=events)
    after_now = {w.target: w for w in p.warnings if w.code is WarningCode.CUTOFF_AFTER_NOW}
    assert set(after_now) == {inc.EXAMPLE_ROLE, inc.PIPELINE_ROLE}
    message = after_now[inc.EXAMPLE_ROLE].message
    assert "every session of ExampleRole issued before 2025-01-20T12:20:00Z" in message
    assert "including new ones by legitimate users" in message
    assert "cuts 2 session(s) live now" in message
    assert "user/alice" in message
    assert "user/DevUser" in message
    legit = [w for w in p.warnings if w.code is WarningCode.LEGITIMATE_SESSIONS_CUT]
    assert any("alice" in w.message for w in legit)
    # the recommendation (now + margin) opens no window; with_cutoff re-judges the same way
    recommended = plan(trace, now=BEFORE_NOON, events=events)
    assert WarningCode.CUTOFF_AFTER_NOW not in {w.code for w in recommended.warnings}
    moved = recommended.with_cutoff(LATER)
    assert moved.to_dict()["revocations"] == p.to_dict()["revocations"]
    assert WarningCode.CUTOFF_AFTER_NOW in {w.code for w in moved.warnings}


def test_plan_judges_sessions_at_now_in_json(trace, events: pd.DataFrame) -> None:
    data = plan(trace, inc.NOON, now=BEFORE_NOON, events=events).to_dict()
    assert data["now"] == "2025-01-20T11:45:00Z"
    assert data["now_source"] == "given"
    live = {s["access_key_id"]: s["live_at_now"] for r in data["revocations"] for s in r["cuts"]}
    assert live[inc.K1] is True


def test_library_plan_defaults_now_to_the_real_clock_and_says_stale_evidence(trace, events) -> None:
    before = datetime.now(UTC)
    p = ircreds.plan(trace, events=events)
    assert p.now_source == "clock"
    assert before <= p.now <= datetime.now(UTC)
    stale = [w for w in p.warnings if w.code is WarningCode.STALE_EVIDENCE]
    assert len(stale) == 1
    assert "2025-01-20T12:30:00Z" in stale[0].message  # the evidence's end
    assert "--now" in stale[0].message
    assert "--as-of evidence-end" in stale[0].message
    assert p.to_dict()["evidence_end"] == "2025-01-20T12:30:00Z"


def test_library_plan_as_of_evidence_end_is_not_stale(trace, events: pd.DataFrame) -> None:
    p = ircreds.plan(trace, events=events, as_of="evidence-end")
    assert p.now == datetime(2025, 1, 20, 12, 30, tzinfo=UTC)
    assert p.now_source == "evidence-end"
    assert WarningCode.STALE_EVIDENCE not in {w.code for w in p.warnings}
    given = ircreds.plan(trace, events=events, now=inc.NOON)
    assert (given.now, given.now_source) == (inc.NOON, "given")
    with pytest.raises(PlanError, match="not both"):
        ircreds.plan(trace, events=events, now=inc.NOON, as_of="evidence-end")
    with pytest.raises(PlanError, match="as_of must be one of"):
        ircreds.plan(trace, events=events, as_of="yesterday")


def test_fresh_evidence_is_not_stale(trace, events: pd.DataFrame) -> None:
    p = plan(trace, now=datetime(2025, 1, 20, 13, 0, tzinfo=UTC), events=events)
    assert WarningCode.STALE_EVIDENCE not in {w.code for w in p.warnings}


# ------------------------------------------------------------------------- verify: minted credentials


def _minting_records(name: str, error: str | None = None) -> list[dict]:
    records = inc.records()
    k1 = next(r["userIdentity"] for r in records if r["userIdentity"].get("accessKeyId") == inc.K1)
    extra = (
        {"errorCode": error, "errorMessage": "with an explicit deny in an identity-based policy"}
        if error
        else {}
    )
    records.append(
        inc.call(
            datetime(2025, 1, 20, 12, 1, tzinfo=UTC),
            k1,
            inc.ATTACKER_IP,
            "iam.amazonaws.com",
            name,
            requestParameters={"userName": "backup-svc"},
            **extra,
        )
    )
    return records


@pytest.mark.parametrize("name", ["CreateAccessKey", "CreateLoginProfile", "GetSessionToken", "CreateUser"])
def test_verify_is_not_ok_when_a_cut_credential_mints_one_within_the_allowance(
    noon_plan: Plan, name: str
) -> None:
    result = verify(noon_plan, ircreds.load(_minting_records(name)), targets=["ExampleRole"])
    assert not result.ok
    assert [(c.access_key_id, c.event_name) for c in result.minted] == [(inc.K1, name)]
    assert [c.event_name for c in result.within_allowance] == [name]  # inside the 5 minutes...
    assert result.succeeded == ()  # ...so the old rule alone said ok
    assert name in result.reasons[0]
    assert "minted a new credential" in result.reasons[0]
    data = result.to_dict()
    assert data["ok"] is False
    assert data["minted"][0]["event_name"] == name


def test_verify_stays_ok_when_the_minting_call_was_denied_or_is_not_minting(noon_plan: Plan) -> None:
    denied = verify(
        noon_plan, ircreds.load(_minting_records("CreateAccessKey", "AccessDenied")), targets=["ExampleRole"]
    )
    assert denied.ok
    assert denied.minted == ()
    assert [c.event_name for c in denied.denied] == ["CreateAccessKey", "ListBuckets"]  # 12:01, 12:05
    reading = verify(noon_plan, ircreds.load(_minting_records("ListUsers")), targets=["ExampleRole"])
    assert reading.ok
    assert reading.minted == ()
    assert reading.reasons == ()
    assert [c.event_name for c in reading.within_allowance] == ["ListUsers"]


def test_verify_judges_the_cut_sessions_when_the_deny_landed_not_at_the_plans_now(trace, events) -> None:
    at_decision = plan(trace, inc.NOON, now=BEFORE_NOON, events=events)
    long_after = plan(trace, inc.NOON, now=datetime(2025, 1, 22, tzinfo=UTC), events=events)
    assert long_after.revocation("ExampleRole").cuts == ()  # all expired by then: a note, nothing to cut
    first = verify(at_decision, events, targets=["ExampleRole"])
    later = verify(long_after, events, targets=["ExampleRole"])
    assert later.checked_keys == first.checked_keys == (inc.K1, inc.K4)
    assert later.to_dict() == first.to_dict()


def test_a_session_issued_after_now_does_not_move_the_recommendation(trace, events: pd.DataFrame) -> None:
    # replaying at 11:00, before K2 (11:10:09) exists: the recommendation is now + margin, not after K2
    at_eleven = datetime(2025, 1, 20, 11, 0, tzinfo=UTC)
    p = plan(trace, now=at_eleven, events=events)
    assert p.cutoff == datetime(2025, 1, 20, 11, 0, 30, tzinfo=UTC)
    assert WarningCode.CUTOFF_AFTER_NOW not in {w.code for w in p.warnings}
    spared = [w for w in p.warnings if w.code is WarningCode.ATTACKER_SESSION_SURVIVES]
    assert [w.access_key_id for w in spared] == [inc.K2]  # still listed, and named as spared
