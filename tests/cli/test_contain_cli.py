"""``ircreds policy | plan | apply | rollback | audit | sandbox`` end to end (a real moto server)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the shared tests/_contain incident

from _contain import incident as inc

from ircreds.cli import main
from ircreds.containment.policy import POLICY_NAME, cutoff_policy
from ircreds.sandbox import start_sandbox


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "trail.json").write_text(json.dumps({"Records": inc.records()}))
    (folder / "account.json").write_text(json.dumps(inc.account_json()))
    return folder


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch):
    with start_sandbox(inc.account_json()) as sb:
        key_id, secret = sb.credentials
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        yield sb


def _plan_argv(evidence: Path, *more: str, cutoff: str = "2025-01-20T12:00:00Z") -> list[str]:
    """``ircreds plan`` argv for K1 in ``evidence`` with the cut-off ``cutoff``, as if it were noon."""
    return [
        "plan",
        str(evidence),
        "--key",
        inc.K1,
        "--cutoff",
        cutoff,
        "--now",
        "2025-01-20T12:00:00Z",
        *more,
    ]


def _against(sandbox, records: Path) -> list[str]:
    """``apply``/``rollback`` options that point at the sandbox and keep action records in ``records``."""
    return ["--endpoint-url", sandbox.endpoint_url, "--record-dir", str(records)]


def test_policy_prints_the_console_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--cutoff", "2025-01-20T13:00:00+01:00"]) == 0
    assert json.loads(capsys.readouterr().out) == cutoff_policy(inc.NOON)


def test_policy_refuses_a_time_without_zone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["policy", "--cutoff", "2025-01-20T12:00:00"])
    assert caught.value.code == 2
    assert "no time zone" in capsys.readouterr().err


def test_policy_narrower_session_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--cutoff", "now", "--session", "AROAEXAMPLEROLE0EXAMPLE:devuser"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["Statement"][0]["Condition"] == {
        "StringLike": {"aws:userid": ["AROAEXAMPLEROLE0EXAMPLE:devuser"]}
    }


def test_plan_json_contract(evidence: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_plan_argv(evidence, "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cutoff"] == "2025-01-20T12:00:00Z"
    assert [r["target"] for r in data["revocations"]] == ["ExampleRole", "DataPipelineRole"]
    first = data["revocations"][0]
    assert set(first) >= {"target", "arn", "policy_name", "policy", "cuts", "survives"}
    assert {c["access_key_id"] for c in first["cuts"]} == {inc.K1, inc.K4}
    assert {u["target"] for u in data["uncovered"]} >= {inc.K3, "backup-svc"}
    assert isinstance(data["warnings"], list)


def test_plan_readable_output_and_out_file(
    evidence: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    assert main(_plan_argv(evidence, "--out", str(out), cutoff="2025-01-20T11:10:00Z")) == 0
    text = capsys.readouterr().out
    assert "role ExampleRole" in text
    assert "attacker-session-survives" in text
    assert inc.K3 in text
    assert json.loads(out.read_text())["cutoff"] == "2025-01-20T11:10:00Z"


def test_plan_unknown_key_is_one_line_on_stderr(evidence: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(evidence), "--key", "ASIANOTTHERE0EXAMPLE"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ircreds plan: ")
    assert err.count("\n") == 1


def test_apply_dry_run_then_yes_then_rollback(
    evidence: Path, sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    records = tmp_path / "records"
    main(_plan_argv(evidence, "--out", str(plan_file)))
    capsys.readouterr()
    iam = sandbox.client("iam")

    assert main(["apply", str(plan_file), *_against(sandbox, records)]) == 0
    dry = capsys.readouterr().out
    assert "dry run: nothing was changed" in dry
    assert "2025-01-20T12:00:00Z" in dry
    assert POLICY_NAME not in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]
    assert not records.exists()

    assert main(["apply", str(plan_file), "--yes", *_against(sandbox, records)]) == 0
    done = capsys.readouterr().out
    assert "every document is in place" in done
    [record] = records.glob("*-apply-*.json")
    assert str(record) in done
    stored = iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == cutoff_policy(inc.NOON)

    assert main(["audit", "--endpoint-url", sandbox.endpoint_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cutoffs"]["ExampleRole"] == "2025-01-20T12:00:00Z"

    assert main(["rollback", str(record), "--yes", *_against(sandbox, records)]) == 0
    capsys.readouterr()
    assert POLICY_NAME not in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]


def test_apply_refuses_a_missing_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", str(tmp_path / "nope.json")]) == 1
    assert "cannot read plan" in capsys.readouterr().err


def test_sandbox_command_prints_endpoint_and_stops_on_signal(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    (scenario / "account.json").write_text(json.dumps(inc.account_json()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ircreds.cli import main; sys.exit(main())",
            "sandbox",
            "--scenario",
            str(scenario),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        match = re.search(r"account (\d+) at (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        assert match.group(1) == inc.ACCOUNT
        lines = [proc.stdout.readline() for _ in range(5)]
        export = next(line for line in lines if "export AWS_ACCESS_KEY_ID=" in line)
        key_id = re.search(r"AWS_ACCESS_KEY_ID=(\S+)", export).group(1)
        secret = re.search(r"AWS_SECRET_ACCESS_KEY=(\S+)", export).group(1)
        import boto3

        sts = boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
        ).client("sts", endpoint_url=match.group(2))
        assert sts.get_caller_identity()["Account"] == inc.ACCOUNT
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "sandbox stopped" in out
    assert "GET /" not in err
    assert "POST /" not in err
