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


# ------------------------------------------------------------------ one rule for now, stale evidence


def test_plan_on_the_sample_without_now_is_judged_at_the_real_clock_and_says_stale_evidence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = Path(__file__).resolve().parents[2] / "data" / "samples" / "walkthrough"
    key = json.loads((sample / "answer_key.json").read_text())["leaked_access_key_id"]
    assert main(["plan", str(sample), "--key", key, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["now_source"] == "clock"
    stale = [w for w in data["warnings"] if w["code"] == "stale-evidence"]
    assert len(stale) == 1
    assert "--as-of evidence-end" in stale[0]["message"]
    assert main(["plan", str(sample), "--key", key, "--as-of", "evidence-end", "--json"]) == 0
    as_of = json.loads(capsys.readouterr().out)
    assert as_of["now"] == as_of["evidence_end"] == key_end(sample)
    assert as_of["now_source"] == "evidence-end"
    assert "stale-evidence" not in {w["code"] for w in as_of["warnings"]}


def key_end(sample: Path) -> str:
    import ircreds

    return ircreds.load(sample)["eventTime"].max().strftime("%Y-%m-%dT%H:%M:%SZ")


def test_plan_readable_output_says_where_now_came_from(
    evidence: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(evidence), "--key", inc.K1]) == 0
    out = capsys.readouterr().out
    assert "now: " in out
    assert "(the real clock; --now T or --as-of evidence-end" in out
    assert "[stale-evidence]" in out
    assert main(_plan_argv(evidence)) == 0
    assert "now: 2025-01-20T12:00:00Z  (--now)" in capsys.readouterr().out


def test_plan_refuses_now_and_as_of_together(evidence: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(_plan_argv(evidence, "--as-of", "evidence-end"))
    assert "not allowed with argument" in capsys.readouterr().err


# --------------------------------------------------------- plans and records are untrusted input


def _edited_plan(evidence: Path, tmp_path: Path, edit) -> Path:
    plan_file = tmp_path / "plan.json"
    main(_plan_argv(evidence, "--out", str(plan_file)))
    data = json.loads(plan_file.read_text())
    edit(data)
    plan_file.write_text(json.dumps(data))
    return plan_file


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _set(path: str, value):
    def edit(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            _set("revocations.0.policy_name", "RequireMFA"),
            "revocations[0] (ExampleRole): policy_name 'RequireMFA'",
        ),
        (
            _set("revocations.0.policy", ALLOW_ALL),
            "revocations[0] (ExampleRole): policy is not the cut-off deny",
        ),
        (
            _set("revocations.0.policy", cutoff_policy(inc.K2_ISSUED)),
            "policy's aws:TokenIssueTime 2025-01-20T11:10:09Z differs from the plan's cutoff 2025-01-20T12:00:00Z",
        ),
        (_set("revocations.0.target", "../Admin"), "target '../Admin' is not an IAM role name"),
        (_set("revocations.0.target", "team/Admin"), "target 'team/Admin' is not an IAM role name"),
        (
            _set("revocations.0.account_id", "999988887777"),
            "account_id 999988887777 differs from the account",
        ),
        (
            _set("revocations.0.arn", "arn:aws:iam::999988887777:role/ExampleRole"),
            "account_id 111122223333 differs from the account 999988887777",
        ),
    ],
    ids=["policy-name", "allow-all", "other-date", "dotdot", "slash", "account-field", "other-account-arn"],
)
def test_apply_refuses_a_hand_edited_plan_before_any_aws_call(
    evidence: Path, sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit, says: str
) -> None:
    plan_file = _edited_plan(evidence, tmp_path, edit)
    capsys.readouterr()
    records = tmp_path / "records"
    assert main(["apply", str(plan_file), "--yes", *_against(sandbox, records)]) == 1
    captured = capsys.readouterr()
    assert "SHA-256 no longer matches" in captured.err  # the digest tells it was edited
    error = captured.err.splitlines()[-1]
    assert error.startswith("ircreds apply: ")
    assert says in error
    assert "Traceback" not in captured.err
    iam = sandbox.client("iam")
    for role in ("ExampleRole", "DataPipelineRole"):
        assert POLICY_NAME not in iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert not records.exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[1, 2]", "the file holds a list, not an object"),
        ('{"revocations": "abc"}', "revocations must be a list, got a string ('abc')"),
        (
            '{"revocations": [{"target": "ExampleRole", "policy": []}]}',
            "revocations[0].policy must be a policy document",
        ),
        (
            '{"revocations": [{"target": "R", "arn": "a", "policy": {}, "cuts": "x"}]}',
            "revocations[0].cuts must be a list",
        ),
    ],
)
def test_apply_names_what_is_wrong_in_a_malformed_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, says: str
) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(content)
    assert main(["apply", str(plan_file)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert says in err
    assert str(plan_file) in err


def test_an_untouched_plan_file_raises_no_digest_warning(
    evidence: Path, sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    main(_plan_argv(evidence, "--out", str(plan_file)))
    assert json.loads(plan_file.read_text())["sha256"]
    capsys.readouterr()
    assert main(["apply", str(plan_file), *_against(sandbox, tmp_path / "records")]) == 0
    captured = capsys.readouterr()
    assert "SHA-256" not in captured.err
    assert captured.out.startswith("REHEARSAL against http://127.0.0.1:")


def _applied_record(evidence: Path, sandbox, tmp_path: Path) -> Path:
    plan_file = tmp_path / "plan.json"
    main(_plan_argv(evidence, "--out", str(plan_file)))
    assert main(["apply", str(plan_file), "--yes", *_against(sandbox, tmp_path / "records")]) == 0
    [record] = (tmp_path / "records").glob("*-apply-*.json")
    return record


def test_rollback_refuses_a_record_of_another_endpoint(
    evidence: Path, sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = _applied_record(evidence, sandbox, tmp_path)
    # another endpoint URL (one moto server per process: the same server under another name stands in
    # for another target); the record's endpoint differs, so nothing is rolled back
    other = sandbox.endpoint_url.replace("127.0.0.1", "localhost")
    capsys.readouterr()
    argv = ["rollback", str(record), "--yes", "--endpoint-url", other, "--record-dir", str(tmp_path / "r2")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"the record was written with endpoint {sandbox.endpoint_url}" in err
    assert f"this rollback runs with endpoint {other}" in err
    assert err.count("\n") == 1
    iam = sandbox.client("iam")
    assert POLICY_NAME in iam.list_role_policies(RoleName="ExampleRole")["PolicyNames"]  # the cut-off stays
    assert not (tmp_path / "r2").exists()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_set("changes.0.before", ALLOW_ALL), "the record's before document is not a cut-off deny"),
        (
            _set("changes.0.policy_name", "RequireMFA"),
            "policy_name 'RequireMFA' is not ircreds' own inline policy",
        ),
        (_set("changes.0.target", "../ExampleRole"), "target '../ExampleRole' is not an IAM role name"),
        (_set("where.account_id", "999988887777"), "differs from the account 111122223333"),
        (_set("changes", "abc"), "changes must be a list, got a string ('abc')"),
    ],
    ids=["before-allow-all", "policy-name", "dotdot", "account", "changes-string"],
)
def test_rollback_refuses_a_hand_edited_record(
    evidence: Path, sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit, says: str
) -> None:
    record = _applied_record(evidence, sandbox, tmp_path)
    data = json.loads(record.read_text())
    edit(data)
    record.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["rollback", str(record), "--yes", *_against(sandbox, tmp_path / "records")]) == 1
    err = capsys.readouterr().err
    assert "SHA-256 no longer matches" in err or "changes must be a list" in err
    assert says in err.splitlines()[-1]
    assert "Traceback" not in err
    iam = sandbox.client("iam")
    stored = iam.get_role_policy(RoleName="ExampleRole", PolicyName=POLICY_NAME)["PolicyDocument"]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == cutoff_policy(inc.NOON)


def test_rollback_of_a_list_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "record.json"
    record.write_text("[]")
    assert main(["rollback", str(record)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holds a list, not an object" in err


def test_apply_writes_records_to_the_documented_default_folder_and_prints_it(
    evidence: Path,
    sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_file = tmp_path / "plan.json"
    main(_plan_argv(evidence, "--out", str(plan_file)))
    monkeypatch.setenv("IRCREDS_RECORD_DIR", str(tmp_path / "case-actions"))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["apply", str(plan_file), "--yes", "--endpoint-url", sandbox.endpoint_url]) == 0
    out = capsys.readouterr().out
    [record] = (tmp_path / "case-actions").glob("*-apply-*.json")
    assert f"action record: {record}" in out
    assert not (tmp_path / "ircreds-actions").exists()  # never the current folder
    monkeypatch.delenv("IRCREDS_RECORD_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert main(["rollback", str(record), "--yes", "--endpoint-url", sandbox.endpoint_url]) == 0
    assert list((tmp_path / "xdg" / "ircreds" / "actions").glob("*-rollback-*.json"))
