"""`ircreds scope PATH... --key K [--ip IP] [--json]` end to end on generated exercises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ircreds.cli import main
from ircreds.scenarios import generate


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    s = generate(9, events=1200, twists=["more_stolen_credentials", "cross_account"])
    out = s.write(tmp_path_factory.mktemp("scope") / "case")
    return out, s.answer_key


def test_scope_json_lists_the_answer_keys_compromised_set_and_a_plan_per_account(
    exercise: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key = exercise
    end = key["scenario"]["end"]
    assert main(["scope", str(out), "--key", key["leaked_access_key_id"], "--now", end, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {c["access_key_id"] for c in doc["compromised"]} == set(key["compromised_access_key_ids"])
    assert doc["first_malicious_event_id"] == key["scope_first_malicious_event_id"]
    assert doc["seeds"]["keys"] == [key["leaked_access_key_id"]]
    accounts = {r["account_id"] for r in doc["plan"]["revocations"]}
    assert accounts == {key["account_id"], key["other_account_id"]}
    assert doc["evidence_integrity"]["status"] == "valid"  # the generator signs its digests


def test_scope_from_an_attacker_ip_prints_the_verdict_and_the_timeline(
    exercise: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out, key = exercise
    ip = key["attacker_ips"][0]
    assert main(["scope", str(out), "--ip", ip, "--no-plan"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("The attacker holds")
    assert "timeline:" in text
    for k in key["compromised_access_key_ids"]:
        assert k in text
    assert "evidence: digest validation valid, 0 problem(s)" in text


def test_scope_without_a_seed_is_one_sentence_on_stderr(
    exercise: tuple[Path, dict], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = exercise
    assert main(["scope", str(out)]) != 0
    err = capsys.readouterr().err
    assert "scope needs a seed" in err
    assert "Traceback" not in err


def test_report_shows_the_scope_by_default_and_not_with_no_scope(
    exercise: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, key = exercise
    end = key["scenario"]["end"]
    base = ["report", str(out), "--key", key["leaked_access_key_id"], "--now", end, "--no-figures"]
    assert main([*base, "--out", str(tmp_path / "with.md")]) == 0
    text = (tmp_path / "with.md").read_text()
    section = text.split("## Scope: every credential the attacker holds", 1)[1].split("\n## ", 1)[0]
    for k in key["compromised_access_key_ids"]:
        assert f"`{k}`" in section
    assert key["scope_first_malicious_event_id"] in section
    # one plan for the whole scope: the other stolen credentials' roles are in the containment section
    assert "web-app-instance-role" in text.split("## 7. Containment", 1)[1]
    assert main([*base, "--no-scope", "--out", str(tmp_path / "without.md")]) == 0
    assert "## Scope: every credential" not in (tmp_path / "without.md").read_text()
    capsys.readouterr()
