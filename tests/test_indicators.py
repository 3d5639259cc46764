"""ircreds.report.indicators: which values of a lineage become indicators, the CSV and JSON rows, key calls."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pandas as pd
import pytest
from findings.records import (
    ACCOUNT,
    ATTACKER_IP,
    ATTACKER_UA,
    CLI_UA,
    K1,
    K3,
    OFFICE_IP,
    THIRD_IP,
    USER_KEY,
    assume_role,
    record,
    role_identity,
    t,
    user_identity,
)

import ircreds
from ircreds.escape import csv_uncell
from ircreds.report.indicators import indicators, indicators_csv, key_calls

COLUMNS = ["type", "value", "suspicious", "first_seen", "last_seen", "count", "credentials", "note"]
BACKUP_ARN = f"arn:aws:iam::{ACCOUNT}:user/backup-svc"


def _story(attacker_ua: str = ATTACKER_UA, new_user: str = "backup-svc") -> list[dict[str, Any]]:
    """DevUser's K1 is used from the office, leaks, creates a user and its key K3, used from a third IP."""
    dev = user_identity()
    k1 = role_identity(K1, created=t(0))
    attacker = {"ip": ATTACKER_IP, "ua": attacker_ua}
    write = {**attacker, "readOnly": False}
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{new_user}"
    return [
        record(dev, "ListBuckets", t(-10), source="s3.amazonaws.com", ua=f"[{CLI_UA}]"),
        assume_role(dev, K1, t(0), duration=43200),
        record(k1, "DescribeInstances", t(2), region="eu-central-1"),
        record(k1, "ListBuckets", t(3), source="s3.amazonaws.com", ua=f"[{CLI_UA}]"),  # S3 wraps agents
        record(k1, "DescribeRegions", t(4), ip=None),  # no source address: no indicator
        record(k1, "GetCallerIdentity", t(60), **attacker),
        record(k1, "ListBuckets", t(61), source="s3.amazonaws.com", ip=ATTACKER_IP, ua=f"[{attacker_ua}]"),
        record(k1, "DescribeInstances", t(62), region="ap-south-1", error="AccessDenied", **attacker),
        record(
            k1,
            "CreateUser",
            t(70),
            request={"userName": new_user},
            response={"user": {"userName": new_user, "arn": user_arn}},
            **write,
        ),
        record(k1, "CreateRole", t(71), request={"roleName": "x"}, error="AccessDenied", **write),
        record(k1, "CreateLoginProfile", t(72), request={"userName": new_user}, **write),
        record(
            k1,
            "CreateAccessKey",
            t(73),
            request={"userName": new_user},
            response={"accessKey": {"accessKeyId": K3, "status": "Active", "userName": new_user}},
            **write,
        ),
        record(
            k1,
            "CreateUser",
            t(74),
            request={"userName": new_user},
            response={"user": {"userName": new_user, "arn": user_arn}},
            **write,
        ),
        record(user_identity(new_user, key=K3), "ListUsers", t(80), ip=THIRD_IP, ua=attacker_ua),
    ]


def _inputs(records: list[dict[str, Any]]) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    events = ircreds.load(records)
    trace = ircreds.trace(events, K1, findings=False)
    return trace, trace.all_calls(), events


@pytest.fixture(scope="module")
def inputs() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    return _inputs(_story())


@pytest.fixture(scope="module")
def rows(inputs: tuple[Any, pd.DataFrame, pd.DataFrame]) -> list[dict[str, Any]]:
    return indicators(*inputs)


