"""`ircreds trace` and `ircreds sessions` on files, through the real command entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from findings.records import ATTACKER_IP, K1, K2, K3, leak_story

from ircreds.cli import main


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    folder = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2025" / "01" / "20"
    folder.mkdir(parents=True)
    (folder / "111122223333_CloudTrail_us-east-1_20250120T1200Z_EXAMPLE.json").write_text(
        json.dumps({"Records": leak_story()})
    )
    return tmp_path


def test_trace_json_prints_the_contract_with_children(
    trail: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", str(trail), "--key", K1, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key"] == K1
    assert out["root"]["name"] == "DevUser"
    assert out["session"]["issuer"]["name"] == "DevUser"
    assert {c["key"] for c in out["children"]} == {K2, K3}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out["session"]["issued_at"])
    assert ATTACKER_IP in out["calls"]["source_ips"]
    assert any(f["id"] == "iam_persistence" for f in out["findings"])


def test_trace_without_json_prints_a_readable_summary(
    trail: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", str(trail), "--key", K1]) == 0
    out = capsys.readouterr().out
    assert "root: IAMUser DevUser" in out
    assert f"{ATTACKER_IP} first at" in out
    assert K3 in out


def test_trace_by_role_and_session_name(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    role = "arn:aws:iam::111122223333:role/DataPipelineRole"
    assert main(["trace", str(trail), "--role", role, "--session-name", "pipe", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key"] == K2


def test_trace_unknown_key_is_one_line_on_stderr(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", str(trail), "--key", "ASIAQEXAMPLEUNKNOWN1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ASIAQEXAMPLEUNKNOWN1" in err
    assert "Traceback" not in err


def test_sessions_json_lists_every_credential(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(trail), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["access_key_id"] for r in rows} == {K1, K2, K3, "AKIAIOSFODNN7EXAMPLE"}
    k2 = next(r for r in rows if r["access_key_id"] == K2)
    assert k2["parent_key"] == K1
    assert k2["issued_at"].endswith("Z")


def test_sessions_gain_source_ips_account_and_finding_counts(
    trail: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", str(trail), "--json"]) == 0
    rows = {r["access_key_id"]: r for r in json.loads(capsys.readouterr().out)}
    k1 = rows[K1]
    assert k1["account_id"] == "111122223333"
    assert len(k1["source_ips"]) >= 2  # the owner's address and the attacker's
    assert k1["findings"] >= k1["high_findings"] >= 1
    assert main(["sessions", str(trail), "--no-findings"]) == 0
    out = capsys.readouterr().out
    assert "source IPs" in out
    assert k1["source_ips"][0] in out


def test_sessions_role_filter_and_table(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sessions", str(trail), "--role", "arn:aws:iam::111122223333:role/ExampleRole"]) == 0
    out = capsys.readouterr().out
    assert K1 in out
    assert K2 not in out
    assert "1 credential(s)" in out


def test_readme_trace_section_uses_the_walkthroughs_leaked_key() -> None:
    from conftest import REPO, SAMPLES

    section = (
        (REPO / "README.md")
        .read_text()
        .split("<!-- section:trace -->", 1)[1]
        .split("<!-- /section:trace -->")[0]
    )
    key = json.loads((SAMPLES / "walkthrough" / "answer_key.json").read_text())["leaked_access_key_id"]
    assert f"--key {key}" in section
    assert main(["trace", str(SAMPLES / "walkthrough"), "--key", key, "--json"]) == 0
