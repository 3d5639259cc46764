"""ircreds.report.data: the data the report's templates get (summary, credentials, containment, caveats).

Built from the containment incident (tests/_contain/incident.py) plus the records each test adds with
the story builder: the cut-off deny as the logs show it, action records, key deletions. Redaction
(``scrub``) is tested in tests/test_report.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import pandas as pd
import pytest
import story
from _contain import incident as inc

import ircreds
from ircreds.containment import plan
from ircreds.evidence import integrity
from ircreds.report.data import build_data, caveats, evidence_csv

NOON = inc.NOON
DENY_AT = datetime(2025, 1, 20, 12, 0, 30, tzinfo=UTC)
SANDBOX = "http://127.0.0.1:5000"
RESPONDER = inc.user_identity("responder", "AKIARESPONDER0EXAMPLE")


def _at(h: int, m: int, s: int = 0) -> datetime:
    return datetime(2025, 1, 20, h, m, s, tzinfo=UTC)


def _iso(when: datetime) -> str:
    return story.iso(when)


def _deny(
    when: datetime = DENY_AT,
    *,
    cutoff: datetime = NOON,
    policy_name: str = "AWSRevokeOlderSessions",
    encoded: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The responder's PutRolePolicy of a cut-off deny on ExampleRole, as the logs show it."""
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": ["*"],
                    "Resource": ["*"],
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": _iso(cutoff)}},
                }
            ],
        }
    )
    request = {
        "roleName": "ExampleRole",
        "policyName": policy_name,
        "policyDocument": quote_plus(document) if encoded else document,
    }
    return inc.call(
        when,
        RESPONDER,
        inc.OFFICE_IP,
        "iam.amazonaws.com",
        "PutRolePolicy",
        requestParameters=request,
        **extra,
    )


def _key_change(when: datetime, name: str, **request: Any) -> dict[str, Any]:
    return inc.call(when, RESPONDER, inc.OFFICE_IP, "iam.amazonaws.com", name, requestParameters=request)


def _action(when: datetime, *, endpoint_url: str | None = None, **fields: Any) -> dict[str, Any]:
    """An action record as ``ircreds.aws.apply`` writes it (ActionRecord.to_dict), on AWS unless endpoint_url."""
    return {
        "action": "apply",
        "dry_run": False,
        "who": RESPONDER["arn"],
        "when": _iso(when),
        "where": {
            "account_id": inc.ACCOUNT,
            "endpoint_url": endpoint_url,
            "profile": None,
            "region": "us-east-1",
        },
        "cutoff": _iso(NOON),
        "plan_key": inc.K1,
        "changes": [
            {
                "target": "ExampleRole",
                "target_kind": "role",
                "arn": inc.EXAMPLE_ROLE,
                "policy_name": "AWSRevokeOlderSessions",
                "operation": "put",
                "readback_ok": True,
            }
        ],
        **fields,
    }


def _events(*extra: dict[str, Any]) -> pd.DataFrame:
    return ircreds.load([*inc.records(), *json.loads(json.dumps(list(extra)))])


def _data(events: pd.DataFrame, **kw: Any) -> dict[str, Any]:
    return build_data(ircreds.trace(events, inc.K1), events=events, **kw)


def _first_attacker_call() -> datetime:
    """From the records themselves: the earliest call of the lineage from the attacker's addresses."""
    lineage = {inc.K1, inc.K2, inc.K3}
    return min(
        datetime.fromisoformat(r["eventTime"])
        for r in inc.records()
        if r["userIdentity"].get("accessKeyId") in lineage
        and r["sourceIPAddress"] in {inc.ATTACKER_IP, inc.THIRD_IP}
    )


def _credentials(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["access_key_id"]: c for c in data["credentials"]}


# ------------------------------------------------------------------------------ time to contain


def test_time_to_contain_runs_from_the_first_misuse_to_the_deny_in_the_logs() -> None:
    s = _data(_events(_deny()))["summary"]
    misuse = _first_attacker_call()
    assert s["first_misuse"]["time"] == _iso(misuse)
    assert s["first_misuse"]["source_ip"] == inc.ATTACKER_IP
    assert s["contained_at"] == _iso(DENY_AT)
    assert s["time_to_contain"] == (DENY_AT - misuse).total_seconds()
    assert s["contained"] is False  # K3, a long-term key, still works


