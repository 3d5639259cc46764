"""``ircreds.hunt``: each Sigma feature the pipeline handles, on a positive and a near-miss record.

Each case is a small rule written here (not a SigmaHQ rule) and two CloudTrail records that differ
only in what the feature decides. Values are AWS documentation examples.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection

import ircreds
from ircreds.errors import RuleError

ACCOUNT = "123456789012"


def _record(i: int, **fields: object) -> dict:
    """A CloudTrail record; ``fields`` use dotted paths (``userIdentity.type``); None deletes a field."""
    record: dict = {
        "eventVersion": "1.08",
        "eventTime": f"2025-01-20T10:00:{i:02d}Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "userName": "Alice",
        },
        "requestParameters": {"userName": "Bob"},
        "responseElements": None,
        "eventID": f"0a1b2c3d-0000-4000-8000-{i:012d}",
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    for path, value in fields.items():
        *parents, leaf = path.split("__") if "__" in path else path.split(".")
        node = record
        for p in parents:
            node = node.setdefault(p, {})
        if value is None and leaf in node:
            del node[leaf]
        elif value is not None:
            node[leaf] = copy.deepcopy(value)
    return record


def _rule(detection: str, *, title: str = "Test rule", level: str = "medium") -> SigmaCollection:
    return SigmaCollection.from_yaml(
        f"""
title: {title}
id: 5f0c9d1e-0000-4000-8000-000000000001
author: ircreds tests
logsource:
    product: aws
    service: cloudtrail
