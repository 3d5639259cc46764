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
    widgets._APPLIED.clear()
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


def test_the_slider_moves_the_cutoff_in_minutes_around_the_recommendation(panel, plan, answer_key) -> None:
    panel.nudge.value = -60
    assert panel.cutoff.value == "2025-01-20T11:00:00Z"
    assert answer_key["chained_access_key_ids"][0] in panel.warnings.value
    panel.recommended.click()
    assert panel.nudge.value == 0
    assert panel.cutoff.value == ircreds.model.iso_z(plan.recommended_cutoff)


def test_an_unreadable_cutoff_is_reported_and_locks_apply(panel) -> None:
    panel.confirm.value = True
    panel.cutoff.value = "noon tomorrow"
    assert "failed" not in panel.status.value
    assert "noon tomorrow" in panel.status.value
    assert panel.apply_button.disabled


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
    panel.confirm.value = True
    panel.apply_button.click()
    rerun = RevokePanel(plan, trace=trace, account=WALKTHROUGH, record_dir=tmp_path / "records")
    rerun.confirm.value = True
    rerun.apply_button.click()
    assert "Already applied" in rerun.status.value
    assert len(list((tmp_path / "records").glob("*.json"))) == 1


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


def test_rollback_restores_the_role_as_it_was(panel, iam) -> None:
    assert panel.rollback_button.disabled
    panel.confirm.value = True
    panel.apply_button.click()
    assert not panel.rollback_button.disabled
    panel.rollback_button.click()
    assert _inline(iam, "ExampleRole") == ["DevAccess"]
    assert "Rolled back" in panel.status.value
    assert "not present" in panel.readback.value
    assert panel.rollback_button.disabled


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