@pytest.mark.parametrize("endpoint", [SANDBOX, "http://localhost:4566", "https://moto.internal:3000"])
def test_an_apply_against_a_sandbox_is_a_rehearsal_and_contains_nothing(endpoint: str) -> None:
    data = _data(_events(), actions=[_action(_at(11, 58), endpoint_url=endpoint)])
    s = data["summary"]
    assert s["contained_at"] is None
    assert s["time_to_contain"] is None
    assert s["rehearsals"] == 1
    assert data["containment"]["rehearsals"] == 1
    assert _credentials(data)[inc.K1]["active"] is True


def test_a_dry_run_against_a_sandbox_is_listed_but_not_counted_as_a_rehearsal() -> None:
    data = _data(_events(), actions=[_action(_at(11, 58), endpoint_url=SANDBOX, dry_run=True)])
    assert data["summary"]["rehearsals"] == 0  # nothing was rehearsed: nothing was written
    assert data["containment"]["rehearsals"] == 1  # the record itself is still labelled a rehearsal
    assert data["summary"]["contained_at"] is None


def test_a_record_marked_as_a_rehearsal_contains_nothing_whatever_its_endpoint() -> None:
    s = _data(_events(), actions=[_action(_at(11, 58), rehearsal=True)])["summary"]
    assert (s["contained_at"], s["rehearsals"]) == (None, 1)


@pytest.mark.parametrize("fields", [{"dry_run": True}, {"action": "rollback"}], ids=["dry-run", "rollback"])
def test_dry_runs_and_rollbacks_are_not_containment(fields: dict[str, Any]) -> None:
    s = _data(_events(), actions=[_action(_at(11, 58), **fields)])["summary"]
    assert s["contained_at"] is None
    assert s["rehearsals"] == 0


def test_a_real_apply_contains_from_its_time() -> None:
    data = _data(_events(), actions=[_action(_at(11, 58))], now=_at(12, 30))
    s = data["summary"]
    assert s["contained_at"] == _iso(_at(11, 58))
    assert s["time_to_contain"] == (_at(11, 58) - _first_attacker_call()).total_seconds()
    assert s["rehearsals"] == 0
    assert _credentials(data)[inc.K1]["state"].startswith(f"cut off at {_iso(_at(11, 58))}")


@pytest.mark.parametrize(("applied", "contained"), [(_at(11, 58), _at(11, 58)), (_at(12, 5), DENY_AT)])
def test_the_earliest_of_the_action_records_and_the_logs_is_when_it_was_contained(
    applied: datetime, contained: datetime
) -> None:
    s = _data(_events(_deny()), actions=[_action(applied)], now=_at(12, 30))["summary"]
    assert s["contained_at"] == _iso(contained)


@pytest.mark.parametrize(
    "deny",
    [
        {"errorCode": "AccessDenied", "errorMessage": "not authorized"},
        {"policy_name": "SomethingElse"},
    ],
    ids=["failed", "another-policy"],
)
def test_a_failed_or_unrelated_policy_put_is_not_containment(deny: dict[str, Any]) -> None:
    data = _data(_events(_deny(**deny)))
    assert data["summary"]["contained_at"] is None
    assert data["containment"]["denies_in_logs"] == []


def test_a_url_encoded_deny_in_the_logs_still_gives_its_cutoff() -> None:
    data = _data(_events(_deny(encoded=True, cutoff=_at(11, 59))))
    [deny] = data["containment"]["denies_in_logs"]
    assert (deny["cutoff"], deny["applied_at"], deny["target"]) == (
        _iso(_at(11, 59)),
        _iso(DENY_AT),
        "ExampleRole",
    )
    assert data["summary"]["contained_at"] == _iso(DENY_AT)


def test_a_deny_logged_after_the_reports_moment_is_not_in_place_yet() -> None:
    data = _data(_events(_deny()), now=DENY_AT - timedelta(seconds=20))
    assert data["summary"]["contained_at"] is None
    assert _credentials(data)[inc.K1]["active"] is True


