"""ircreds.lineage.index: the lookups a trace walks (calls, rows, children, codes), built from crafted stories.

The cache (when an index is rebuilt) is tested in tests/test_lineage.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from findings.records import (
    ACCOUNT,
    K1,
    K2,
    K3,
    OTHER_ACCOUNT,
    USER_KEY,
    assume_role,
    leak_story,
    record,
    role_identity,
    t,
    user_identity,
)

import ircreds
from ircreds.lineage import SESSION_COLUMNS, lineage_index

CODED = ("sourceIPAddress", "userAgent", "awsRegion", "eventSource")


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return ircreds.load(leak_story())


def _keys(frame: pd.DataFrame) -> pd.Series:
    return frame["userIdentity.accessKeyId"].astype(object)


def test_calls_by_key_holds_each_keys_positions_in_order(events: pd.DataFrame) -> None:
    index = lineage_index(events)
    keys = _keys(events)
    assert set(index.calls_by_key) == {USER_KEY, K1, K2, K3}
    for key, positions in index.calls_by_key.items():
        np.testing.assert_array_equal(positions, np.flatnonzero((keys == key).to_numpy()))


@pytest.mark.parametrize("reorder", ["reversed", "filtered"])
def test_calls_by_key_are_positions_not_index_labels(events: pd.DataFrame, reorder: str) -> None:
    frame = events.iloc[::-1] if reorder == "reversed" else events[events["eventName"] != "DescribeInstances"]
    assert list(frame.index) != list(range(len(frame)))  # labels differ from positions
    index = lineage_index(frame)
    for key, positions in index.calls_by_key.items():
        assert list(positions) == sorted(positions)
        assert set(_keys(frame).iloc[positions]) == {key}
    assert sum(len(p) for p in index.calls_by_key.values()) == len(frame)
    # the per-key statistics and the span read the same rows, whatever their labels and order
    for row in index.sessions.itertuples():
        calls = frame[_keys(frame) == row.access_key_id]
        assert (row.call_count, row.first_used, row.last_used) == (
            len(calls),
            calls["eventTime"].min(),
            calls["eventTime"].max(),
        )
    assert (index.start, index.end) == (frame["eventTime"].min(), frame["eventTime"].max())


@pytest.mark.parametrize("placeholder", ["Unknown", "unknown", "", "null"])
def test_calls_by_key_leaves_out_calls_without_a_real_key(placeholder: str) -> None:
    ec2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    records = [
        record(user_identity(), "ListBuckets", t(0)),
        record(ec2, "DescribeInstances", t(1), ip="ec2.amazonaws.com"),
        record(user_identity(), "ListUsers", t(2)),
    ]
    frame = ircreds.load(records)
    frame.loc[2, "userIdentity.accessKeyId"] = placeholder  # as a source may write it
    index = lineage_index(frame)
    assert set(index.calls_by_key) == {USER_KEY}
    assert list(index.calls_by_key[USER_KEY]) == [0]
    assert set(index.sessions["access_key_id"]) == {USER_KEY}
    assert index.events_len == 3


def test_rows_by_key_points_at_each_keys_rows_in_the_sessions_frame(events: pd.DataFrame) -> None:
    index = lineage_index(events)
    assert set(index.rows_by_key) == set(index.sessions["access_key_id"])
    for key, rows in index.rows_by_key.items():
        assert list(index.sessions["access_key_id"].iloc[rows]) == [key] * len(rows)


def test_a_key_issued_by_two_events_has_two_rows_and_is_one_child() -> None:
    dev = user_identity()
    first = assume_role(dev, K1, t(0))
    again = assume_role(dev, K1, t(30))  # another event handing out the same key (no sharedEventID)
    index = lineage_index(ircreds.load([first, again]))
    rows = index.rows_by_key[K1]
    assert len(rows) == 2
    assert sorted(index.sessions["issuing_event_ids"].iloc[rows]) == sorted(
        [(first["eventID"],), (again["eventID"],)]
    )
    assert index.children_by_key[USER_KEY] == [K1]


def test_children_by_key_lists_the_keys_each_credential_issued(events: pd.DataFrame) -> None:
    index = lineage_index(events)
    assert index.children_by_key == {USER_KEY: [K1], K1: [K2, K3]}
    # in the order of the sessions frame
    order = list(index.sessions["access_key_id"])
    assert index.children_by_key[K1] == sorted(index.children_by_key[K1], key=order.index)


def test_a_credential_is_never_its_own_child() -> None:
    # a malformed record: the session's own key comes back as the issued one
    rec = assume_role(role_identity(K1, created=t(0)), K1, t(1), role="DataPipelineRole", session="pipe")
    index = lineage_index(ircreds.load([rec]))
    assert index.sessions.loc[index.rows_by_key[K1][0], "parent_key"] == K1
    assert K1 not in index.children_by_key


@pytest.mark.parametrize("name", CODED)
def test_codes_decode_back_to_the_column(name: str) -> None:
    records = leak_story()
    records[3]["userAgent"] = None  # one NA
    frame = ircreds.load(records)
    codes, uniques = lineage_index(frame).codes[name]
    assert len(codes) == len(frame)
    for code, value in zip(codes, frame[name].astype(object), strict=True):
        if pd.isna(value):
            assert code == -1
        else:
            assert uniques[code] == str(value)
    assert len(set(uniques)) == len(uniques)


def test_codes_leave_out_a_column_the_frame_does_not_have(events: pd.DataFrame) -> None:
    index = lineage_index(events.drop(columns=["userAgent"]))
    assert set(index.codes) == set(CODED) - {"userAgent"}


def test_times_and_errors_follow_the_frames_rows() -> None:
    records = leak_story()
    records[6].pop("errorMessage")  # an error is its code; a message alone is not one
    records[2]["errorMessage"] = "a message without a code"
    events = ircreds.load(records)
    index = lineage_index(events)
    expected = events["eventTime"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    np.testing.assert_array_equal(index.times_ns, expected)
    np.testing.assert_array_equal(index.errors, events["errorCode"].notna().to_numpy())
    assert index.errors.sum() == 10  # the story's denied recon: 2 calls in each of 5 regions


def test_the_span_accounts_and_regions_of_the_evidence() -> None:
    regions = ["us-west-2", "eu-west-1", "us-east-1", "ap-southeast-2", "eu-west-1", "sa-east-1"]
    records = [
        record(
            user_identity(), "ListBuckets", t(i), region=region, recipient=ACCOUNT if i % 2 else OTHER_ACCOUNT
        )
        for i, region in enumerate(regions)
    ]
    records.append(record(user_identity(), "ListBuckets", t(-5), region="us-east-1"))
    index = lineage_index(ircreds.load(records))
    assert index.start == t(-5)
    assert index.end == t(len(regions) - 1)
    assert index.accounts == tuple(sorted({ACCOUNT, OTHER_ACCOUNT}))
    assert index.regions == ("ap-southeast-2", "eu-west-1", "sa-east-1", "us-east-1", "us-west-2")
    assert index.events_len == len(records)


def test_sessions_count_each_keys_calls_and_their_first_and_last_use(events: pd.DataFrame) -> None:
    index = lineage_index(events)
    for row in index.sessions.itertuples():
        calls = events.iloc[index.calls_by_key[row.access_key_id]]
        assert row.call_count == len(calls)
        assert row.first_used == calls["eventTime"].min()
        assert row.last_used == calls["eventTime"].max()


def test_sessions_are_sorted_by_issue_time_with_never_issued_keys_last(events: pd.DataFrame) -> None:
    sessions = lineage_index(events).sessions
    assert list(sessions.columns) == list(SESSION_COLUMNS)
    issued = sessions["issued_at"]
    known = issued.dropna()
    assert known.is_monotonic_increasing
    assert issued.isna().sum() == 1  # DevUser's long-term key: no issuing event, no creationDate
    assert pd.isna(issued.iloc[-1])
    assert sessions["access_key_id"].iloc[-1] == USER_KEY


def _data_story(data_category: bool) -> pd.DataFrame:
    dev = user_identity()
    extra = {"category": "Data"} if data_category else {"managementEvent": False}
    records = [
        record(dev, "ListBuckets", t(0)),
        record(dev, "GetObject", t(1), **extra),
        record(dev, "PutObject", t(2), **extra),
    ]
    return ircreds.load(records)


@pytest.mark.parametrize("data_category", [True, False], ids=["eventCategory", "managementEvent"])
def test_data_event_count_reads_the_category_or_else_the_management_flag(data_category: bool) -> None:
    assert lineage_index(_data_story(data_category)).data_event_count == 2


def test_data_event_count_without_either_column_goes_by_event_name() -> None:
    frame = _data_story(True).drop(columns=["eventCategory", "managementEvent"])
    assert lineage_index(frame).data_event_count == 2  # GetObject and PutObject are data events


def test_an_empty_frame_has_an_empty_index() -> None:
    index = lineage_index(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)}))
    assert index.events_len == 0
    assert (index.calls_by_key, index.rows_by_key, index.children_by_key, index.codes) == ({}, {}, {}, {})
    assert (index.times_ns, index.errors, index.start, index.end) == (None, None, None, None)
    assert list(index.sessions.columns) == list(SESSION_COLUMNS)
    assert len(index.sessions) == 0
