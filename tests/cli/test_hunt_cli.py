"""`ircreds hunt` on the walkthrough sample with SigmaHQ's CloudTrail rules (read from shared/, by licence)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

from ircreds.cli import main

RULES = REPO.parent / "shared" / "sigma" / "aws-cloudtrail"
WALKTHROUGH = SAMPLES / "walkthrough"
pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason=f"Sigma rules not found at {RULES}")


@pytest.fixture(scope="module")
def hunt_json() -> tuple[int, dict]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["hunt", str(WALKTHROUGH), "--sigma", str(RULES), "--json"])
    return code, json.loads(out.getvalue())


def test_hunt_json_prints_the_contract_and_the_attacker_key_hit(hunt_json: tuple[int, dict]) -> None:
    code, out = hunt_json
    answer = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    assert {"rules_loaded", "rules_unsupported", "hits"} <= out.keys()
    assert out["rules_loaded"] == len(list(RULES.glob("*.yml")))
    assert out["rules_unsupported"] == []
    for hit in out["hits"]:
        assert {
            "rule_id",
            "title",
            "level",
            "tags",
            "event_ids",
            "first_seen",
            "last_seen",
            "access_key_ids",
        } <= hit.keys()
        assert hit["author"]
        assert hit["source"].startswith("https://")
    # the attacker's CreateAccessKey for the user it created (SigmaHQ "AWS IAM Backdoor Users Keys")
    backdoor = next(h for h in out["hits"] if h["rule_id"] == "0a5177f4-6ca9-44c2-aacf-d3f3d8b6e4d2")
    assert answer["leaked_access_key_id"] in backdoor["access_key_ids"]
    assert set(backdoor["event_ids"]) & set(answer["persistence_event_ids"])
    assert code == 1  # a medium rule matched, and --level defaults to medium


def test_hunt_exit_code_follows_the_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: Caller identity\nid: 5f0c9d1e-0000-4000-8000-0000000000cc\nauthor: ircreds tests\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: GetCallerIdentity}, condition: sel}\nlevel: medium\n"
    )
    assert main(["hunt", str(WALKTHROUGH), "--sigma", str(rule), "--level", "high"]) == 0
    assert main(["hunt", str(WALKTHROUGH), "--sigma", str(rule), "--level", "medium"]) == 1
    text = capsys.readouterr().out
    assert "Caller identity" in text
    assert "by ircreds tests" in text


def test_hunt_names_a_missing_rules_folder_in_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hunt", str(WALKTHROUGH), "--sigma", str(tmp_path / "nope")]) == 1
    assert "no Sigma rules at" in capsys.readouterr().err


def test_trace_with_sigma_adds_the_rule_hits_on_its_calls(capsys: pytest.CaptureFixture[str]) -> None:
    answer = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    key = answer["leaked_access_key_id"]
    assert main(["trace", str(WALKTHROUGH), "--key", key, "--sigma", str(RULES), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key"] == key
    hits = out["sigma_hits"]
    assert {"event_id", "rule_id", "title", "level", "tags", "author", "source"} <= hits[0].keys()
    assert "AWS IAM Backdoor Users Keys" in {h["title"] for h in hits}


def test_scope_seeded_by_a_high_level_rule_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answer = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    rule = tmp_path / "high.yml"
    rule.write_text(
        "title: Access key for another user\nid: 5f0c9d1e-0000-4000-8000-0000000000ee\nauthor: ircreds tests\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: CreateAccessKey}, condition: sel}\nlevel: high\n"
    )
    assert main(["scope", str(WALKTHROUGH), "--sigma", str(rule), "--no-plan", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert answer["leaked_access_key_id"] in out["seeds"]["keys"]
    assert answer["leaked_access_key_id"] in {c["access_key_id"] for c in out["compromised"]}
    assert out["sigma_hits"]
    assert {h["title"] for h in out["sigma_hits"]} == {"Access key for another user"}