def test_time_to_detect_and_from_detection_to_containment() -> None:
    detected = _at(11, 30)
    s = _data(_events(_deny()), detected_at=detected)["summary"]
    assert s["detected_at"] == _iso(detected)
    assert s["time_to_detect"] == (detected - _first_attacker_call()).total_seconds()
    assert s["time_from_detect_to_contain"] == (DENY_AT - detected).total_seconds()


# -------------------------------------------------------------------------------- as of when


def test_the_state_is_told_as_of_the_given_now_or_the_plans_now_or_the_evidences_end() -> None:
    events = _events()
    trace = ircreds.trace(events, inc.K1)
    last = max(datetime.fromisoformat(r["eventTime"]) for r in inc.records())
    data = build_data(trace, events=events)
    assert (data["summary"]["as_of"], data["as_of_source"], data["now_given"]) == (
        _iso(last),
        "evidence-end",
        False,
    )
    data = build_data(trace, events=events, now=_at(14, 0))
    assert (data["summary"]["as_of"], data["as_of_source"]) == (_iso(_at(14, 0)), "given")
    the_plan = plan(trace, NOON, now=_at(12, 10), events=events)
    data = build_data(trace, events=events, plan=the_plan)
    assert (data["summary"]["as_of"], data["as_of_source"], data["now_given"]) == (
        _iso(_at(12, 10)),
        "plan",
        True,
    )
    with pytest.raises(ValueError, match="differs from the plan's now"):
        build_data(trace, events=events, plan=the_plan, now=_at(14, 0))


# ------------------------------------------------------------------------------------ credentials


def test_each_credential_of_the_lineage_has_its_calls_and_its_state() -> None:
    events = _events(_deny())
    trace = ircreds.trace(events, inc.K1)
    data = build_data(trace, events=events, now=_at(12, 5))
    creds = _credentials(data)
    assert list(creds) == [node.key for node in trace.walk()]
    for node in trace.walk():
        row = creds[node.key]
        assert (row["calls"], row["errors"], row["depth"]) == (
            node.summary.count,
            node.summary.error_count,
            node.depth,
        )
        assert row["parent_key"] == node.session.parent_key
    k1 = creds[inc.K1]
    assert k1["state"] == (
        f"cut off at {_iso(DENY_AT)} by AWSRevokeOlderSessions on ExampleRole"
        f" (would have expired at {_iso(inc.K1_ISSUED + timedelta(hours=12))})"
    )
    assert (k1["active"], k1["ended_at"]) == (False, _iso(DENY_AT))
    k2_expiry = inc.K2_ISSUED + timedelta(hours=1)
    assert creds[inc.K2]["state"] == f"VALID until {_iso(k2_expiry)}: no deny covers it"  # another role
    assert creds[inc.K3]["state"].startswith("VALID: long-term key")
    later = _credentials(build_data(trace, events=events, now=_at(13, 0)))
    assert later[inc.K2]["state"] == f"expired at {_iso(k2_expiry)}"
    assert later[inc.K2]["active"] is False


def test_a_session_issued_after_the_deny_s_cutoff_is_not_cut_by_it() -> None:
    # the cut-off written into the deny is before K1 was issued: the deny does not touch K1
    data = _data(_events(_deny(cutoff=inc.K1_ISSUED - timedelta(hours=1))), now=_at(12, 5))
    assert _credentials(data)[inc.K1]["active"] is True


def test_a_planned_deny_covers_a_session_until_it_is_applied() -> None:
    events = _events()
    trace = ircreds.trace(events, inc.K1)
    the_plan = plan(trace, NOON, now=_at(11, 55), events=events)
    k1 = _credentials(build_data(trace, events=events, plan=the_plan))[inc.K1]
    assert k1["covered_by"] == inc.EXAMPLE_ROLE
    assert k1["active"] is True
    assert k1["state"].endswith("the plan's deny on ExampleRole cuts it once applied")


