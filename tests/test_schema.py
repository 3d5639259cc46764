"""The events-frame contract: columns, dtypes, validation."""

from __future__ import annotations

import pandas as pd
import pytest

import ircreds
from ircreds.errors import LogFormatError
from ircreds.schema import COLUMNS, DTYPES, coerce_events, concat_events, empty_events, validate_events

CONTRACT_ORDER = [
    "eventTime", "eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
    "errorMessage", "userIdentity.type", "userIdentity.arn", "userIdentity.accountId",
    "userIdentity.accessKeyId", "userIdentity.principalId", "userIdentity.userName", "userIdentity.invokedBy",
    "userIdentity.sessionContext.sessionIssuer.arn", "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.attributes.mfaAuthenticated", "userIdentity.sessionContext.sourceIdentity",
    "recipientAccountId", "eventID", "requestID", "sharedEventID", "eventType", "readOnly", "vpcEndpointId",
    "requestParameters", "responseElements", "resources", "additionalEventData", "issued.accessKeyId",
    "issued.expiration", "evidence.file", "evidence.line",
]  # fmt: skip


def test_columns_start_with_the_contract_order_and_end_with_extra() -> None:
    assert list(COLUMNS[: len(CONTRACT_ORDER)]) == CONTRACT_ORDER
    assert COLUMNS[-1] == "extra"
    assert len(set(COLUMNS)) == len(COLUMNS)


def test_empty_events_has_every_column_and_dtype() -> None:
    df = empty_events()
    assert list(df.columns) == list(COLUMNS)
    assert str(df["eventTime"].dtype) == "datetime64[ns, UTC]"
    assert str(df["issued.expiration"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(df["eventName"].dtype, pd.CategoricalDtype)
    assert df["userIdentity.arn"].dtype == pd.StringDtype("pyarrow")
    assert df["readOnly"].dtype == pd.BooleanDtype()
    assert df["evidence.line"].dtype == pd.Int64Dtype()


def test_validate_events_accepts_a_loaded_frame() -> None:
    df = ircreds.load([{"eventTime": "2025-01-20T09:14:27Z", "eventName": "ListUsers"}])
    assert validate_events(df) is df


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.drop(columns=["eventID"]), "missing column eventID"),
        (lambda df: df.assign(eventName=df["eventName"].astype(object)), "column eventName has dtype"),
        (lambda df: df[list(reversed(df.columns))], "canonical order"),
    ],
)
def test_validate_events_names_what_is_wrong(mutate, message) -> None:
    with pytest.raises(LogFormatError, match=message):
        validate_events(mutate(empty_events()))


def test_coerce_events_restores_dtypes_from_plain_columns() -> None:
    df = ircreds.load([{"eventTime": "2025-01-20T09:14:27Z", "eventName": "ListUsers", "readOnly": True}])
    plain = df.astype({"eventName": object, "userIdentity.arn": object})
    back = coerce_events(plain)
    assert all(back[c].dtype == df[c].dtype for c in COLUMNS if DTYPES[c] != "category")
    assert isinstance(back["eventName"].dtype, pd.CategoricalDtype)


def test_concat_events_unions_categories() -> None:
    a = ircreds.load([{"eventTime": "2025-01-20T09:14:27Z", "eventName": "ListUsers"}])
    b = ircreds.load([{"eventTime": "2025-01-20T09:15:27Z", "eventName": "GetCallerIdentity"}])
    both = concat_events([a, b])
    assert isinstance(both["eventName"].dtype, pd.CategoricalDtype)
    assert list(both["eventName"]) == ["ListUsers", "GetCallerIdentity"]
