"""The post-incident report: sections, figures, indicators, containment, evidence, no secrets."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import story

import ircreds
from ircreds.evidence import integrity
from ircreds.report import Report, render, scrub
from ircreds.scenarios import TWISTS

ACCT = "111122223333"
USER_ARN = f"arn:aws:iam::{ACCT}:user/DevUser"
ROLE = f"arn:aws:iam::{ACCT}:role/ExampleRole"
ROLE2 = f"arn:aws:iam::{ACCT}:role/DataPipelineRole"
BACKUP_ARN = f"arn:aws:iam::{ACCT}:user/backup-svc"
K0 = "AKIAIOSFODNN7EXAMPLE"
K1 = "ASIAK1EXAMPLE0000001"
K2 = "ASIAK2EXAMPLE0000002"
K3 = "AKIAK3EXAMPLE0000003"
OFFICE = "198.51.100.10"
ATTACKER = "203.0.113.66"
THIRD = "192.0.2.99"
CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22"
PACU = "[Boto3/1.7.48 Python/3.7.0 Windows/10 Botocore/1.10.48]"
TOKENS = ("EXAMPLE-SESSION-TOKEN-0a1b2c3d4e5f60718293", "EXAMPLE-SESSION-TOKEN-9f8e7d6c5b4a39281706")
SECTIONS = {
    "summary": "1. Summary",
    "timeline": "2. Timeline",
    "lineage": "3. Lineage",
    "indicators": "4. Indicators",
    "findings": "5. Findings",
    "key-calls": "6. Key calls",
    "containment": "7. Containment",
    "evidence": "8. Evidence",
    "method": "9. Method and caveats",
}


def _eid(n: int) -> str:
    return story.event_id(n)


def _user(key: str = K0) -> dict[str, Any]:
    return story.user_identity("DevUser", key, account=ACCT, principal_id="AIDAEXAMPLEDEVUSER01")


def _session(key: str, role: str, name: str, created: str) -> dict[str, Any]:
    role_name = role.rsplit("/", 1)[-1]
    role_id = f"AROAEXAMPLE{role_name.upper()[:6]}"
    return story.role_identity(
        key, role_name, name, created, account=ACCT, role_id=role_id, federation_data=False
    )


def _rec(
    n: int, when: str, name: str, source: str, ident: dict, ip: str, ua: str, **kw: Any
) -> dict[str, Any]:
    return story.record(
        ident,
        name,
        when,
        source=source,
        ip=ip,
        ua=ua,
        region=kw.get("region", "us-east-1"),
        request=kw.get("req"),
        response=kw.get("resp"),
        request_id=story.request_id(n),
        event_id=_eid(n),
        read_only=kw.get("ro", True),
        recipient=ACCT,
        error=kw.get("err"),
        error_message="not authorized",
    )


def _assume_role(key: str, when: str, role: str, session: str, seconds: int, token: str) -> dict[str, Any]:
    """requestParameters and responseElements of an AssumeRole of this story."""
    request, response = story.assume_role_parts(
        key,
        datetime.fromisoformat(when),
        role=role.rsplit("/", 1)[-1],
        session=session,
        role_id=f"AROAEXAMPLE{role.rsplit('/', 1)[-1].upper()[:6]}",
        account=ACCT,
        duration=seconds,
        token=token,
    )
    return {"req": request, "resp": response}


def incident_records() -> list[dict[str, Any]]:
    """The DESIGN story in 12 records: DevUser's K1 leaks, chains to K2, mints K3; 12:00 cut-off."""
    k1 = _session(K1, ROLE, "dev-session", "2025-01-20T09:14:27Z")
    k2 = _session(K2, ROLE2, "pipeline", "2025-01-20T11:20:00Z")
    k3 = story.user_identity("backup-svc", K3, account=ACCT, principal_id="AIDAEXAMPLEBACKUP001")
    responder = story.user_identity(
        "responder", "AKIAIOSFODNN7RESPOND", account=ACCT, principal_id="AIDAEXAMPLERESPOND1"
    )
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-01-20T12:00:00Z"}},
            }
        ],
    }

    return [
        _rec(
            1,
            "2025-01-20T09:14:27Z",
            "AssumeRole",
            "sts.amazonaws.com",
            _user(),
            OFFICE,
            CLI,
            **_assume_role(K1, "2025-01-20T09:14:27Z", ROLE, "dev-session", 43200, TOKENS[0]),
        ),
        _rec(2, "2025-01-20T09:20:00Z", "ListBuckets", "s3.amazonaws.com", k1, OFFICE, CLI),
        _rec(3, "2025-01-20T11:02:00Z", "GetCallerIdentity", "sts.amazonaws.com", k1, ATTACKER, PACU),
        _rec(
            4,
            "2025-01-20T11:05:00Z",
            "DescribeInstances",
            "ec2.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            err="Client.UnauthorizedOperation",
            region="eu-west-1",
        ),
        _rec(
            5,
            "2025-01-20T11:06:00Z",
            "GetBucketPolicy",
            "s3.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            req={"bucketName": "example-secrets"},
        ),
        _rec(
            6,
            "2025-01-20T11:20:00Z",
            "AssumeRole",
            "sts.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            **_assume_role(K2, "2025-01-20T11:20:00Z", ROLE2, "pipeline", 3600, TOKENS[1]),
        ),
        _rec(7, "2025-01-20T11:25:00Z", "ListTables", "dynamodb.amazonaws.com", k2, ATTACKER, PACU),
        _rec(
            8,
            "2025-01-20T11:30:00Z",
            "CreateUser",
            "iam.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            ro=False,
            req={"userName": "backup-svc"},
            resp={"user": {"userName": "backup-svc", "userId": "AIDAEXAMPLEBACKUP001", "arn": BACKUP_ARN}},
        ),
        _rec(
            9,
            "2025-01-20T11:31:00Z",
            "CreateAccessKey",
            "iam.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            ro=False,
            req={"userName": "backup-svc"},
            resp={"accessKey": {"accessKeyId": K3, "status": "Active", "userName": "backup-svc"}},
        ),
        _rec(10, "2025-01-20T11:40:00Z", "ListBuckets", "s3.amazonaws.com", k3, THIRD, PACU),
        _rec(
            11,
            "2025-01-20T12:00:00Z",
            "PutRolePolicy",
            "iam.amazonaws.com",
            responder,
            OFFICE,
            CLI,
            ro=False,
            req={
                "roleName": "ExampleRole",
                "policyName": "AWSRevokeOlderSessions",
                "policyDocument": json.dumps(deny),
            },
        ),
        _rec(
            12,
            "2025-01-20T12:05:00Z",
            "ListBuckets",
            "s3.amazonaws.com",
            k1,
            ATTACKER,
            PACU,
            err="AccessDenied",
        ),
    ]