@pytest.mark.parametrize(
    ("change", "deleted"),
    [
        (("DeleteAccessKey", {"userName": "backup-svc", "accessKeyId": inc.K3}), True),
        (("UpdateAccessKey", {"userName": "backup-svc", "accessKeyId": inc.K3, "status": "Inactive"}), True),
        (("UpdateAccessKey", {"userName": "backup-svc", "accessKeyId": inc.K3, "status": "Active"}), False),
        (("DeleteUser", {"userName": "backup-svc"}), True),
        (("DeleteUser", {"userName": "someone-else"}), False),
    ],
    ids=["delete-key", "deactivate", "activate", "delete-user", "other-user"],
)
def test_a_minted_key_ends_when_it_or_its_user_is_deleted_or_deactivated(
    change: tuple[str, dict[str, Any]], deleted: bool
) -> None:
    name, request = change
    data = _data(_events(_key_change(_at(12, 20), name, **request)), now=_at(12, 30))
    k3 = _credentials(data)[inc.K3]
    assert k3["active"] is not deleted
    if deleted:
        assert k3["state"] == f"deleted or deactivated at {_iso(_at(12, 20))}"


def test_exposure_ends_when_the_last_credential_of_the_lineage_stops_working() -> None:
    events = _events(
        _deny(), _key_change(_at(12, 20), "DeleteAccessKey", userName="backup-svc", accessKeyId=inc.K3)
    )
    open_ = _data(events, now=_at(12, 15))["summary"]
    assert open_["exposure"]["ongoing"] is True
    assert set(open_["exposure"]["active_credentials"]) == {inc.K3}  # K2 expired at 12:10:09
    assert open_["exposure"]["seconds"] == (_at(12, 15) - _first_attacker_call()).total_seconds()
    closed = _data(events, now=_at(13, 0))["summary"]
    assert closed["exposure"]["ongoing"] is False
    assert closed["exposure"]["end"] == _iso(_at(12, 20))
    assert closed["exposure"]["seconds"] == (_at(12, 20) - _first_attacker_call()).total_seconds()
    assert closed["contained"] is True
    assert closed["exposure"]["leaked_key_ended"] == _iso(DENY_AT)


def test_the_summary_names_the_leaked_key_its_issuer_and_the_attackers_addresses() -> None:
    s = _data(_events())["summary"]
    assert s["leaked"]["access_key_id"] == inc.K1
    assert s["leaked"]["role_arn"] == inc.EXAMPLE_ROLE
    assert s["issued_at"] == _iso(inc.K1_ISSUED)
    assert s["issuer"]["arn"] == f"arn:aws:iam::{inc.ACCOUNT}:user/DevUser"
    assert s["issuer"]["source_ip"] == inc.OFFICE_IP
    assert s["attacker_ips"] == sorted([inc.ATTACKER_IP, inc.THIRD_IP])
    lineage = {inc.K1, inc.K2, inc.K3}
    attacker_times = [
        r["eventTime"]
        for r in inc.records()
        if r["userIdentity"].get("accessKeyId") in lineage and r["sourceIPAddress"] != inc.OFFICE_IP
    ]
    assert s["last_attacker_call"] == max(attacker_times)
    assert s["calls"] == sum(1 for r in inc.records() if r["userIdentity"].get("accessKeyId") in lineage)
    assert s["credentials"] == len(lineage)


def test_the_data_is_json_ready() -> None:
    events = _events(_deny())
    trace = ircreds.trace(events, inc.K1)
    data = build_data(
        trace,
        events=events,
        plan=plan(trace, NOON, now=_at(12, 30), events=events),
        actions=[_action(_at(11, 58), endpoint_url=SANDBOX)],
        detected_at=_at(11, 30),
    )
    assert json.loads(json.dumps(data)) == data
    assert data["key"] == inc.K1


def test_key_calls_in_the_data_are_capped_by_max_calls() -> None:
    key_calls = _data(_events(), max_calls=2)["key_calls"]
    assert key_calls["shown"] == len(key_calls["rows"]) == 2
    assert key_calls["omitted"] == key_calls["total"] - 2


# ---------------------------------------------------------------------------- caveats and evidence