detection:
{detection}
level: {level}
"""
    )


def _hits(detection: str, records: list[dict]) -> set[str]:
    result = ircreds.hunt(ircreds.load(records), _rule(detection))
    assert result.rules_unsupported == (), result.rules_unsupported
    return set(result.matches["eventID"])


F = [  # feature, detection, positive overrides, near-miss overrides
    (
        "null",
        "    sel:\n        eventName: DeleteBucket\n        errorCode: null\n    condition: sel",
        {"eventName": "DeleteBucket"},
        {"eventName": "DeleteBucket", "errorCode": "AccessDenied"},
    ),
    (
        "list",
        "    sel:\n        eventName:\n            - StopLogging\n            - DeleteTrail\n    condition: sel",
        {"eventName": "DeleteTrail"},
        {"eventName": "StartLogging"},
    ),
    (
        "wildcard",
        "    sel:\n        eventName: 'Delete*Polic?'\n    condition: sel",
        {"eventName": "DeleteRolePolicy"},
        {"eventName": "DeleteRolePolicies"},
    ),
    (
        "contains",
        "    sel:\n        userAgent|contains: 'S3 Browser'\n    condition: sel",
        {"userAgent": "S3 Browser 9.5.5 https://s3browser.com"},
        {"userAgent": "S3Browser 9.5.5 https://s3browser.com"},
    ),
    (
        "re (case-sensitive)",
        "    sel:\n        userIdentity.arn|re: ':assumed-role/aws:.+'\n    condition: sel",
        {"userIdentity.arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/aws:ec2-instance/i-0123456789abcdef0"},
        {"userIdentity.arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWS:ec2-instance/i-0123456789abcdef0"},
    ),
    (
        "1 of",
        "    sel_a:\n        eventName: StopLogging\n    sel_b:\n        eventName: DeleteTrail\n"
        "    condition: 1 of sel_*",
        {"eventName": "StopLogging"},
        {"eventName": "UpdateTrail"},
    ),
    (
        "all of",
        "    sel_src:\n        eventSource: cloudtrail.amazonaws.com\n    sel_name:\n        eventName: StopLogging\n"
        "    condition: all of sel_*",
        {"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"},
        {"eventSource": "logs.amazonaws.com", "eventName": "StopLogging"},
    ),
    (
        "not",
        "    sel:\n        eventName: ListBuckets\n    filter:\n        userIdentity.type: AssumedRole\n"
        "    condition: sel and not filter",
        {"eventName": "ListBuckets"},
        {"eventName": "ListBuckets", "userIdentity.type": "AssumedRole"},
    ),
    (
        "not, field missing",
        "    sel:\n        eventName: ListBuckets\n    filter:\n        userIdentity.invokedBy: 'AWS Internal'\n"
        "    condition: sel and not filter",
        {"eventName": "ListBuckets"},
        {"eventName": "ListBuckets", "userIdentity.invokedBy": "AWS Internal"},
    ),
    (
        "case-insensitive",
        "    sel:\n        additionalEventData.MFAUsed: 'NO'\n    condition: sel",
        {"additionalEventData": {"MFAUsed": "No"}},
        {"additionalEventData": {"MFAUsed": "Yes"}},
    ),
    (
        "cased",
        "    sel:\n        eventName|cased: StopLogging\n    condition: sel",
        {"eventName": "StopLogging"},
        {"eventName": "stoplogging"},
    ),
    (
        "cased with a wildcard",
        "    sel:\n        eventName|cased: 'Stop*'\n    condition: sel",
        {"eventName": "StopLogging"},
        {"eventName": "stopLogging"},
    ),
    (
        "escaped underscore",
        "    sel:\n        requestParameters.userName: 'svc_backup'\n    condition: sel",
        {"requestParameters": {"userName": "svc_backup"}},
        {"requestParameters": {"userName": "svc-backup"}},
    ),
    (
        "contains all",
        "    sel:\n        requestParameters|contains|all:\n            - '\"s3:GetObject\"'\n"
        "            - '\"Allow\"'\n    condition: sel",
        {"requestParameters": {"statement": {"Effect": "Allow", "Action": "s3:GetObject"}}},
        {"requestParameters": {"statement": {"Effect": "Deny", "Action": "s3:GetObject"}}},
    ),
    (
        "JSON list element",
        "    sel:\n        requestParameters.layers|contains: ':layer:evil'\n    condition: sel",
        {"requestParameters": {"layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:evil:3", "x"]}},
        {"requestParameters": {"layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:good:3"]}},
    ),
    (
        "JSON list on the way",
        "    sel:\n        requestParameters.containerDefinitions.command|contains: 'CREDENTIALS_RELATIVE_URI'\n"
        "    condition: sel",
        {
            "requestParameters": {
                "containerDefinitions": [
                    {"name": "web", "command": ["nginx"]},
                    {
                        "name": "x",
                        "command": ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"],
                    },
                ]
            }
        },
        {
            "requestParameters": {
                "containerDefinitions": [{"name": "web", "command": ["nginx", "-g", "daemon off;"]}]
            }
        },
    ),
    (
        "number",
        "    sel:\n        requestParameters.durationSeconds: 43200\n    condition: sel",
        {"requestParameters": {"durationSeconds": 43200}},
        {"requestParameters": {"durationSeconds": 3600}},
    ),
    (
        "field outside the columns",
        "    sel:\n        tlsDetails.tlsVersion: 'TLSv1'\n    condition: sel",
        {"tlsDetails": {"tlsVersion": "TLSv1"}},
        {"tlsDetails": {"tlsVersion": "TLSv1.3"}},
    ),
]


@pytest.mark.parametrize(("feature", "detection", "positive", "near_miss"), F, ids=[f[0] for f in F])
def test_hunt_matches_the_positive_record_and_not_the_near_miss(
    feature: str, detection: str, positive: dict, near_miss: dict
) -> None:
    records = [_record(1, **positive), _record(2, **near_miss)]
    assert _hits(detection, records) == {records[0]["eventID"]}


def test_hunt_reports_keys_times_level_tags_and_attribution() -> None:
    rule = SigmaCollection.from_yaml(
        """
