"""ircreds.lineage.values: reading one record's values (missing columns, NA cells, placeholders, JSON, ARNs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from ircreds import times
from ircreds.lineage import values
from ircreds.lineage.values import (
    _account_of,
    _col,
    _json,
    _key,
    _records,
    _role_name,
    _session_name_of,
    _str,
    _time_col,
)

ROLE_ARN = "arn:aws:iam::111122223333:role/ExampleRole"
SESSION_ARN = "arn:aws:sts::111122223333:assumed-role/ExampleRole/alice@example.com"


@pytest.mark.parametrize("missing", [None, pd.NA, float("nan"), np.float64("nan"), ""])
def test_str_reads_every_kind_of_missing_as_none(missing: object) -> None:
    assert _str(missing) is None


@pytest.mark.parametrize(("value", "text"), [("x", "x"), (0, "0"), (12, "12"), (False, "False")])
def test_str_keeps_present_values_as_text(value: object, text: str) -> None:
    assert _str(value) == text


@pytest.mark.parametrize("placeholder", ["", "Unknown", "unknown", "None", "null", None, pd.NA])
def test_key_reads_placeholder_key_ids_as_no_key(placeholder: object) -> None:
    assert _key(placeholder) is None


def test_key_keeps_a_real_key_id() -> None:
    assert _key("ASIAIOSFODNN7EXAMPLE") == "ASIAIOSFODNN7EXAMPLE"


def test_json_returns_a_dict_as_given() -> None:
    given = {"roleArn": ROLE_ARN}
    assert _json(given) is given


def test_json_parses_an_object_written_as_text() -> None:
    assert _json(json.dumps({"roleArn": ROLE_ARN, "durationSeconds": 3600})) == {
        "roleArn": ROLE_ARN,
        "durationSeconds": 3600,
    }


@pytest.mark.parametrize("text", ['["a"]', "{not json", "null", "", None, pd.NA, 42, '"{"'])
def test_json_of_anything_but_an_object_is_empty(text: object) -> None:
    assert _json(text) == {}


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        (ROLE_ARN, "111122223333"),
        (SESSION_ARN, "111122223333"),
        ("arn:aws:sts::123456789012:federated-user/admin", "123456789012"),
        ("arn:aws:s3:::example-bucket", None),  # S3 ARNs carry no account
        ("arn:aws:iam::111122223333", None),  # too short to be a resource ARN
        ("ec2.amazonaws.com", None),
        ("", None),
        (None, None),
    ],
)
def test_account_of_reads_the_fifth_field_of_an_arn(arn: str | None, account: str | None) -> None:
    assert _account_of(arn) == account


@pytest.mark.parametrize(
    ("arn", "principal_id", "name"),
    [
        (SESSION_ARN, "AROAEXAMPLE:other", "alice@example.com"),  # the ARN wins over the principal id
        ("arn:aws:sts::123456789012:federated-user/admin", None, "admin"),
        (None, "AROADBQP57FF2AEXAMPLE:i-0123456789abcdef0", "i-0123456789abcdef0"),
        ("arn:aws:iam::111122223333:user/DevUser", "AIDACKCEVSQ6C2EXAMPLE", None),
        (None, None, None),
    ],
)
def test_session_name_of_reads_the_arn_then_the_principal_id(
    arn: str | None, principal_id: str | None, name: str | None
) -> None:
    assert _session_name_of(arn, principal_id) == name


def test_role_name_is_the_last_part_of_a_role_arn_with_a_path() -> None:
    assert _role_name("arn:aws:iam::111122223333:role/service-role/LambdaRole") == "LambdaRole"
    assert _role_name(ROLE_ARN) == "ExampleRole"
    assert _role_name(None) is None


def test_col_of_a_missing_column_is_all_na_on_the_frames_index() -> None:
    frame = pd.DataFrame({"eventName": ["A", "B"]}, index=[7, 3])
    got = _col(frame, "errorCode")
    assert list(got.index) == [7, 3]
    assert got.isna().all()
    pd.testing.assert_series_equal(_col(frame, "eventName"), frame["eventName"])


def test_time_col_parses_text_to_utc_and_bad_values_to_nat() -> None:
    frame = pd.DataFrame({"t": ["2025-01-20T09:14:27Z", "2025-01-20T10:14:27+01:00", "garbage", None]})
    got = _time_col(frame, "t")
    assert str(got.dt.tz) == "UTC"
    assert got.iloc[0] == pd.Timestamp("2025-01-20T09:14:27Z")
    assert got.iloc[1] == pd.Timestamp("2025-01-20T09:14:27Z")
    assert got.iloc[2:].isna().all()


def test_time_col_keeps_a_time_zone_aware_column_and_reads_a_missing_one_as_nat() -> None:
    frame = pd.DataFrame({"t": pd.to_datetime(["2025-01-20T09:14:27Z"], utc=True)})
    pd.testing.assert_series_equal(_time_col(frame, "t"), frame["t"])  # kept as it is
    assert _time_col(frame, "missing").isna().all()


def test_records_reads_the_masked_rows_in_order_with_na_for_missing_fields() -> None:
    frame = pd.DataFrame(
        {"eventName": ["A", "B", "C"], "eventID": ["e1", "e2", "e3"]},
        index=[10, 20, 30],  # labels are not positions
    )
    got = _records(frame, np.array([True, False, True]), ("eventID", "errorCode"))
    assert [r["eventID"] for r in got] == ["e1", "e3"]
    assert all(set(r) == {"eventID", "errorCode"} for r in got)
    assert all(r["errorCode"] is pd.NA for r in got)
    assert _records(frame, np.zeros(3, dtype=bool), ("eventID",)) == []


def test_parse_expiration_here_is_the_one_time_parser() -> None:
    assert values.parse_expiration is times.parse_expiration
    assert values.parse_expiration("Jan 20, 2025, 9:14:27 PM") == datetime(
        2025, 1, 20, 21, 14, 27, tzinfo=UTC
    )