def _of(rows: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    found = [r for r in rows if r["type"] == kind]
    by_value = {r["value"]: r for r in found}
    assert len(by_value) == len(found), f"{kind}: a value listed twice"
    return by_value


def _iso(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_source_ips_the_issuer_never_used_are_suspicious_and_the_office_is_not(rows: list[dict]) -> None:
    ips = _of(rows, "source_ip")
    assert set(ips) == {OFFICE_IP, ATTACKER_IP, THIRD_IP}  # the call without an address adds none
    assert ips[ATTACKER_IP]["suspicious"] is True
    assert ips[THIRD_IP]["suspicious"] is True
    assert ips[OFFICE_IP]["suspicious"] is False
    assert ips[OFFICE_IP]["note"] == "also used by the issuer or before the leak"
    assert ips[ATTACKER_IP]["note"] == ""


def test_each_ip_counts_its_calls_with_their_times_and_credentials(inputs: tuple, rows: list[dict]) -> None:
    _, calls, _ = inputs
    ips = _of(rows, "source_ip")
    for ip, row in ips.items():
        mine = calls[calls["sourceIPAddress"].astype(object) == ip]
        assert row["count"] == len(mine)
        assert row["first_seen"] == _iso(mine["eventTime"].min())
        assert row["last_seen"] == _iso(mine["eventTime"].max())
        assert row["credentials"] == sorted(set(mine["credential"].astype(object)))
    assert ips[THIRD_IP]["credentials"] == [K3]


def test_user_agents_are_unwrapped_so_s3_and_other_calls_count_together(
    inputs: tuple, rows: list[dict]
) -> None:
    _, calls, _ = inputs
    agents = _of(rows, "user_agent")
    assert set(agents) == {CLI_UA, ATTACKER_UA}
    wrapped = calls["userAgent"].astype(object).isin([ATTACKER_UA, f"[{ATTACKER_UA}]"])
    assert agents[ATTACKER_UA]["count"] == int(wrapped.sum())
    assert agents[ATTACKER_UA]["suspicious"] is True
    assert agents[CLI_UA]["suspicious"] is False
    assert agents[CLI_UA]["count"] == 3  # K1's calls from the office: two plain, one S3-wrapped


def test_every_key_of_the_lineage_is_an_indicator_with_how_it_was_issued(
    inputs: tuple, rows: list[dict]
) -> None:
    trace, _, _ = inputs
    keys = _of(rows, "access_key_id")
    assert set(keys) == {node.key for node in trace.walk()} == {K1, K3}
    assert all(r["suspicious"] for r in keys.values())
    assert keys[K1]["note"] == f"AssumeRole of arn:aws:iam::{ACCOUNT}:role/ExampleRole, from {USER_KEY}"
    assert keys[K3]["note"] == f"CreateAccessKey, from {K1}"
    assert keys[K1]["count"] == next(n.summary.count for n in trace.walk() if n.key == K1)
    assert USER_KEY not in keys  # the issuer's own key is not the attacker's


def test_a_region_is_suspicious_only_when_a_suspicious_ip_called_there(rows: list[dict]) -> None:
    regions = _of(rows, "region")
    assert set(regions) == {"us-east-1", "eu-central-1", "ap-south-1"}
    assert regions["eu-central-1"]["suspicious"] is False  # only the office called there
    assert regions["ap-south-1"]["suspicious"] is True  # a denied call counts too
    assert regions["us-east-1"]["suspicious"] is True


def test_principals_created_are_listed_once_from_the_first_successful_call(rows: list[dict]) -> None:
    created = _of(rows, "principal_created")
    assert set(created) == {BACKUP_ARN, "login-profile:backup-svc", K3}  # the denied CreateRole is not
    assert created[BACKUP_ARN]["first_seen"] == _iso(t(70))  # the second CreateUser is not a new one
    assert created[BACKUP_ARN]["note"].startswith("CreateUser: user (event ")
    assert created[K3]["note"].startswith("CreateAccessKey: access key for user backup-svc")
    assert created["login-profile:backup-svc"]["note"].startswith("CreateLoginProfile: console password")
    assert all(r["suspicious"] and r["credentials"] == [K1] for r in created.values())


def test_the_owner_of_a_minted_key_is_listed_even_without_its_create_user_call() -> None:
    records = [r for r in _story() if r["eventName"] != "CreateUser"]
    created = _of(indicators(*_inputs(records)), "principal_created")
    assert created[BACKUP_ARN]["note"] == f"owner of minted key {K3}"
    assert created[BACKUP_ARN]["credentials"] == [K1]


def test_rows_are_json_ready_with_the_appendix_columns(rows: list[dict]) -> None:
    for row in rows:
        assert list(row) == COLUMNS
        assert isinstance(row["suspicious"], bool)
        assert isinstance(row["count"], int)
        assert row["first_seen"].endswith("Z")
    assert json.loads(json.dumps(rows)) == rows


def test_the_csv_has_one_line_per_indicator_in_the_same_columns(rows: list[dict]) -> None:
    text = indicators_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(parsed) == len(rows)
    for row, line in zip(rows, parsed, strict=True):
        assert line["value"] == row["value"]
        assert line["suspicious"] == str(row["suspicious"]).lower()
        assert line["credentials"].split() == row["credentials"]
        assert int(line["count"]) == row["count"]


HOSTILE = [
    '=HYPERLINK("http://203.0.113.9/x","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    'Mozilla/5.0, "quoted"\r\nInjected: header',
]


@pytest.mark.parametrize("agent", HOSTILE)
def test_a_hostile_user_agent_is_kept_whole_in_the_rows_and_cannot_be_a_formula_in_the_csv(
    agent: str,
) -> None:
    rows = indicators(*_inputs(_story(attacker_ua=agent)))
    [row] = [r for r in rows if r["type"] == "user_agent" and r["suspicious"]]
    assert row["value"] == agent
    cells = {line["value"]: line for line in csv.DictReader(io.StringIO(indicators_csv(rows)))}
    cell = next(v for v in cells if csv_uncell(v) == agent)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_hostile_user_name_cannot_be_a_formula_in_the_csv() -> None:
    rows = indicators(*_inputs(_story(new_user="=1+1")))
    values = [line["value"] for line in csv.DictReader(io.StringIO(indicators_csv(rows)))]
    assert "'login-profile:=1+1" not in values  # only a leading risky character is escaped
    assert "login-profile:=1+1" in values
    text = indicators_csv([{**rows[0], "value": "=1+1", "note": "@x", "credentials": ["-k"]}])
    line = next(csv.DictReader(io.StringIO(text)))
    assert (line["value"], line["note"], line["credentials"]) == ("'=1+1", "'@x", "'-k")


# ------------------------------------------------------------------------------------------ key calls


def test_key_calls_come_findings_first_then_writes_then_sensitive_reads_then_the_rest(inputs: tuple) -> None:
    _, calls, _ = inputs
    flagged = calls.loc[calls["eventName"] == "DescribeRegions", "eventID"].iloc[0]
    got = key_calls(calls.iloc[::-1], [{"event_ids": [flagged]}])  # whatever order the calls come in
    order = [r["why"] for r in got["rows"]]
    assert order == sorted(order, key=["finding", "write", "sensitive", "read"].index)
    assert got["rows"][0]["event_id"] == flagged
    for why in ("write", "sensitive", "read"):
        times = [r["time"] for r in got["rows"] if r["why"] == why]
        assert times == sorted(times)
    writes = {r["event_name"] for r in got["rows"] if r["why"] == "write"}
    assert {"CreateUser", "CreateAccessKey", "CreateLoginProfile"} <= writes
    assert {r["event_name"] for r in got["rows"] if r["why"] == "sensitive"} >= {
        "ListBuckets",
        "GetCallerIdentity",
    }
    assert {r["event_name"] for r in got["rows"] if r["why"] == "read"} == {"DescribeInstances"}
    assert (got["total"], got["shown"], got["omitted"]) == (len(calls), len(calls), 0)
    assert got["important"] == sum(r["why"] != "read" for r in got["rows"])


def test_key_calls_are_capped_and_say_how_many_were_left_out(inputs: tuple) -> None:
    _, calls, _ = inputs
    got = key_calls(calls, [], max_calls=3)
    assert (got["shown"], got["omitted"], got["total"]) == (3, len(calls) - 3, len(calls))
    assert [r["why"] for r in got["rows"]] == ["write"] * 3
    assert key_calls(calls.iloc[:0], []) == {"rows": [], "total": 0, "shown": 0, "omitted": 0}


def test_a_key_call_row_holds_the_calls_fields(inputs: tuple) -> None:
    _, calls, _ = inputs
    denied = calls[calls["errorCode"].astype(object) == "AccessDenied"].iloc[0]
    row = next(r for r in key_calls(calls, [])["rows"] if r["event_id"] == denied["eventID"])
    assert row == {
        "time": _iso(denied["eventTime"]),
        "event_name": denied["eventName"],
        "event_source": denied["eventSource"],
        "region": denied["awsRegion"],
        "source_ip": ATTACKER_IP,
        "user_agent": ATTACKER_UA,
        "error_code": "AccessDenied",
        "credential": K1,
        "read_only": None,
        "event_id": denied["eventID"],
        "why": "read",
    }
