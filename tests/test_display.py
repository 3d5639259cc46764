"""Outputs an analyst can read: HTML views (verdict first, details folded, evidence escaped) and the case story."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import ircreds
from ircreds import display
from ircreds.model import Finding, Severity
from ircreds.report import narrative
from ircreds.scenarios import generate, grade, summary

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def case():
    scenario = generate(4711, events=2500, twists=[])
    events = ircreds.load(scenario.records)
    trace = ircreds.trace(events, scenario.answer_key["leaked_access_key_id"])
    now = datetime.fromisoformat(scenario.answer_key["cutoff"]) - timedelta(seconds=30)
    plan = ircreds.plan(trace, now=now, events=events)
    return scenario, events, trace, plan


def test_load_report_view_says_counts_in_words_and_folds_skipped_files(case) -> None:
    _, events, _, _ = case
    html = display.load_report(events)._repr_html_()
    report = events.attrs["load_report"]
    assert f"{report['events']:,} events from" in html
    assert "nothing rejected" in html
    skipped = {**report, "files_skipped": [{"file": "a/CloudTrail-Digest/x.json.gz", "reason": "digest"}] * 3}
    assert "<details><summary>3 files skipped</summary>" in display.load_report_html(skipped)


def test_load_report_view_lists_rejects_with_file_and_reason_escaped() -> None:
    report = {
        "events": 1,
        "files_read": 1,
        "rejects": [{"file": HOSTILE, "record": 3, "reason": "invalid JSON"}],
    }
    html = display.load_report_html(report)
    assert "1 record rejected" in html
    assert HOSTILE not in html
    assert "&lt;img src=x" in html


def test_trace_repr_html_names_the_key_issuer_and_every_credential_of_the_lineage(case) -> None:
    _, _, trace, _ = case
    html = trace._repr_html_()
    for node in trace.walk():
        assert node.key in html
    assert trace.session.issuer.arn in html
    assert html.index(trace.key) < html.index("<table>")  # the verdict comes before the table


def test_plan_repr_html_states_the_cutoff_and_cut_counts_first(case) -> None:
    _, _, _, plan = case
    html = plan._repr_html_()
    cut = sum(len(r.cuts) for r in plan.revocations)
    assert f"cuts {cut} session" in html
    assert ircreds.model.iso_z(plan.cutoff).replace("T", " ") in html
    for r in plan.revocations:
        assert r.target in html


def test_verify_repr_html_gives_the_verdict_in_words(case) -> None:
    _, events, trace, plan = case
    result = ircreds.verify(plan, events, targets=[trace.session.role_arn])
    html = result._repr_html_()
    if result.ok:
        assert f"cut-off verified: {len(result.denied)} call" in html
        assert "0 succeeded past the allowance" in html
    else:
        assert "cut-off NOT verified" in html
    assert "VerifyResult(" not in html


def test_findings_view_escapes_attacker_text_and_folds_event_ids() -> None:
    finding = Finding(
        id="new_user_agent", severity=Severity.HIGH, summary=f"agent {HOSTILE}", event_ids=("e1", "e2")
    )
    html = display.findings([finding])._repr_html_()
    assert HOSTILE not in html
    assert "1 finding: 1 high" in html
    assert "<details><summary>2 event(s)</summary>e1<br>e2</details>" in html
    assert HOSTILE not in finding._repr_html_()


def test_link_is_relative_and_escaped() -> None:
    html = display.link('out/a"b.html')._repr_html_()
    assert 'href="out/a&quot;b.html"' in html


def test_narrative_states_the_cases_own_facts(case) -> None:
    scenario, _, trace, plan = case
    key = scenario.answer_key
    story = narrative.session_md(trace)
    assert key["leaked_access_key_id"] in story
    assert key["role_arn"] in story
    assert key["issuer_arn"] in story
    assert story._repr_markdown_() == str(story)
    assert key["leaked_access_key_id"] in narrative.calls_md(trace)
    lineage = narrative.lineage_md(trace)
    for child in key["chained_access_key_ids"] + key["minted_access_key_ids"]:
        assert child in lineage
    plan_story = narrative.plan_md(plan, trace)
    for r in plan.revocations:
        assert r.target in plan_story


def test_narrative_escapes_markdown_in_attacker_written_values(case) -> None:
    _, _, trace, _ = case
    from dataclasses import replace

    issuer = replace(trace.session.issuer, user_agent="[click](http://203.0.113.9) `x` <b>")
    story = narrative.session_md(replace(trace, session=replace(trace.session, issuer=issuer)))
    assert "[click](http://203.0.113.9)" not in story.replace("`` [click](http://203.0.113.9) `x` <b> ``", "")


def test_grade_reports_a_blank_sheet_as_unanswered_not_wrong(case) -> None:
    scenario, *_ = case
    questions = scenario.answer_key["questions"]
    results = grade(scenario.answer_key, {q["id"]: None for q in questions})
    assert {r.status for r in results} == {"unanswered"}
    assert summary(results) == f"no answers yet: {len(questions)} question(s) unanswered"


def test_grade_accepts_a_role_name_where_the_arn_is_unambiguous_with_a_note() -> None:
    key = {
        "questions": [
            {
                "id": "role",
                "question": "?",
                "kind": "exact",
                "explanation": "",
                "answer": "arn:aws:iam::123456789012:role/ExampleRole",
            },
            {
                "id": "roles",
                "question": "?",
                "kind": "set",
                "explanation": "",
                "answer": ["arn:aws:iam::123456789012:role/A", "arn:aws:iam::123456789012:role/B"],
            },
            {"id": "other", "question": "?", "kind": "exact", "explanation": "", "answer": "x"},
        ]
    }
    results = {r.id: r for r in grade(key, {"role": "exampleRole", "roles": ["A", "B"], "other": "y"})}
    assert results["role"].correct
    assert "full ARN" in results["role"].note
    assert results["roles"].correct
    assert results["other"].status == "wrong"
    assert summary(results.values()) == "2/3 answered correctly (all 3 answered)"
    wrong = grade(key, {"role": "OtherRole"})[0]
    assert wrong.status == "wrong"
    assert not wrong.note
