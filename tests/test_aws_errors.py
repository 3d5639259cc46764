"""AWS error codes read as one sentence (what, where, what to try) and keep the code; no AWS needed."""

from __future__ import annotations

import pytest

from ircreds.containment.aws_errors import error_for_code, unreachable_error
from ircreds.errors import AwsError, IrcredsError

ACTION = "iam:PutRolePolicy"
RESOURCE = "arn:aws:iam::123456789012:role/ExampleRole"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("AccessDenied", f"not allowed to call {ACTION} on {RESOURCE}: grant {ACTION} on {RESOURCE}"),
        ("AccessDeniedException", "not allowed to call"),
        ("UnauthorizedOperation", "not allowed to call"),
        ("Custom.AccessDeniedForReason", "not allowed to call"),
        ("NoSuchEntity", f"{RESOURCE} does not exist in this account"),
        ("Throttling", "kept throttling"),
        ("RequestLimitExceeded", "kept throttling"),
        ("ExpiredToken", f"credentials were rejected calling {ACTION}"),
        ("InvalidClientTokenId", "credentials were rejected"),
    ],
)
def test_known_codes_get_a_sentence_saying_what_to_try(code: str, says: str) -> None:
    err = error_for_code(code, "raw AWS text", action=ACTION, resource=RESOURCE)
    assert isinstance(err, IrcredsError)
    assert err.code == code
    assert says in str(err)
    assert str(err).endswith(f"(AWS {code})")
    assert "raw AWS text" not in str(err)


def test_an_unknown_code_keeps_the_aws_message() -> None:
    err = error_for_code(
        "MalformedPolicyDocument", "Syntax errors in policy.", action=ACTION, resource=RESOURCE
    )
    assert (
        str(err) == f"{ACTION} on {RESOURCE} failed: Syntax errors in policy. (AWS MalformedPolicyDocument)"
    )
    assert err.code == "MalformedPolicyDocument"


def test_an_unreachable_endpoint_names_the_call_and_has_no_code() -> None:
    err = unreachable_error(ConnectionError("refused"), action=ACTION, resource=RESOURCE)
    assert isinstance(err, AwsError)
    assert str(err).startswith(f"{ACTION} on {RESOURCE} could not reach AWS (ConnectionError: refused)")
    assert err.code is None
