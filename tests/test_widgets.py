"""The notebook widgets, headless: set child values, click buttons, read the sandbox's real IAM (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import ircreds
from ircreds import widgets
from ircreds.containment.policy import POLICY_NAME, canonical, cutoff_policy
from ircreds.sandbox import start_sandbox
from ircreds.widgets import RevokePanel, TraceExplorer

WALKTHROUGH = Path(__file__).resolve().parent.parent / "data" / "samples" / "walkthrough"
NOW = datetime(2025, 1, 20, 11, 59, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def answer_key() -> dict:
    return json.loads((WALKTHROUGH / "answer_key.json").read_text())


@pytest.fixture(scope="module")
def cutoff(answer_key) -> datetime:
    """The cut-off recorded in the incident (what the plan recommends at NOW)."""
    return datetime.fromisoformat(answer_key["cutoff"].replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def events():
    return ircreds.load(WALKTHROUGH)


@pytest.fixture(scope="module")
def trace(events, answer_key):
    return ircreds.trace(events, answer_key["leaked_access_key_id"])


@pytest.fixture(scope="module")
def plan(trace, events):
    return ircreds.plan(trace, now=NOW, events=events)


@pytest.fixture(scope="module")
def sandbox():
    sb = start_sandbox(WALKTHROUGH)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def iam(sandbox):
    sandbox.reset()
    return sandbox.client("iam")


@pytest.fixture
def panel(plan, trace, iam, tmp_path: Path) -> RevokePanel:
    return RevokePanel(plan, trace=trace, account=WALKTHROUGH, record_dir=tmp_path / "records")


def _inline(iam, role: str) -> list[str]:
    return iam.list_role_policies(RoleName=role)["PolicyNames"]


def _row(panel: RevokePanel, key: str) -> str:
    html = panel.impact.value
    start = html.rfind("<tr", 0, html.index(key))
    return html[start : html.index("</tr>", start)]


def test_panel_starts_on_the_recommended_cutoff_in_the_sandbox_with_apply_locked(
    panel, plan, answer_key
) -> None:
    assert panel.cutoff.value == ircreds.model.iso_z(plan.cutoff) == answer_key["cutoff"]
    assert panel.target.value == "sandbox"
    assert panel.role.options[0][1] == "ExampleRole"
    assert panel.apply_button.disabled
    assert not panel.confirm.value


def test_panel_shows_the_exact_policy_document(panel, cutoff) -> None:
    expected = json.dumps(cutoff_policy(cutoff), indent=2)
    assert widgets._pre(expected) == panel.policy.value


def test_impact_table_marks_leaked_and_legitimate_sessions_cut(panel, answer_key) -> None:
    for session in answer_key["cut_sessions"]:
        row = _row(panel, session["access_key_id"])
        assert "<td>cut</td>" in row
        assert ("<td>legitimate</td>" if session["legitimate"] else "<td>suspicious</td>") in row
    assert panel.summary.value.startswith(f"<b>{len(answer_key['cut_sessions'])}</b> session(s) cut")


def test_moving_the_cutoff_into_the_issue_second_spares_the_leaked_session(panel, answer_key) -> None:
    panel.cutoff.value = answer_key["issued_at"]  # DateLessThan is strict
    assert "<td>survives</td>" in _row(panel, answer_key["leaked_access_key_id"])
    one_second_later = datetime.fromisoformat(answer_key["issued_at"].replace("Z", "+00:00")) + timedelta(
        seconds=1
    )
    panel.cutoff.value = ircreds.model.iso_z(one_second_later)
    assert "<td>cut</td>" in _row(panel, answer_key["leaked_access_key_id"])


def test_a_cutoff_before_the_chained_session_warns_about_it(panel, answer_key) -> None:
    chained = answer_key["chained_access_key_ids"][0]
    assert chained not in panel.warnings.value
    panel.cutoff.value = "2025-01-20T11:00:00Z"
    assert chained in panel.warnings.value
    assert any(w.access_key_id == chained for w in panel.plan.warnings)


def test_the_slider_moves_the_cutoff_in_minutes_around_the_recommendation_at_first(
    panel, plan, answer_key
) -> None:
    panel.nudge.value = -60
    assert panel.cutoff.value == "2025-01-20T11:00:00Z"
    assert answer_key["chained_access_key_ids"][0] in panel.warnings.value
    panel.recommended.click()
    assert panel.nudge.value == 0
    assert panel.cutoff.value == ircreds.model.iso_z(plan.recommended_cutoff)


def test_an_unparseable_edit_locks_apply_and_says_why_next_to_the_box(panel, iam) -> None:
    panel.confirm.value = True
    panel.confirm_plan.value = True
    panel.cutoff.value = "noon tomorrow"
    assert "noon tomorrow" in panel.cutoff_note.value
    assert "Apply is locked" in panel.cutoff_note.value
    assert panel.apply_button.disabled
    assert panel.apply_plan_button.disabled
    assert not panel.confirm.value
    assert not panel.confirm_plan.value
    assert panel.confirm.disabled  # ticking it cannot re-enable Apply...
    panel.confirm.value = True  # ...not even from code
    assert panel.apply_button.disabled
    assert panel.policy.value == ""  # no stale document shown beside an error
    assert panel.plot.outputs == ()  # nor a stale cut-off line
    assert panel.apply() is None
    assert panel.apply_plan() is None
    assert "locked" in panel.status.value
    assert POLICY_NAME not in _inline(iam, "ExampleRole")
    panel.cutoff.value = "2025-01-20T12:00:30Z"  # fixed: unlocked, still unconfirmed
    assert panel.error is None
    assert not panel.confirm.disabled
    assert panel.apply_button.disabled
    assert "2025-01-20T12:00:30Z" in panel.policy.value


def test_a_human_time_form_becomes_the_cutoff_shown_and_written(panel, iam) -> None:
    panel.cutoff.value = "2025-01-20 12:05"
    assert panel.cutoff_note.value == "= <b>2025-01-20T12:05:00Z</b> (read as UTC)"
    assert "&quot;aws:TokenIssueTime&quot;: &quot;2025-01-20T12:05:00Z&quot;" in panel.policy.value
    assert "aws:TokenIssueTime < 2025-01-20T12:05:00Z to ExampleRole" in panel.confirm.description
    assert (
        "aws:TokenIssueTime &lt; 2025-01-20T12:05:00Z</code> to <b>ExampleRole</b>" in panel.apply_note.value
    )
    panel.confirm.value = True
    panel.apply_button.click()
    stored = iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert stored["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2025-01-20T12:05:00Z"
    panel.cutoff.value = "2025-01-20T13:05:00+01:00"
    assert panel.cutoff_note.value == "= <b>2025-01-20T12:05:00Z</b> (converted to UTC)"


@pytest.mark.parametrize(
    ("widget", "value"),
    [("cutoff", "2025-01-20T12:01:00Z"), ("role", "DataPipelineRole"), ("target", "elsewhere")],
)
def test_the_confirmation_clears_when_the_cutoff_role_or_target_changes(
    plan, trace, tmp_path, widget, value
) -> None:
    panel = RevokePanel(plan, trace=trace, account=WALKTHROUGH, target="elsewhere", record_dir=tmp_path)
    panel.target.value = "sandbox"
    panel.confirm.value = True
    panel.confirm_plan.value = True
    assert not panel.apply_button.disabled
    assert not panel.apply_plan_button.disabled
    getattr(panel, widget).value = value
    assert not panel.confirm.value
    assert not panel.confirm_plan.value
    assert panel.apply_button.disabled
    assert panel.apply_plan_button.disabled


def test_a_later_cutoff_lists_the_live_sessions_it_cuts_and_warns_of_the_outage(panel, answer_key) -> None:
    panel.cutoff.value = "2025-01-20T14:00:00Z"  # now is 11:59:30
    live = [s for s in panel.revocation.cuts if s.live_at_now]
    legit = [s for s in live if not s.suspicious]
    assert len(legit) >= 2
    for s in live:
        row = _row(panel, s.access_key_id)
        assert "<td>cut</td>" in row
        assert "<td>yes</td>" in row
    assert f"(<b>{len(live)}</b> live at now, 2025-01-20T11:59:30Z)" in panel.summary.value
    warning = panel.warnings.value
    assert 'class="cutoff-after-now"' in warning
    assert (
        "every session of ExampleRole issued before 2025-01-20T14:00:00Z, including new ones by legitimate users"
        in warning
    )
    assert f"cuts {len(live)} session(s) live now" in warning
    assert "user/DevUser" in warning  # who assumed the role in the evidence
    assert "legitimate session(s) of ExampleRole" in warning


def test_the_slider_moves_around_the_value_typed(panel) -> None:
    panel.cutoff.value = "2025-01-20 12:30"
    panel.nudge.value = 5
    assert panel.cutoff.value == "2025-01-20T12:35:00Z"
    panel.nudge.value = -10
    assert panel.cutoff.value == "2025-01-20T12:20:00Z"  # still around 12:30, not around the recommendation
    panel.cutoff.value = "2025-01-20T13:00:00Z"
    assert panel.nudge.value == 0


def test_the_panel_keeps_no_global_state() -> None:
    assert not hasattr(widgets, "_APPLIED")


def test_dry_run_shows_the_change_and_writes_nothing(panel, iam) -> None:
    panel.dry_run_button.click()
    assert "Dry run" in panel.status.value
    assert "aws:TokenIssueTime" in panel.readback.value
    assert POLICY_NAME not in _inline(iam, "ExampleRole")


def test_apply_without_confirmation_writes_nothing(panel, iam) -> None:
    panel.apply()  # the button is disabled; the method refuses too
    assert "confirmation" in panel.status.value
    assert POLICY_NAME not in _inline(iam, "ExampleRole")


def test_confirmed_apply_puts_the_cutoff_deny_on_the_role_and_reads_it_back(
    panel, iam, tmp_path, cutoff
) -> None:
    panel.confirm.value = True
    assert not panel.apply_button.disabled
    panel.apply_button.click()
    stored = iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert canonical(stored) == canonical(cutoff_policy(cutoff))
    assert "DevAccess" in _inline(iam, "ExampleRole")  # merge, not clobber
    assert POLICY_NAME not in _inline(iam, "DataPipelineRole")  # only the selected role
    assert "Applied" in panel.status.value
    assert ircreds.model.iso_z(cutoff) in panel.readback.value
    assert canonical(panel.last_readback) == canonical(stored)
    assert len(list((tmp_path / "records").glob("*.json"))) == 1
    assert not panel.confirm.value  # a second apply needs a fresh confirmation


def test_applying_twice_or_rerunning_the_cell_writes_once(plan, trace, panel, iam, tmp_path) -> None:
    panel.confirm.value = True
    panel.apply_button.click()
    first = iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    panel.confirm.value = True
    panel.apply_button.click()
    assert "Already in place" in panel.status.value
    rerun = RevokePanel(plan, trace=trace, account=WALKTHROUGH, record_dir=tmp_path / "records")
    rerun.confirm.value = True
    rerun.apply_button.click()
    assert "Already in place" in rerun.status.value  # aws.apply read IAM: the document is there
    assert rerun.records == []
    assert rerun.rollback_button.disabled
    assert len(panel.records) == 1
    written = [json.loads(p.read_text()) for p in sorted((tmp_path / "records").glob("*.json"))]
    assert [[c["operation"] for c in r["changes"]] for r in written].count(["put"]) == 1
    assert iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"] == first


def test_apply_plan_writes_every_revocation_in_one_confirmed_step(panel, plan, iam, tmp_path) -> None:
    assert "Apply plan</b> also writes DataPipelineRole" in panel.apply_note.value
    panel.apply_plan_button.click()  # disabled: nothing happens
    assert POLICY_NAME not in _inline(iam, "DataPipelineRole")
    assert panel.apply_plan() is None
    panel.confirm_plan.value = True
    assert "to all 2 target(s) of the plan (ExampleRole, DataPipelineRole)" in panel.confirm_plan.description
    panel.apply_plan_button.click()
    for rev in plan.revocations:
        stored = iam.get_role_policy(RoleName=rev.target, PolicyName=POLICY_NAME)["PolicyDocument"]
        assert canonical(stored) == canonical(rev.policy)
    [record] = (tmp_path / "records").glob("*.json")
    assert [c["target"] for c in json.loads(record.read_text())["changes"]] == [
        "ExampleRole",
        "DataPipelineRole",
    ]
    assert not panel.confirm_plan.value


def test_sandbox_actions_are_labelled_rehearsal(panel, tmp_path) -> None:
    assert "a rehearsal: no AWS account changes" in panel.confirm.description
    assert "<b>Rehearsal</b>" in panel.apply_note.value
    panel.confirm.value = True
    panel.apply_button.click()
    assert "rehearsal in the sandbox" in panel.status.value
    [record] = (tmp_path / "records").glob("*.json")
    assert json.loads(record.read_text())["rehearsal"] is True
    assert str(record) in panel.readback.value  # the record's path is shown


def test_apply_on_the_chained_role_at_a_moved_cutoff(panel, iam) -> None:
    panel.role.value = "DataPipelineRole"
    panel.cutoff.value = "2025-01-20T12:05:00Z"
    panel.confirm.value = True
    panel.apply_button.click()
    stored = iam.get_role_policy(RoleName="DataPipelineRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert stored["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2025-01-20T12:05:00Z"
    assert POLICY_NAME not in _inline(iam, "ExampleRole")


def test_changing_the_cutoff_withdraws_the_confirmation(panel) -> None:
    panel.confirm.value = True
    panel.cutoff.value = "2025-01-20T12:01:00Z"
    assert not panel.confirm.value
    assert panel.apply_button.disabled


def test_rollback_needs_a_dry_run_and_a_confirmation_and_leaves_a_record(panel, iam, tmp_path) -> None:
    assert panel.rollback_button.disabled
    panel.confirm_plan.value = True
    panel.apply_plan_button.click()
    assert not panel.rollback_button.disabled
    assert panel.rollback_confirm_button.disabled
    assert panel.rollback() is None  # no dry run yet: nothing changes
    assert POLICY_NAME in _inline(iam, "ExampleRole")
    panel.rollback_button.click()  # step one: the dry run
    assert "Rollback dry run" in panel.status.value
    assert "aws:TokenIssueTime" in panel.readback.value
    assert POLICY_NAME in _inline(iam, "ExampleRole")
    assert panel.rollback_confirm_button.disabled  # step two needs the box
    assert panel.rollback() is None
    assert POLICY_NAME in _inline(iam, "ExampleRole")
    assert "the attacker's included" in panel.confirm_rollback.description
    panel.confirm_rollback.value = True
    panel.rollback_confirm_button.click()
    assert _inline(iam, "ExampleRole") == ["DevAccess"]
    assert POLICY_NAME not in _inline(iam, "DataPipelineRole")
    assert "Rolled back" in panel.status.value
    assert "not present" in panel.readback.value
    assert panel.rollback_button.disabled
    assert panel.rollback_confirm_button.disabled
    assert len(list((tmp_path / "records").glob("*-rollback-*.json"))) == 1


def test_apply_to_a_missing_profile_reports_it_and_writes_nothing(plan, iam, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    panel = RevokePanel(plan, account=WALKTHROUGH, target="incident-prod", record_dir=tmp_path / "records")
    assert panel.target.options == ("sandbox", "incident-prod")
    panel.confirm.value = True
    panel.apply_button.click()
    assert "apply failed" in panel.status.value or "failed" in panel.status.value
    assert "incident-prod" in panel.status.value
    assert not (tmp_path / "records").exists()
    assert POLICY_NAME not in _inline(iam, "ExampleRole")


def test_recommended_button_puts_the_recommendation_back(panel, plan) -> None:
    panel.cutoff.value = "2025-01-20T13:00:00Z"
    panel.recommended.click()
    assert panel.cutoff.value == ircreds.model.iso_z(plan.recommended_cutoff)


def test_panel_draws_the_timeline_with_the_cutoff(panel) -> None:
    assert len(panel.plot.outputs) == 1
    assert "application/vnd.plotly.v1+json" in panel.plot.outputs[0]["data"]


def test_trace_explorer_shows_the_selected_credential(trace, answer_key) -> None:
    explorer = TraceExplorer(trace)
    keys = [value for _, value in explorer.credential.options]
    assert keys[0] == answer_key["leaked_access_key_id"]
    assert set(answer_key["chained_access_key_ids"]) | set(answer_key["minted_access_key_ids"]) <= set(keys)
    chained = answer_key["chained_access_key_ids"][0]
    explorer.credential.value = chained
    assert f"<b>{chained}</b>" in explorer.summary.value
    node = explorer.node
    assert explorer.calls.value.count("<tr") == min(len(node.calls), explorer.max_rows) + 1
    assert len(explorer.plot.outputs) == 1


def test_trace_explorer_errors_only_lists_failed_calls(trace, answer_key) -> None:
    explorer = TraceExplorer(trace, max_rows=1000)
    explorer.errors_only.value = True
    errors = int(trace.calls["errorCode"].notna().sum())
    assert errors > 0
    assert explorer.calls.value.count("<tr") == errors + 1
    assert "AccessDenied" in explorer.calls.value


def test_trace_explorer_pages_calls_fifty_at_a_time(trace) -> None:
    explorer = TraceExplorer(trace)
    total = len(trace.calls)
    assert total > 50
    assert explorer.max_rows == 50
    assert explorer.calls.value.count("<tr") == 51
    assert f"calls 1–50 of {total:,}" in explorer.position.value
    assert explorer.previous.disabled
    first_page = explorer.calls.value
    explorer.next.click()
    assert f"calls 51–{min(100, total)} of {total:,}" in explorer.position.value
    assert explorer.calls.value != first_page
    pages = -(-total // 50)
    for _ in range(pages + 2):  # past the end stays on the last page
        explorer.next.click()
    assert explorer.next.disabled
    assert explorer.calls.value.count("<tr") == total - (pages - 1) * 50 + 1


def test_trace_explorer_text_filter_matches_calls_and_resets_the_page(trace) -> None:
    explorer = TraceExplorer(trace)
    explorer.next.click()
    explorer.filter.value = "GetCallerIdentity"
    wanted = int((trace.calls["eventName"] == "GetCallerIdentity").sum())
    assert wanted > 0
    assert explorer.page == 0
    assert explorer.calls.value.count("<tr") == min(wanted, 50) + 1
    assert f"of {wanted:,} (filtered from {len(trace.calls):,})" in explorer.position.value
    explorer.filter.value = "no-such-call-anywhere"
    assert "no call matches" in explorer.position.value


def test_trace_explorer_new_ips_only_keeps_calls_from_ips_the_issuer_never_used(trace) -> None:
    explorer = TraceExplorer(trace, max_rows=1000)
    explorer.new_ips_only.value = True
    new = trace.calls["sourceIPAddress"].isin(trace.summary.new_source_ips)
    assert explorer.calls.value.count("<tr") == int(new.sum()) + 1
