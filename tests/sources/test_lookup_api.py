"""The live event history through lookup_events (botocore Stubber: moto does not implement it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

import ircreds
from ircreds.errors import SourceError
from ircreds.evidence.loader import LOOKUP_CAVEAT


def _event(event_id: str, minute: int) -> dict:
    record = {"eventVersion": "1.08", "eventTime": f"2025-01-20T11:{minute:02d}:00Z", "eventName": "GetCallerIdentity",
              "eventSource": "sts.amazonaws.com", "awsRegion": "us-east-1", "eventID": event_id,
              "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAIOSFODNN7EXAMPLE"},
              "recipientAccountId": "111122223333"}  # fmt: skip
    return {"EventId": event_id, "EventName": "GetCallerIdentity", "ReadOnly": "true",
            "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "EventTime": datetime(2025, 1, 20, 11, minute, tzinfo=UTC),
            "EventSource": "sts.amazonaws.com", "Username": "dev", "Resources": [],
            "CloudTrailEvent": json.dumps(record)}  # fmt: skip


@pytest.fixture
def cloudtrail(aws_credentials: None):
    return boto3.client("cloudtrail", region_name="us-east-1")


def test_lookup_events_pages_are_loaded_with_caveats(cloudtrail) -> None:
    expected = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": "ASIAIOSFODNN7EXAMPLE"}],
                "StartTime": ANY}  # fmt: skip
    with Stubber(cloudtrail) as stub:
        stub.add_response(
            "lookup_events", {"Events": [_event("b", 5), _event("a", 1)], "NextToken": "t1"}, expected
        )
        stub.add_response("lookup_events", {"Events": [_event("a", 1)]}, {**expected, "NextToken": "t1"})
        df = ircreds.load(cloudtrail, lookup={"AccessKeyId": "ASIAIOSFODNN7EXAMPLE"},
                          start=datetime(2025, 1, 20, tzinfo=UTC))  # fmt: skip
        stub.assert_no_pending_responses()
    report = df.attrs["load_report"]
    assert list(df["eventID"]) == ["a", "b"]
    assert report["duplicates"] == 1
    assert LOOKUP_CAVEAT in report["caveats"]
    assert "90 days" in LOOKUP_CAVEAT
    assert set(df["evidence.file"]) == {"cloudtrail:lookup_events/us-east-1"}
    assert report["sources"][0]["kind"] == "lookup_api"


def test_lookup_access_denied_is_one_clear_source_error(cloudtrail) -> None:
    with Stubber(cloudtrail) as stub:
        stub.add_client_error(
            "lookup_events", service_error_code="AccessDeniedException", service_message="no"
        )
        with pytest.raises(SourceError, match=r"LookupEvents failed in us-east-1 \(AccessDeniedException"):
            ircreds.load(cloudtrail)


def test_lookup_takes_one_attribute_only(cloudtrail) -> None:
    with pytest.raises(ValueError, match="one lookup attribute"):
        ircreds.load(cloudtrail, lookup={"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "EventName": "AssumeRole"})
