"""``ircreds scenario`` and ``ircreds exercise check`` (grading a right and a wrong sheet)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ircreds.cli import main


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ex")
    assert (
        main(["scenario", "--seed", "4", "--out", str(out), "--events", "1500", "--twist", "reassume"]) == 0
    )
    return out


def sheet(tmp: Path, answers: dict) -> Path:
    path = tmp / "answers.json"
    path.write_text(json.dumps(answers))
    return path


def right_answers(exercise: Path) -> dict:
    key = json.loads((exercise / "answer_key.json").read_text())
    return {q["id"]: q["answer"] for q in key["questions"]}


def test_scenario_writes_logs_key_and_account(exercise: Path) -> None:
    key = json.loads((exercise / "answer_key.json").read_text())
    account = json.loads((exercise / "account.json").read_text())
    assert [t["name"] for t in key["twists"]] == ["reassume"]
    assert account["account_id"] == key["account_id"]
    assert list((exercise / "AWSLogs" / key["account_id"] / "CloudTrail").iterdir())
    kinds = {q["kind"] for q in key["questions"]}
    assert kinds == {"exact", "set", "time-within-seconds", "number"}


def test_exercise_check_passes_a_right_sheet(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    answers = right_answers(exercise)
    answers["attacker_ips"] = list(reversed(answers["attacker_ips"]))  # order does not matter
    answers["issued_at"] = answers["issued_at"].replace("Z", "+00:00")
    assert main(["exercise", "check", str(exercise), str(sheet(tmp_path, answers))]) == 0
    out = capsys.readouterr().out
    assert f"score: {len(answers)}/{len(answers)}" in out
    assert "WRONG" not in out


def test_exercise_check_flags_each_wrong_answer(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    answers = right_answers(exercise)
    answers["attacker_ips"] = answers["attacker_ips"][:-1]
    answers["expires_at"] = "2020-01-01T00:00:00Z"
    answers["role"] = "arn:aws:iam::123456789012:role/Other"
    del answers["surviving"]
    assert main(["exercise", "check", str(exercise), str(sheet(tmp_path, answers)), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    wrong = {r["id"] for r in result["results"] if not r["correct"]}
    assert wrong == {"attacker_ips", "expires_at", "role", "surviving"}
    assert result["score"] == result["total"] - 4
    assert all(r["explanation"] for r in result["results"])


def test_exercise_check_refuses_a_broken_sheet(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["exercise", "check", str(exercise), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "not valid JSON" in err
    assert "Traceback" not in err


def test_stream_writes_a_trail_with_the_incident_inside(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["scenario", "--stream", "--events", "3000", "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    key = json.loads((tmp_path / "answer_key.json").read_text())
    assert 2500 <= summary["events"] <= 3500
    assert key["issued_at"] == "2025-01-20T09:14:27Z"


def test_exercise_questions_print_no_answers(exercise: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["exercise", "questions", str(exercise), "--json"]) == 0
    blank = json.loads(capsys.readouterr().out)
    assert blank == dict.fromkeys(right_answers(exercise))
    assert main(["exercise", "questions", str(exercise)]) == 0
    text = capsys.readouterr().out
    key = json.loads((exercise / "answer_key.json").read_text())
    assert key["leaked_access_key_id"] in text  # the key itself is given; its answers are not
    assert key["issuing_event_id"] not in text
    assert key["first_malicious_event_id"] not in text


def test_twists_can_be_listed_after_one_flag_or_repeated() -> None:
    from ircreds.cli import build_parser

    parser = build_parser()
    a = parser.parse_args(["scenario", "--out", "x", "--twist", "reassume", "session_token"])
    b = parser.parse_args(["scenario", "--out", "x", "--twist", "reassume", "--twist", "session_token"])
    assert a.twists == b.twists == ["reassume", "session_token"]


def test_exercise_check_says_unanswered_once_per_question(
    exercise: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["exercise", "check", str(exercise), str(sheet(tmp_path, {}))]) == 1
    rows = [line for line in capsys.readouterr().out.splitlines() if "unanswered" in line]
    table_rows = [line for line in rows if not line.startswith("no answers yet")]
    assert table_rows
    assert all(line.count("unanswered") == 1 for line in table_rows)
