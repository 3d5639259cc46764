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