def _other_account_story() -> pd.DataFrame:
    """The incident, and K1 also assuming a role in another account whose trail is not loaded."""
    other = "123456789012"
    k1 = inc.role_identity("ExampleRole", "devuser", inc.K1, inc.K1_ISSUED)
    chain = story.assume_role(
        k1,
        "ASIAOTHERACCT0EXAMPLE",
        _at(11, 12),
        role="CrossAccountRole",
        session="x",
        role_id="AROAOTHERACCOUNTEXAMPLE",
        account=other,
        ip=inc.ATTACKER_IP,
        ua="python-requests/2.31.0",
        request_id=story.request_id(9001),
        event_id=story.event_id(9001),
    )
    return _events(chain)


def test_caveats_name_an_account_the_lineage_reaches_without_its_trail() -> None:
    text = " ".join(_data(_other_account_story())["caveats"])
    assert "reaches account(s) 123456789012 whose own trail is not loaded" in text
    assert "reaches account" not in " ".join(_data(_events())["caveats"])


def test_caveats_count_data_events_when_there_are_some() -> None:
    k3 = inc.user_identity("backup-svc", inc.K3)
    reads = [
        inc.call(_at(11, 45 + i), k3, inc.THIRD_IP, "s3.amazonaws.com", "GetObject", eventCategory="Data")
        for i in range(3)
    ]
    text = " ".join(_data(_events(*reads))["caveats"])
    assert "3 data events are in the evidence" in text
    assert "No data events" in " ".join(_data(_events())["caveats"])


def test_caveats_say_how_long_before_the_report_the_evidence_ends() -> None:
    last = max(datetime.fromisoformat(r["eventTime"]) for r in inc.records())
    late = " ".join(_data(_events(), now=last + timedelta(hours=2, minutes=3, seconds=4))["caveats"])
    assert f"the last 15 minutes before {_iso(last)}" in late
    assert "the evidence ends 2h 03m 04s before this report" in late
    soon = " ".join(_data(_events(), now=last + timedelta(minutes=10))["caveats"])
    assert "the evidence ends" not in soon


def test_caveats_pass_the_load_reports_own_and_say_whether_digests_were_checked() -> None:
    events = _events()
    trace = ircreds.trace(events, inc.K1)
    report = {**events.attrs["load_report"], "caveats": ["Two files were read twice."]}
    text = caveats(trace, events, report, None, None, None)
    assert "Two files were read twice." in text
    assert "The digest files were not checked for this report (no integrity result given)." in text
    checked = caveats(trace, events, report, integrity.check([]), None, None)
    assert "No CloudTrail-Digest files were loaded: the log files' integrity could not be checked." in checked
    regions = sorted({r["awsRegion"] for r in inc.records()})
    assert f"Regions in the evidence: {', '.join(regions)}. Calls in any other region are not seen." in text


def test_the_evidence_counts_come_from_the_load_report() -> None:
    events = _events()
    report = {
        **events.attrs["load_report"],
        "rejects": [{"file": "a.json", "line": 3, "reason": "no eventTime"}] * 2,
        "files_read": ["AWSLogs/a.json.gz", "AWSLogs/b.json.gz"],
    }
    evidence = _data(events, load_report=report)["evidence"]
    assert evidence["load_report"]["rejects"] == 2
    assert evidence["load_report"]["files_read"] == 2
    assert evidence["load_report"]["reject_samples"] == report["rejects"]
    assert evidence["load_report"]["records_read"] == len(inc.records())
    assert evidence["files"] == [{"path": p, "sha256": None} for p in report["files_read"]]
    assert evidence["integrity"] is None


def test_the_evidence_manifest_csv_has_its_columns_blanks_and_safe_cells() -> None:
    files = [
        {"path": '=HYPERLINK("http://203.0.113.9")', "kind": "log", "size": 10, "sha256": "ab", "records": 3},
        {"path": "AWSLogs/x.json.gz", "kind": "digest", "size": None, "sha256": None},
    ]
    rows = list(csv.DictReader(io.StringIO(evidence_csv(files))))
    assert list(rows[0]) == [
        "path",
        "kind",
        "size",
        "sha256",
        "sha256_uncompressed",
        "records",
        "first_event",
        "last_event",
    ]
    assert rows[0]["path"] == '\'=HYPERLINK("http://203.0.113.9")'
    assert (rows[0]["size"], rows[0]["records"], rows[0]["first_event"]) == ("10", "3", "")
    assert (rows[1]["size"], rows[1]["sha256"]) == ("", "")