title: CloudTrail logging stopped
id: 5f0c9d1e-0000-4000-8000-000000000002
author: A. Analyst
tags: [attack.defense-evasion, attack.t1562.008, detection.threat-hunting]
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: StopLogging}, condition: sel}
level: high
"""
    )
    records = [
        _record(5, eventName="StopLogging"),
        _record(9, eventName="StopLogging", **{"userIdentity.accessKeyId": "ASIAIOSFODNN7EXAMPLE"}),
        _record(7, eventName="StartLogging"),
    ]
    result = ircreds.hunt(ircreds.load(records), rule, level="high", source_url="https://example.com/rules")
    (hit,) = result.hits
    out = result.to_dict()["hits"][0]
    assert {k: out[k] for k in ("rule_id", "title", "level", "first_seen", "last_seen")} == {
        "rule_id": "5f0c9d1e-0000-4000-8000-000000000002",
        "title": "CloudTrail logging stopped",
        "level": "high",
        "first_seen": "2025-01-20T10:00:05Z",
        "last_seen": "2025-01-20T10:00:09Z",
    }
    assert out["event_ids"] == [records[0]["eventID"], records[1]["eventID"]]
    assert out["access_key_ids"] == ["AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"]
    assert out["tags"] == ["attack.defense-evasion", "attack.t1562.008", "detection.threat-hunting"]
    assert hit.attack == ("attack.defense-evasion", "attack.t1562.008")
    assert out["author"] == "A. Analyst"
    assert result.alerts == (hit,)
    assert result.seed_keys("high") == ("AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE")
    assert [h["event_id"] for h in result.on_events([records[1]["eventID"], records[2]["eventID"]])] == [
        records[1]["eventID"]
    ]


def test_hunt_alerts_only_at_or_above_the_level() -> None:
    records = [_record(1, eventName="StopLogging")]
    rule = _rule("    sel:\n        eventName: StopLogging\n    condition: sel", level="low")
    assert ircreds.hunt(ircreds.load(records), rule, level="low").alerts
    assert not ircreds.hunt(ircreds.load(records), rule, level="medium").alerts
    with pytest.raises(ValueError, match="unknown Sigma level"):
        ircreds.hunt(ircreds.load(records), rule, level="severe")


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


GOOD = """title: Good rule
id: 5f0c9d1e-0000-4000-8000-00000000000a
logsource: {product: aws, service: cloudtrail}
detection: {sel: {eventName: StopLogging}, condition: sel}
level: high
"""


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("broken.yml", "title: [unclosed\n", "cannot be parsed"),
        (
            "windows.yml",
            "title: Windows\nlogsource: {product: windows, category: process_creation}\n"
            "detection: {sel: {Image|endswith: '\\\\cmd.exe'}, condition: sel}\n",
            "logsource is not AWS CloudTrail",
        ),
        (
            "keywords.yml",
            "title: Keywords\nlogsource: {product: aws, service: cloudtrail}\n"
            "detection: {keywords: [mimikatz], condition: keywords}\n",
            "keyword search",
        ),
        (
            "lookbehind.yml",
            "title: Lookbehind\nlogsource: {product: aws, service: cloudtrail}\n"
            "detection: {sel: {userAgent|re: '(?<=aws-cli)/2'}, condition: sel}\n",
            "DuckDB",
        ),
        (
            "no_condition.yml",
            "title: No condition\nlogsource: {product: aws, service: cloudtrail}\ndetection: {sel: {eventName: X}}\n",
            "invalid rule",
        ),
    ],
)
def test_a_rule_that_cannot_run_is_listed_with_its_reason_and_the_others_run(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    _write(tmp_path, "good.yml", GOOD)
    _write(tmp_path, name, text)
    result = ircreds.hunt(ircreds.load([_record(1, eventName="StopLogging")]), tmp_path)
    assert result.rules_loaded == 2
    assert [h.title for h in result.hits] == ["Good rule"]
    (bad,) = result.rules_unsupported
    assert bad.path == str(tmp_path / name)
    assert reason in bad.reason


def test_hunt_refuses_a_rules_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no Sigma rules at"):
        ircreds.hunt(ircreds.load([_record(1)]), tmp_path / "missing")


def test_hunt_source_link_comes_from_the_rules_manifest(tmp_path: Path) -> None:
    _write(tmp_path, "good.yml", GOOD)
    _write(
        tmp_path,
        "MANIFEST.md",
        "Copied unchanged from SigmaHQ/sigma at commit "
        + "ab" * 20
        + ", folder `rules/cloud/aws/cloudtrail/`.",
    )
    (hit,) = ircreds.hunt(ircreds.load([_record(1, eventName="StopLogging")]), tmp_path).hits
    assert (
        hit.source
        == "https://github.com/SigmaHQ/sigma/blob/" + "ab" * 20 + "/rules/cloud/aws/cloudtrail/good.yml"
    )
