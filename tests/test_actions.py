"""The change model and action record, decided from plain documents: no AWS, no moto server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ircreds.containment import Plan, Revocation, actions
from ircreds.containment.actions import ActionRecord, Change
from ircreds.containment.policy import (
    POLICY_NAME,
    ROLE_INLINE_POLICY_LIMIT,
    USER_INLINE_POLICY_LIMIT,
    TargetKind,
    cutoff_policy,
    policy_size,
)
from ircreds.errors import PlanError

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"
WHEN = datetime(2025, 1, 20, 12, 0, 5, tzinfo=UTC)
CUTOFF = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
DENY = cutoff_policy(CUTOFF)
READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def _rev(
    name: str = "ExampleRole", *, account: str | None = ACCOUNT, policy: dict | None = None
) -> Revocation:
    return Revocation(
        target=name,
        target_kind=TargetKind.ROLE,
        arn=f"arn:aws:iam::{account or ACCOUNT}:role/{name}",
        account_id=account,
        policy_name=POLICY_NAME,
        policy=DENY if policy is None else policy,
    )


def _change(**kw: object) -> Change:
    fields: dict = {
        "target": "ExampleRole",
        "target_kind": TargetKind.ROLE,
        "arn": f"arn:aws:iam::{ACCOUNT}:role/ExampleRole",
        "policy_name": POLICY_NAME,
        "operation": "put",
        "before": None,
        "after": DENY,
        "other_inline": ("S3Read",),
        "attached": ("arn:aws:iam::aws:policy/ReadOnlyAccess",),
    }
    fields.update(kw)
    return Change(**fields)


def _record(*changes: Change, **kw: object) -> ActionRecord:
    fields: dict = {
        "action": "apply",
        "dry_run": False,
        "who": f"arn:aws:iam::{ACCOUNT}:user/responder",
        "when": WHEN,
        "account_id": ACCOUNT,
        "endpoint_url": "http://127.0.0.1:5000",
        "region": "us-east-1",
        "cutoff": CUTOFF,
        "plan_key": "ASIAIOSFODNN7EXAMPLE",
        "changes": changes,
    }
    fields.update(kw)
    return ActionRecord(**fields)


# ------------------------------------------------------------------------------- record contract


def test_action_record_json_nests_where_and_writes_times_as_utc_z() -> None:
    rec = _record(_change(readback_ok=True))
    data = rec.to_dict()
    assert list(data) == [
        "action",
        "dry_run",
        "who",
        "when",
        "where",
        "cutoff",
        "plan_key",
        "changes",
        "rehearsal",
        "sha256",
    ]
    assert data["rehearsal"] is True  # 127.0.0.1 is not AWS
    assert data["where"] == {
        "account_id": ACCOUNT,
        "endpoint_url": "http://127.0.0.1:5000",
        "profile": None,
        "region": "us-east-1",
    }
    assert (data["when"], data["cutoff"]) == ("2025-01-20T12:00:05Z", "2025-01-20T12:00:00Z")
    assert list(data["changes"][0]) == [
        "target",
        "target_kind",
        "arn",
        "policy_name",
        "operation",
        "before",
        "after",
        "readback_ok",
        "other_inline",
        "attached",
    ]
    assert data["changes"][0]["other_inline"] == ["S3Read"]


def test_action_record_round_trips_through_its_json_file(tmp_path: Path) -> None:
    rec = _record(_change(readback_ok=True), _change(target="Other", operation="unchanged", before=DENY))
    saved = rec.save(tmp_path)
    loaded = ActionRecord.load(saved.path)
    assert loaded == saved
    assert json.loads(Path(saved.path).read_text()) == rec.to_dict()


def test_saving_twice_in_the_same_second_keeps_both_records(tmp_path: Path) -> None:
    first = _record().save(tmp_path)
    second = _record().save(tmp_path)
    assert first.path != second.path
    assert Path(second.path).name == f"20250120T120005Z-apply-{ACCOUNT}-2.json"
    assert len(list(tmp_path.iterdir())) == 2


def test_action_record_rejects_naive_when() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _record(when=datetime(2025, 1, 20, 12, 0))  # noqa: DTZ001


@pytest.mark.parametrize("data", [{}, {"action": "apply"}, {"plan": "x", "changes": []}])
def test_from_dict_refuses_what_is_not_an_action_record(data: dict) -> None:
    with pytest.raises(PlanError, match="not an ircreds action record"):
        ActionRecord.from_dict(data)


def test_load_names_the_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(PlanError, match=r"broken\.json"):
        ActionRecord.load(bad)


def test_record_diff_lists_only_changes_that_write() -> None:
    rec = _record(_change(), _change(target="Other", operation="unchanged", before=DENY))
    assert "role ExampleRole inline policy AWSRevokeOlderSessions (after)" in rec.diff()
    assert "Other" not in rec.diff()
    added = [line for line in rec.diff().splitlines() if line.startswith("+") and "TokenIssueTime" in line]
    assert added == ['+          "aws:TokenIssueTime": "2025-01-20T12:00:00Z"']


def test_record_diff_says_so_when_every_policy_is_already_in_place() -> None:
    rec = _record(_change(operation="unchanged", before=DENY))
    assert rec.diff() == "no change: every policy is already in place"


def test_policy_document_reads_url_encoded_text_as_iam_returns_it() -> None:
    encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
    assert actions.policy_document(encoded) == {"Version": "2012-10-17", "Statement": []}
    assert actions.policy_document(json.dumps(READ)) == READ
    assert actions.policy_document(None) is None


# ------------------------------------------------------------------------------- apply decisions


def test_planned_change_is_unchanged_when_same_document_in_other_key_order() -> None:
    reordered = json.loads(json.dumps(DENY, sort_keys=True))
    assert list(reordered) != list(DENY)
    change = actions.planned_change(
        _rev(), before=reordered, inline=[POLICY_NAME], attached=[], dry_run=False
    )
    assert (change.operation, change.readback_ok) == ("unchanged", True)


def test_planned_change_records_other_policies_without_touching_them() -> None:
    change = actions.planned_change(
        _rev(), before=READ, inline=[POLICY_NAME, "S3Read"], attached=["arn:p"], dry_run=True
    )
    assert change.operation == "put"
    assert (change.before, change.after) == (READ, DENY)
    assert change.other_inline == ("S3Read",)
    assert change.attached == ("arn:p",)
    assert change.readback_ok is None


def test_confirmation_is_required_to_write_but_not_to_dry_run() -> None:
    actions.require_confirmation(True, False)
    actions.require_confirmation(False, True)
    with pytest.raises(PlanError, match="confirm=True"):
        actions.require_confirmation(False, False)


def test_select_revocations_names_unknown_targets_and_the_plan_targets() -> None:
    plan = Plan(key="k", account_id=ACCOUNT, cutoff=CUTOFF, revocations=(_rev("A"), _rev("B")))
    assert [r.target for r in actions.select_revocations(plan, [f"arn:aws:iam::{ACCOUNT}:role/B"])] == ["B"]
    with pytest.raises(PlanError, match=r"\['Nope'\] not in the plan; its targets are \['A', 'B'\]"):
        actions.select_revocations(plan, ["A", "Nope"])


def test_select_revocations_refuses_a_plan_without_cutoff_policy() -> None:
    plan = Plan(key="k", account_id=ACCOUNT, cutoff=None, revocations=(_rev(policy={}),))
    with pytest.raises(PlanError, match="has no policy"):
        actions.select_revocations(plan, None)


def test_cross_account_apply_is_refused_whole_and_names_what_can_be_applied() -> None:
    revs = [_rev("Mine"), _rev("Theirs", account=OTHER_ACCOUNT)]
    with pytest.raises(PlanError, match=r"nothing was changed; apply targets=\['Mine'\]"):
        actions.check_apply_account(revs, ACCOUNT, "arn:aws:iam::123456789012:user/responder")
    actions.check_apply_account([_rev("Mine"), _rev("Unknown", account=None)], ACCOUNT, "me")


@pytest.mark.parametrize(
    ("kind", "limit"),
    [(TargetKind.ROLE, ROLE_INLINE_POLICY_LIMIT), (TargetKind.USER, USER_INLINE_POLICY_LIMIT)],
)
def test_inline_size_limit_counts_the_other_inline_policies(kind: TargetKind, limit: int) -> None:
    rev = Revocation(
        target="t", target_kind=kind, arn="arn:t", account_id=ACCOUNT, policy_name=POLICY_NAME, policy=DENY
    )
    room = limit - policy_size(DENY)
    filler = {"Sid": "x" * (room - policy_size({"Sid": ""}))}
    assert policy_size(filler) == room
    actions.check_inline_size(rev, [filler])
    with pytest.raises(PlanError, match=f"over IAM's {limit}"):
        actions.check_inline_size(rev, [filler, {}])


def test_apply_readback_fails_when_another_inline_policy_appeared() -> None:
    change = _change()
    attached = list(change.attached)
    assert actions.apply_readback_ok(change, DENY, [POLICY_NAME, "S3Read"], attached)
    assert not actions.apply_readback_ok(change, DENY, [POLICY_NAME, "S3Read", "Extra"], attached)
    assert not actions.apply_readback_ok(change, READ, [POLICY_NAME, "S3Read"], attached)
    assert not actions.apply_readback_ok(change, None, [POLICY_NAME, "S3Read"], attached)


# ---------------------------------------------------------------------------- rollback decisions


def test_rollback_deletes_a_policy_the_apply_created() -> None:
    undo = actions.rollback_change(_change(before=None), DENY)
    assert (undo.operation, undo.before, undo.after) == ("delete", DENY, None)
    assert actions.rollback_readback_ok(undo, None)
    assert not actions.rollback_readback_ok(undo, DENY)


def test_rollback_restores_the_document_the_apply_replaced() -> None:
    undo = actions.rollback_change(_change(before=READ), DENY)
    assert (undo.operation, undo.before, undo.after) == ("restore", DENY, READ)
    assert actions.rollback_readback_ok(undo, READ)
    assert not actions.rollback_readback_ok(undo, None)


def test_rollback_refuses_a_policy_changed_since_the_apply_unless_forced() -> None:
    change = _change()
    actions.check_unchanged_since_apply(change, json.loads(json.dumps(DENY, sort_keys=True)), force=False)
    for current in (READ, None):
        with pytest.raises(PlanError, match="changed since the apply"):
            actions.check_unchanged_since_apply(change, current, force=False)
        actions.check_unchanged_since_apply(change, current, force=True)


@pytest.mark.parametrize(("action", "dry_run"), [("apply", True), ("rollback", False)])
def test_only_a_real_apply_record_can_be_rolled_back(action: str, dry_run: bool) -> None:
    actions.check_rollback(_record())
    with pytest.raises(PlanError, match="only a real"):
        actions.check_rollback(_record(action=action, dry_run=dry_run))


def test_rollback_refuses_credentials_of_another_account() -> None:
    actions.check_record_account(_record(), ACCOUNT, "me")
    with pytest.raises(PlanError, match=f"record is for account {ACCOUNT} but .* account {OTHER_ACCOUNT}"):
        actions.check_record_account(_record(), OTHER_ACCOUNT, "me")


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"endpoint_url": "http://127.0.0.1:6000"}, "endpoint"),
        ({"profile": "prod"}, "profile"),
        ({"account": OTHER_ACCOUNT}, "account"),
        ({"who": f"arn:aws:iam::{ACCOUNT}:user/someone-else"}, "caller"),
    ],
)
def test_rollback_runs_only_where_the_apply_ran(where: dict, field: str) -> None:
    here = {
        "endpoint_url": "http://127.0.0.1:5000/",  # a trailing slash is the same endpoint
        "profile": None,
        "account": ACCOUNT,
        "who": f"arn:aws:iam::{ACCOUNT}:user/responder",
    }
    actions.check_rollback_target(_record(_change()), **here)
    with pytest.raises(PlanError, match=f"the record was written with {field} .* nothing was rolled back"):
        actions.check_rollback_target(_record(_change()), **{**here, **where})


def test_recorded_documents_must_be_ours_to_roll_back() -> None:
    actions.check_rollback_documents(
        _record(_change(before=cutoff_policy(datetime(2025, 1, 19, tzinfo=UTC))))
    )
    console = {  # the console's equivalent spelling of an earlier cut-off is ours too
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-01-19T00:00:00Z"}},
        },
    }
    actions.check_rollback_documents(_record(_change(before=console)))
    with pytest.raises(PlanError, match=r"changes\[0\] \(ExampleRole\): the record's before document"):
        actions.check_rollback_documents(_record(_change(before=READ)))
    with pytest.raises(PlanError, match="the record's after document"):
        actions.check_rollback_documents(_record(_change(after=READ)))


def test_content_digest_tells_an_edited_file() -> None:
    data = _record(_change()).to_dict()
    assert actions.digest_matches(data) is True
    data["changes"][0]["policy_name"] = "RequireMFA"
    assert actions.digest_matches(data) is False
    assert actions.digest_matches({"action": "apply"}) is None
