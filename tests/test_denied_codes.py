"""One set of "denied" error codes and one GetCallerIdentity exemption, read by findings, verify and the AWS layer."""

from __future__ import annotations

import pandas as pd
import pytest

from ircreds.containment import aws_errors
from ircreds.findings import _util
from ircreds.schema import DENIED_ERROR_CODES, is_denied_code, is_never_denied


@pytest.mark.parametrize("code", [*sorted(DENIED_ERROR_CODES), "Client.AccessDenied"])
def test_every_denied_code_means_denied_to_findings_and_to_the_aws_layer(code: str) -> None:
    assert is_denied_code(code)
    assert bool(_util.denied(pd.DataFrame({"errorCode": [code]})).iloc[0])
    err = aws_errors.error_for_code(code, "", action="iam:PutRolePolicy", resource="role/ExampleRole")
    assert "not allowed" in str(err)


def test_other_errors_are_not_denials() -> None:
    assert not is_denied_code("ThrottlingException")
    assert not bool(_util.denied(pd.DataFrame({"errorCode": ["NoSuchKey"]})).iloc[0])


@pytest.mark.parametrize(
    ("source", "name", "exempt"),
    [
        ("sts.amazonaws.com", "GetCallerIdentity", True),
        ("sts.amazonaws.com", "getcalleridentity", True),
        ("iam.amazonaws.com", "GetCallerIdentity", False),
        ("s3.amazonaws.com", "ListBuckets", False),
    ],
)
def test_the_evaluator_and_verify_share_one_exemption(source: str, name: str, exempt: bool) -> None:
    from ircreds.containment import evaluate

    assert is_never_denied(source, name) is exempt
    assert (evaluate.call_action(source, name).lower() in evaluate.UNBLOCKABLE_ACTIONS) is exempt
