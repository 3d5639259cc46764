"""s3:// sources through a real moto server: layout narrowing, digests, parallel download, errors."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import boto3
import pytest

import ircreds
from ircreds.errors import SourceError

BUCKET = "trail-bucket"


@pytest.fixture
def s3(moto_endpoint: str, aws_credentials: None):
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _record(event_id: str, account: str, region: str, day: int) -> dict:
    return {"eventVersion": "1.08", "eventTime": f"2025-01-{day:02d}T23:59:00Z", "eventName": "ListBuckets",
            "eventSource": "s3.amazonaws.com", "awsRegion": region, "eventID": event_id,
            "recipientAccountId": account, "responseElements": {"credentials": {"sessionToken": "SECRETTOKEN"}}}  # fmt: skip


def _put(
    client, account: str, region: str, day: int, *, org: str = "", kind: str = "CloudTrail", body=None
) -> str:
    org_part = f"{org}/" if org else ""
    key = (f"logs/AWSLogs/{org_part}{account}/{kind}/{region}/2025/01/{day:02d}/"
           f"{account}_{kind}_{region}_202501{day:02d}T0000Z_x.json.gz")  # fmt: skip
    body = (
        body
        if body is not None
        else {"Records": [_record(f"{account}-{region}-{day}", account, region, day)]}
    )
    client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(json.dumps(body).encode()))
    return key


def _populate(client) -> None:
    for account in ("111122223333", "444455556666"):
        for region in ("us-east-1", "eu-west-1"):
            for day in (19, 20, 21, 22):
                _put(client, account, region, day)
    _put(client, "777788889999", "us-east-1", 20, org="o-a1b2c3d4e5")
    _put(client, "111122223333", "us-east-1", 20, kind="CloudTrail-Digest",
         body={"digestStartTime": "2025-01-20T00:00:00Z", "logFiles": []})  # fmt: skip


def test_s3_prefix_loads_everything_and_skips_digests(s3) -> None:
    _populate(s3)
    df = ircreds.load(f"s3://{BUCKET}/logs/", client=s3)
    report = df.attrs["load_report"]
    assert report["events"] == 17
    assert report["accounts"] == ["111122223333", "444455556666", "777788889999"]
    assert [s["reason"] for s in report["files_skipped"]] == ["digest"]
    assert df["evidence.file"].str.startswith(f"s3://{BUCKET}/logs/AWSLogs/").all()
    assert not df["responseElements"].str.contains("SECRETTOKEN").any()


def test_s3_narrows_by_account_region_and_delivery_day(s3) -> None:
    _populate(s3)
    df = ircreds.load(
        f"s3://{BUCKET}/logs/AWSLogs/",
        client=s3,
        accounts=["111122223333"],
        regions=["eu-west-1"],
        start=datetime(2025, 1, 20, 12, tzinfo=UTC),
        end=datetime(2025, 1, 20, 18, tzinfo=UTC),
    )
    # the 20th, and the 21st because delivery folders can hold the previous evening's events
    assert sorted(df["eventID"]) == ["111122223333-eu-west-1-20", "111122223333-eu-west-1-21"]
    assert df.attrs["load_report"]["sources"][0]["filters"]["regions"] == ["eu-west-1"]


def test_s3_filters_apply_to_organisation_trails(s3) -> None:
    _populate(s3)
    df = ircreds.load(f"s3://{BUCKET}/logs/", client=s3, accounts=["777788889999"])
    assert list(df["eventID"]) == ["777788889999-us-east-1-20"]


def test_s3_progress_counts_downloaded_files(s3) -> None:
    _populate(s3)
    seen = []
    ircreds.load(f"s3://{BUCKET}/logs/AWSLogs/", client=s3, accounts=["111122223333"], regions=["us-east-1"],
                 progress=seen.append, workers=3)  # fmt: skip
    assert seen[-1].files_done == seen[-1].files_total == 4


def test_s3_missing_bucket_is_one_clear_source_error(s3) -> None:
    with pytest.raises(SourceError, match=r"cannot list s3://no-such-bucket/ \(NoSuchBucket"):
        ircreds.load("s3://no-such-bucket/", client=s3)


def test_s3_empty_prefix_is_a_source_error(s3) -> None:
    with pytest.raises(SourceError, match="no CloudTrail files under"):
        ircreds.load(f"s3://{BUCKET}/nothing-here/", client=s3)


def test_s3_naive_start_is_refused(s3) -> None:
    _populate(s3)
    with pytest.raises(ValueError, match="timezone-aware"):
        ircreds.load(f"s3://{BUCKET}/logs/", client=s3, start=datetime(2025, 1, 20))  # noqa: DTZ001


def test_s3_session_option_builds_the_client(moto_endpoint: str, s3, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate(s3)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    df = ircreds.load(f"s3://{BUCKET}/logs/", session=boto3.Session(region_name="us-east-1"),
                      accounts=["444455556666"], regions=["us-east-1"])  # fmt: skip
    assert len(df) == 4


class _CountingClient:
    """The real moto-backed client, counting bodies downloaded (a download has finished when read)."""

    def __init__(self, client) -> None:
        self._client = client
        self.downloaded = 0

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def get_object(self, **kwargs):
        got = self._client.get_object(**kwargs)
        body = got["Body"].read()
        self.downloaded += 1
        return {**got, "Body": _Body(body)}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


class _SlowSink:
    """A parser slower than the network: each file takes a while; records how far downloads ran ahead."""

    def __init__(self, client: _CountingClient) -> None:
        self.client = client
        self.consumed = 0
        self.ahead: list[int] = []

    def add_bytes(self, name: str, data: bytes) -> None:
        import time

        time.sleep(0.05)
        self.consumed += 1
        self.ahead.append(self.client.downloaded - self.consumed)

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


@pytest.mark.parametrize(("workers", "budget", "bound"), [(2, 1 << 30, 4), (4, 1, 1)])
def test_s3_downloads_stay_a_bounded_window_ahead_of_a_slow_parser(s3, workers, budget, bound) -> None:
    from ircreds.evidence.sources import s3 as s3_source

    for day in range(1, 29):
        _put(s3, "111122223333", "us-east-1", day)
    client = _CountingClient(s3)
    sink = _SlowSink(client)
    s3_source.load_into(sink, f"s3://{BUCKET}/logs/", client=client, workers=workers, in_flight_bytes=budget)
    assert sink.consumed == 28
    # downloaded but not yet parsed: never more than the window (2 × workers files, or the byte budget)
    assert max(sink.ahead) <= bound
