"""``ircreds demo`` runs the whole walkthrough offline: load, trace, plan, sandbox apply, read-back, verify, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "data" / "samples" / "walkthrough"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the command as README's first line does, in a clean environment with no AWS config and no route out.

    Every proxy points at a closed local port and only 127.0.0.1 bypasses it, so any attempt to reach
    AWS or the internet fails instead of passing silently.
    """
    home = tmp_path_factory.mktemp("home")
    out = home / "demo-out"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ircreds"), "demo", "--out", str(out)],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result, out


def test_demo_succeeds_offline_without_an_aws_account(demo) -> None:
    result, _ = demo
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr


def test_demo_traces_the_answer_keys_leaked_key_to_its_issuer(demo) -> None:
    result, _ = demo
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    assert key["leaked_access_key_id"] in result.stdout
    assert f"by {key['issuer_arn']}" in result.stdout
    assert f"cut-off {key['cutoff']}" in result.stdout
    for chained in key["chained_access_key_ids"] + key["minted_access_key_ids"]:
        assert f"spawned {chained}" in result.stdout


def test_demo_writes_the_planned_policies_to_the_sandbox_and_reads_them_back(demo) -> None:
    result, out = demo
    records = list((out / "actions").glob("*-apply-*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["dry_run"] is False
    assert record["where"]["endpoint_url"].startswith("http://127.0.0.1:")
    written = {c["target"]: c for c in record["changes"]}
    assert set(written) == {"ExampleRole", "DataPipelineRole"}
    for change in written.values():
        assert change["readback_ok"] is True
        assert (
            change["after"]["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
            == "2025-01-20T12:00:00Z"
        )
    assert result.stdout.count("read back: identical to the plan") == 2


def test_demo_writes_the_report_and_points_to_the_notebooks(demo) -> None:
    result, out = demo
    report = out / "incident-report.html"
    assert report.is_file()
    text = report.read_text()
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())
    assert key["leaked_access_key_id"] in text
    assert "sessionToken" not in text or "<redacted>" in text
    assert f"Report: {report.resolve()}" in result.stdout
    assert "jupyter lab notebooks/" in result.stdout.splitlines()[-1]


def test_demo_refuses_a_file_as_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ircreds.cli import main

    target = tmp_path / "report.html"
    target.write_text("x")
    assert main(["demo", "--out", str(target)]) == 1
    assert "is a file" in capsys.readouterr().err