def tokens_in(obj: Any) -> Iterator[str]:
    """Every sessionToken value anywhere in a record structure."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "sessionToken" and isinstance(value, str):
                yield value
            else:
                yield from tokens_in(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from tokens_in(item)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return ircreds.load(incident_records())


@pytest.fixture(scope="module")
def trace(events: pd.DataFrame) -> Any:
    return ircreds.trace(events, K1)


def _render(trace: Any, events: pd.DataFrame, **kw: Any) -> Report:
    kw.setdefault("figures", False)
    return render(trace, events=events, **kw)


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_report_has_every_section(trace: Any, events: pd.DataFrame, fmt: str) -> None:
    text = _render(trace, events, fmt=fmt).text
    for anchor, heading in SECTIONS.items():
        if fmt == "html":
            assert f'<section id="{anchor}">' in text
            assert f"<h2>{heading}</h2>" in text
        else:
            assert f"\n## {heading}\n" in text


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_no_session_token_in_any_output(trace: Any, events: pd.DataFrame, fmt: str, tmp_path: Path) -> None:
    secrets = set(tokens_in(incident_records()))
    assert len(secrets) == 2
    report = _render(trace, events, fmt=fmt, command="ircreds report logs --key " + K1)
    written = report.save(tmp_path / f"r.{fmt}")
    assert len(written) == 4  # report + indicators CSV + JSON + evidence manifest
    for path in written:
        blob = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in blob, path


def test_scrub_redacts_a_token_that_reaches_the_text(trace: Any, events: pd.DataFrame) -> None:
    command = f"AWS_SESSION_TOKEN=x aws_session_token={TOKENS[0]} ircreds report"
    report = _render(trace, events, fmt="md", command=command)
    assert TOKENS[0] not in report.text
    # Markdown-escaped (the command holds "<"), it shows as aws_session_token=<redacted>
    assert "aws\\_session\\_token=\\<redacted\\>" in report.text


def test_summary_names_the_leak_its_issuer_and_first_misuse(trace: Any, events: pd.DataFrame) -> None:
    s = _render(trace, events, fmt="md").data["summary"]
    assert s["leaked"]["access_key_id"] == K1
    assert s["leaked"]["role_arn"] == ROLE
    assert s["issued_at"] == "2025-01-20T09:14:27Z"
    assert s["issuer"]["arn"] == USER_ARN
    assert s["issuing_event_id"] == _eid(1)
    assert s["first_misuse"]["event_id"] == _eid(3)
    assert s["first_misuse"]["source_ip"] == ATTACKER
    assert set(s["attacker_ips"]) == {ATTACKER, THIRD}


def test_time_to_contain_comes_from_the_deny_in_the_logs(trace: Any, events: pd.DataFrame) -> None:
    detected = datetime(2025, 1, 20, 11, 45, tzinfo=UTC)
    s = _render(trace, events, fmt="md", detected_at=detected).data["summary"]
    assert s["contained_at"] == "2025-01-20T12:00:00Z"
    assert s["time_to_contain"] == 58 * 60  # 11:02 first misuse -> 12:00 deny
    assert s["time_to_detect"] == 43 * 60
    assert s["time_from_detect_to_contain"] == 15 * 60
    assert s["exposure"]["leaked_key_ended"] == "2025-01-20T12:00:00Z"


def test_exposure_stays_open_while_a_lineage_credential_is_usable(trace: Any, events: pd.DataFrame) -> None:
    report = _render(trace, events, fmt="md")  # as of 12:05: K2 valid until 12:20, K3 never expires
    exposure = report.data["summary"]["exposure"]
    assert exposure["start"] == "2025-01-20T11:02:00Z"
    assert exposure["ongoing"] is True
    assert exposure["end"] is None
    assert set(exposure["active_credentials"]) == {K2, K3}
    assert report.data["summary"]["contained"] is False
    assert "containment incomplete: 2 credential(s) still valid" in report.text


def test_exposure_ends_when_the_last_credential_stops_working() -> None:
    delete = _rec(
        13,
        "2025-01-20T12:30:00Z",
        "DeleteAccessKey",
        "iam.amazonaws.com",
        _user(),
        OFFICE,
        CLI,
        ro=False,
        req={"userName": "backup-svc", "accessKeyId": K3},
    )
    more = ircreds.load([*incident_records(), delete])
    data = render(
        ircreds.trace(more, K1),
        events=more,
        fmt="md",
        figures=False,
        now=datetime(2025, 1, 20, 13, tzinfo=UTC),
    ).data
    exposure = data["summary"]["exposure"]
    assert exposure["ongoing"] is False
    assert exposure["end"] == "2025-01-20T12:30:00Z"  # K3 deleted last (K1 cut 12:00, K2 expired 12:20)
    assert exposure["seconds"] == 88 * 60
    assert data["summary"]["contained"] is True


def test_without_containment_the_leaked_key_stays_valid(events: pd.DataFrame) -> None:
    before_deny = events[events["eventName"] != "PutRolePolicy"]
    tr = ircreds.trace(before_deny, K1)
    report = render(tr, events=before_deny, fmt="md", figures=False)
    s = report.data["summary"]
    assert s["contained_at"] is None
    assert s["exposure"]["ongoing"] is True
    assert s["exposure"]["leaked_key_state"] == "VALID until 2025-01-20T21:14:27Z: no deny covers it"
    assert "no containment in the evidence or action record" in report.text


@pytest.mark.parametrize(
    ("now", "k2_state"),
    [
        (datetime(2025, 1, 20, 12, 10, tzinfo=UTC), "VALID until 2025-01-20T12:20:00Z"),
        (datetime(2025, 1, 20, 13, 0, tzinfo=UTC), "expired at 2025-01-20T12:20:00Z"),
    ],
)
def test_current_state_of_each_credential(
    trace: Any, events: pd.DataFrame, now: datetime, k2_state: str
) -> None:
    rows = {c["access_key_id"]: c for c in _render(trace, events, fmt="md", now=now).data["credentials"]}
    assert rows[K1]["state"] == (
        "cut off at 2025-01-20T12:00:00Z by AWSRevokeOlderSessions on ExampleRole"
        " (would have expired at 2025-01-20T21:14:27Z)"
    )
    assert rows[K1]["active"] is False
    assert rows[K2]["state"].startswith(k2_state)
    assert rows[K3]["state"].startswith("VALID: long-term key")
    assert rows[K3]["active"] is True


def test_deleted_minted_key_is_shown_deleted(events: pd.DataFrame) -> None:
    admin = _user()
    delete = _rec(
        13,
        "2025-01-20T12:30:00Z",
        "DeleteAccessKey",
        "iam.amazonaws.com",
        admin,
        OFFICE,
        CLI,
        ro=False,
        req={"userName": "backup-svc", "accessKeyId": K3},
    )
    more = ircreds.load([*incident_records(), delete])
    data = render(ircreds.trace(more, K1), events=more, fmt="md", figures=False).data
    states = {c["access_key_id"]: c["state"] for c in data["credentials"]}
    assert states[K3] == "deleted or deactivated at 2025-01-20T12:30:00Z"


def test_indicators_flag_attacker_values_and_keep_the_issuers_ip_unflagged(
    trace: Any, events: pd.DataFrame
) -> None:
    rows = _render(trace, events, fmt="md").data["indicators"]
    by = {(r["type"], r["value"]): r for r in rows}
    assert by[("source_ip", ATTACKER)]["suspicious"] is True
    assert by[("source_ip", THIRD)]["suspicious"] is True
    assert by[("source_ip", OFFICE)]["suspicious"] is False
    assert by[("user_agent", PACU.strip("[]"))]["suspicious"] is True  # S3's [...] wrapping removed
    assert by[("user_agent", CLI)]["suspicious"] is False
    assert {v for (t, v) in by if t == "access_key_id"} == {K1, K2, K3}
    assert {v for (t, v) in by if t == "region"} == {"us-east-1", "eu-west-1"}
    created = {v for (t, v) in by if t == "principal_created"}
    assert BACKUP_ARN in created
    assert K3 in created
    assert by[("source_ip", ATTACKER)]["first_seen"] == "2025-01-20T11:02:00Z"


def test_indicator_appendix_csv_and_json_hold_the_same_rows(trace: Any, events: pd.DataFrame) -> None:
    report = _render(trace, events, fmt="md", stem="incident")
    assert set(report.assets) == {
        "incident-indicators.csv",
        "incident-indicators.json",
        "incident-evidence.csv",
    }
    as_json = json.loads(report.assets["incident-indicators.json"])
    as_csv = list(csv.DictReader(io.StringIO(report.assets["incident-indicators.csv"].decode())))
    assert as_json["key"] == K1
    assert [(r["type"], r["value"]) for r in as_json["indicators"]] == [
        (r["type"], r["value"]) for r in as_csv
    ]
    assert {r["suspicious"] for r in as_csv} == {"true", "false"}
    assert "(incident-indicators.csv)" in report.text


def test_key_calls_list_findings_then_writes_then_sensitive_reads(trace: Any, events: pd.DataFrame) -> None:
    rows = _render(trace, events, fmt="md").data["key_calls"]["rows"]
    order = {"finding": 0, "write": 1, "sensitive": 2, "read": 3}
    ranks = [order[r["why"]] for r in rows]
    assert ranks == sorted(ranks)
    by_id = {r["event_id"]: r for r in rows}
    assert by_id[_eid(9)]["why"] in ("finding", "write")  # CreateAccessKey
    assert by_id[_eid(2)]["why"] == "sensitive"  # the issuer's own ListBuckets
    assert all(r["event_id"] for r in rows)


def test_key_calls_are_capped_and_say_how_many_were_left_out(trace: Any, events: pd.DataFrame) -> None:
    report = _render(trace, events, fmt="md", max_calls=3)
    k = report.data["key_calls"]
    assert (k["shown"], k["omitted"]) == (3, k["total"] - 3)
    assert f"3 of {k['total']} shown" in report.text


def test_findings_carry_severity_mitre_and_event_ids(trace: Any, events: pd.DataFrame) -> None:
    report = _render(trace, events, fmt="html")
    findings = report.data["findings"]
    assert findings, "the incident must raise findings"
    ranks = ["critical", "high", "medium", "low", "info"]
    assert [ranks.index(f["severity"]) for f in findings] == sorted(
        ranks.index(f["severity"]) for f in findings
    )
    persistence = [f for f in findings if _eid(9) in f["event_ids"]]
    assert persistence
    assert persistence[0]["mitre"]
    assert persistence[0]["title"] in report.text
    assert _eid(9) in report.text


def _action_record(
    when: str, *, dry_run: bool = False, action: str = "apply", endpoint_url: str | None = None
) -> dict[str, Any]:
    """The shape ``ircreds.aws.apply`` writes (ActionRecord.to_dict); AWS itself unless ``endpoint_url``."""
    return {
        "action": action,
        "dry_run": dry_run,
        "who": f"arn:aws:iam::{ACCT}:user/responder",
        "when": when,
        "where": {
            "account_id": ACCT,
            "endpoint_url": endpoint_url,
            "profile": None,
            "region": "us-east-1",
        },
        "cutoff": "2025-01-20T12:00:00Z",
        "plan_key": K1,
        "changes": [
            {
                "target": "ExampleRole",
                "target_kind": "role",
                "arn": ROLE,
                "policy_name": "AWSRevokeOlderSessions",
                "operation": "put",
                "before": {"Version": "2012-10-17", "Statement": [{"Sid": "before-doc", "Effect": "Allow"}]},
                "after": {"Version": "2012-10-17", "Statement": [{"Sid": "after-doc", "Effect": "Deny"}]},
                "readback_ok": True,
                "other_inline": [],
                "attached": [],
            }
        ],
    }


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_containment_section_shows_plan_actions_and_what_remains(
    trace: Any, events: pd.DataFrame, fmt: str
) -> None:
    from ircreds.containment import plan

    cutoff = datetime(2025, 1, 20, 12, tzinfo=UTC)
    the_plan = plan(trace, cutoff, now=datetime(2025, 1, 20, 12, 10, tzinfo=UTC), events=events)
    report = _render(trace, events, fmt=fmt, plan=the_plan, actions=[_action_record("2025-01-20T11:58:00Z")])
    text = report.text
    c = report.data["containment"]
    assert c["cutoff"] == "2025-01-20T12:00:00Z"
    assert {r["arn"] for r in c["revocations"]} == {ROLE, ROLE2}
    assert K1 in {s["access_key_id"] for r in c["revocations"] for s in r["cuts"]}
    remaining = {u["target"] for u in c["remaining"]}
    assert {"backup-svc", K3} <= remaining
    for u in the_plan.uncovered:
        assert u.target in text
    for w in the_plan.warnings:
        assert (w.message if fmt == "md" else w.message.replace("'", "&#39;")) in text
    assert "after-doc" in text
    assert "before-doc" in text
    assert f"arn:aws:iam::{ACCT}:user/responder" in text
    assert c["denies_in_logs"] == [
        {
            "target": "ExampleRole",
            "kind": "role",
            "applied_at": "2025-01-20T12:00:00Z",
            "cutoff": "2025-01-20T12:00:00Z",
            "event_id": _eid(11),
            "by": f"arn:aws:iam::{ACCT}:user/responder",
        }
    ]
    # the action record's time is earlier than the PutRolePolicy seen in the logs: it wins
    assert report.data["summary"]["contained_at"] == "2025-01-20T11:58:00Z"


def test_verification_result_is_the_proof_section(trace: Any, events: pd.DataFrame) -> None:
    from ircreds.containment import plan, verify

    the_plan = plan(
        trace, datetime(2025, 1, 20, 12, tzinfo=UTC), now=datetime(2025, 1, 20, 13, tzinfo=UTC), events=events
    )
    proof = verify(the_plan, events)
    report = _render(trace, events, fmt="md", plan=the_plan, verification=proof)
    v = report.data["containment"]["verification"]
    assert v["ok"] is proof.ok
    assert v["checked_keys"] == list(proof.checked_keys)
    assert "### Proof: the logs after the deny" in report.text


def test_dry_run_actions_do_not_count_as_containment(events: pd.DataFrame) -> None:
    before_deny = events[events["eventName"] != "PutRolePolicy"]
    tr = ircreds.trace(before_deny, K1)
    for action in (
        _action_record("2025-01-20T11:58:00Z", dry_run=True),
        _action_record("2025-01-20T11:58:00Z", action="rollback"),
    ):
        data = render(tr, events=before_deny, fmt="md", figures=False, actions=action).data
        assert data["summary"]["contained_at"] is None


def test_evidence_section_lists_files_hashes_counts_and_digest_result(tmp_path: Path) -> None:
    log_file = tmp_path / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2025" / "01" / "20" / "part.json"
    log_file.parent.mkdir(parents=True)
    records = incident_records()
    log_file.write_text(json.dumps({"Records": [*records, records[1]]}))  # one re-delivery
    events = ircreds.load(tmp_path)
    checked = integrity.check([tmp_path], events=events)
    report = render(
        ircreds.trace(events, K1), events=events, integrity=checked, fmt="md", figures=False, command="cmd-x"
    )
    ev = report.data["evidence"]
    assert ev["load_report"]["records_read"] == 13
    assert ev["load_report"]["duplicates"] == 1
    assert [f["path"] for f in ev["files"]] == [str(log_file)]
    assert ev["files"][0]["records"] == 12
    assert ev["files"][0]["first_event"] == "2025-01-20T09:14:27Z"
    assert checked.files[0].sha256 in report.text
    manifest = list(csv.DictReader(io.StringIO(report.assets["report-evidence.csv"].decode())))
    assert [(m["path"], m["sha256"], m["records"]) for m in manifest] == [
        (str(log_file), checked.files[0].sha256, "12")
    ]
    assert "Digest validation: no-digests" in report.text
    assert "`cmd-x`" in report.text
    assert f"ircreds {ircreds.__version__}" in report.text


def test_caveats_name_missing_data_events_regions_and_delivery_delay(
    trace: Any, events: pd.DataFrame
) -> None:
    caveats = " ".join(_render(trace, events, fmt="md").data["caveats"])
    assert "No data events" in caveats
    assert "eu-west-1, us-east-1" in caveats
    assert "5 minutes" in caveats
    assert "digest files were not checked" in caveats


def test_render_writes_nothing_and_save_writes_text_and_assets(
    trace: Any, events: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = _render(trace, events, fmt="md", stem="inc")
    assert list(tmp_path.iterdir()) == []
    written = report.save(tmp_path / "out" / "inc.md")
    assert sorted(p.name for p in written) == [
        "inc-evidence.csv",
        "inc-indicators.csv",
        "inc-indicators.json",
        "inc.md",
    ]
    assert (tmp_path / "out" / "inc.md").read_text() == report.text


def test_report_is_deterministic_for_the_same_inputs(trace: Any, events: pd.DataFrame) -> None:
    now = datetime(2025, 1, 21, tzinfo=UTC)
    assert (
        _render(trace, events, fmt="html", now=now).text == _render(trace, events, fmt="html", now=now).text
    )


def test_times_are_iso_utc(trace: Any, events: pd.DataFrame) -> None:
    data = _render(trace, events, fmt="md").data
    assert data["summary"]["as_of"] == "2025-01-20T12:05:00Z"
    assert data["credentials"][0]["issued_at"] == "2025-01-20T09:14:27Z"


def test_render_rejects_naive_now_and_unknown_format(trace: Any, events: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _render(trace, events, now=datetime(2025, 1, 20))  # noqa: DTZ001
    with pytest.raises(ValueError, match="unknown report format"):
        _render(trace, events, fmt="pdf")


def test_html_has_no_external_resources(trace: Any, events: pd.DataFrame) -> None:
    text = _render(trace, events, fmt="html").text
    assert "<script src" not in text
    assert "<link" not in text
    assert "cdn." not in text
    assert "@media print" in text


def test_scrub_leaves_redacted_markers_and_key_ids_alone() -> None:
    text = '{"sessionToken": "<redacted>", "accessKeyId": "ASIAK1EXAMPLE0000001"}'
    assert scrub(text) == text


def test_markdown_report_writes_png_figures_beside_it(
    trace: Any, events: pd.DataFrame, tmp_path: Path
) -> None:
    report = render(trace, events=events, fmt="md", stem="inc")
    for name in ("timeline", "lineage"):
        png = report.assets[f"inc-{name}.png"]
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert f"](inc-{name}.png)" in report.text
    written = {p.name for p in report.save(tmp_path / "inc.md")}
    assert {"inc-timeline.png", "inc-lineage.png"} <= written


def test_html_report_embeds_both_figures_and_plotly_once(trace: Any, events: pd.DataFrame) -> None:
    from plotly.offline import get_plotlyjs

    report = render(trace, events=events, fmt="html")
    assert report.text.count(get_plotlyjs()[:300]) == 1
    assert 'id="figure-timeline"' in report.text
    assert 'id="figure-lineage"' in report.text
    assert not [name for name in report.assets if name.endswith(".png")]


def test_save_renames_assets_after_the_file_it_writes(
    trace: Any, events: pd.DataFrame, tmp_path: Path
) -> None:
    report = _render(trace, events, fmt="md")  # default stem "report"
    written = report.save(tmp_path / "incident.md")
    assert sorted(p.name for p in written) == [
        "incident-evidence.csv",
        "incident-indicators.csv",
        "incident-indicators.json",
        "incident.md",
    ]
    text = (tmp_path / "incident.md").read_text()
    assert "(incident-indicators.csv)" in text
    assert "report-indicators" not in text


def test_render_checks_the_files_the_events_came_from(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "part.json"
    log_file.parent.mkdir()
    log_file.write_text(json.dumps({"Records": incident_records()}))
    events = ircreds.load(tmp_path / "logs")
    tr = ircreds.trace(events, K1)
    checked = render(tr, events=events, fmt="md", figures=False)
    files = checked.data["evidence"]["files"]
    assert [f["path"] for f in files] == [str(log_file)]
    assert files[0]["sha256"] == hashlib.sha256(log_file.read_bytes()).hexdigest()
    unchecked = render(tr, events=events, fmt="md", figures=False, integrity=False)
    assert unchecked.data["evidence"]["integrity"] is None


def test_markdown_figures_without_a_browser_fail_with_one_clear_error(
    trace: Any, events: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ircreds.errors import IrcredsError

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(IrcredsError, match="--no-figures"):
        render(trace, events=events, fmt="md")


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_attacker_controlled_strings_cannot_break_out_of_the_report(fmt: str) -> None:
    evil = "</script><img src=x onerror=alert(1)>"
    records = incident_records()
    for record in records:
        if record["userAgent"] == PACU:
            record["userAgent"] = evil
    events = ircreds.load(records)
    text = render(ircreds.trace(events, K1), events=events, fmt=fmt, figures=fmt == "html").text
    assert evil not in text
    # not even inside the inline JSON (\\u003c); in Markdown only backslash-escaped (inert)
    assert not re.search(r"(?<!\\)<img src=x", text)
    shown = {"html": "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;", "md": "\\</script\\>\\<img src=x"}
    assert shown[fmt] in text  # shown, escaped


@pytest.mark.parametrize("twist", sorted(TWISTS))
def test_report_renders_every_scenario_twist_without_secrets(twist: str) -> None:
    from ircreds import scenarios
    from ircreds.containment import plan

    scenario = scenarios.generate(1, events=2000, twists=[twist])
    events = ircreds.load(scenario.records)
    key = scenario.answer_key["leaked_access_key_id"]
    tr = ircreds.trace(events, key)
    end = events["eventTime"].max().to_pydatetime()
    report = render(tr, plan=plan(tr, now=end, events=events), events=events, fmt="md", figures=False)
    for heading in SECTIONS.values():
        assert f"\n## {heading}\n" in report.text
    assert report.data["summary"]["leaked"]["access_key_id"] == key
    assert report.data["summary"]["first_misuse"] is not None
    secrets = set(tokens_in(scenario.records))
    assert secrets
    blobs = [report.text.encode(), *report.assets.values()]
    assert not [s for s in secrets for blob in blobs if s.encode() in blob]


SANDBOX_URL = "http://127.0.0.1:5000"


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_a_sandbox_record_is_a_rehearsal_and_takes_no_time_to_contain(events: pd.DataFrame, fmt: str) -> None:
    before_deny = events[events["eventName"] != "PutRolePolicy"]
    tr = ircreds.trace(before_deny, K1)
    sandbox = _action_record("2025-01-20T11:58:00Z", endpoint_url=SANDBOX_URL)
    report = render(tr, events=before_deny, fmt=fmt, figures=False, actions=[sandbox])
    s = report.data["summary"]
    assert s["contained_at"] is None
    assert s["time_to_contain"] is None
    assert s["rehearsals"] == 1
    assert s["exposure"]["ongoing"] is True
    assert "rehearsal: a sandbox or non-AWS endpoint; not containment" in report.text
    assert "1 rehearsal(s) in a sandbox, not counted" in report.text
    assert report.data["containment"]["actions"][0]["rehearsal"] is True
    # the same record against AWS itself is containment
    real = render(
        tr, events=before_deny, fmt=fmt, figures=False, actions=[_action_record("2025-01-20T11:58:00Z")]
    )
    assert real.data["summary"]["contained_at"] == "2025-01-20T11:58:00Z"
    assert "rehearsal:" not in real.text


def test_with_a_deny_in_the_logs_a_rehearsal_does_not_move_time_to_contain(
    trace: Any, events: pd.DataFrame
) -> None:
    sandbox = _action_record("2025-01-20T11:58:00Z", endpoint_url=SANDBOX_URL)
    data = _render(trace, events, fmt="md", actions=[sandbox]).data
    assert data["summary"]["contained_at"] == "2025-01-20T12:00:00Z"  # the PutRolePolicy in the logs


def test_the_report_state_as_of_is_the_plans_now(trace: Any, events: pd.DataFrame) -> None:
    from ircreds.containment import plan

    at = datetime(2025, 1, 20, 12, 10, tzinfo=UTC)
    the_plan = plan(trace, datetime(2025, 1, 20, 12, tzinfo=UTC), now=at, events=events)
    report = _render(trace, events, fmt="md", plan=the_plan)
    assert report.data["summary"]["as_of"] == "2025-01-20T12:10:00Z"
    assert "State as of 2025-01-20T12:10:00Z (the plan's now)" in report.text
    with pytest.raises(ValueError, match="differs from the plan's now"):
        _render(trace, events, fmt="md", plan=the_plan, now=datetime(2025, 1, 20, 13, tzinfo=UTC))


def test_a_report_after_the_deny_includes_the_proof_and_one_before_it_does_not(
    trace: Any, events: pd.DataFrame
) -> None:
    from ircreds.containment import plan

    cutoff = datetime(2025, 1, 20, 12, tzinfo=UTC)
    after = plan(trace, cutoff, now=datetime(2025, 1, 20, 13, tzinfo=UTC), events=events)
    report = _render(trace, events, fmt="md", plan=after)
    v = report.data["containment"]["verification"]
    assert v is not None
    assert v["applied_at"] == "2025-01-20T12:00:00Z"
    assert "### Proof: the logs after the deny" in report.text
    assert report.data["summary"]["contained_at"] == "2025-01-20T12:00:00Z"
    assert (
        _render(trace, events, fmt="md", plan=after, verification=False).data["containment"]["verification"]
        is None
    )
    before = plan(trace, cutoff, now=datetime(2025, 1, 20, 11, 59, 30, tzinfo=UTC), events=events)
    early = _render(trace, events, fmt="md", plan=before)
    assert early.data["containment"]["verification"] is None  # the deny is not in place as of 11:59:30
    assert early.data["summary"]["contained_at"] is None
    assert "containment incomplete" not in early.text
