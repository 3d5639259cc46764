"""How an AWS error reads: one sentence saying what failed, where, and what to try, keeping the AWS code.

The pure half of :mod:`ircreds.aws`'s ``ClientError`` mapping: the edge pulls the code and message out of
botocore's exception and hands them here, so the wording is tested without AWS.

Example:
    >>> err = error_for_code("AccessDenied", "", action="iam:PutRolePolicy", resource="role/ExampleRole")
    >>> err.code, str(err).split(":")[0]
    ('AccessDenied', 'the caller is not allowed to call iam')
"""

from __future__ import annotations

from ircreds.errors import AwsError
from ircreds.schema import DENIED_ERROR_CODES, is_denied_code

#: The 0.1 name of :data:`ircreds.schema.DENIED_ERROR_CODES`.
DENIED_CODES = DENIED_ERROR_CODES
THROTTLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "UnrecognizedClientException"}
)


def unreachable_error(err: Exception, *, action: str, resource: str) -> AwsError:
    """The error for a call that never got an AWS answer (endpoint, network, credentials chain)."""
    return AwsError(
        f"{action} on {resource} could not reach AWS ({type(err).__name__}: {err}); check the endpoint and credentials"
    )


def error_for_code(code: str, message: str, *, action: str, resource: str) -> AwsError:
    """One sentence for an AWS error code: what failed, where, and what to try; keeps ``code``.

    Example:
        >>> str(error_for_code("NoSuchEntity", "", action="iam:GetRolePolicy", resource="role/Gone"))[:33]
        'role/Gone does not exist in this '
    """
    if is_denied_code(code):
        return AwsError(
            f"the caller is not allowed to call {action} on {resource}: grant {action} on {resource} "
            f"(or use a principal that has it) and retry (AWS {code})",
            code=code,
        )
    if code == "NoSuchEntity":
        return AwsError(
            f"{resource} does not exist in this account: check the plan's target and the profile or endpoint (AWS {code})",
            code=code,
        )
    if code in THROTTLE_CODES:
        return AwsError(
            f"AWS kept throttling {action} on {resource} after botocore's standard retries; wait a minute and retry (AWS {code})",
            code=code,
        )
    if code in CREDENTIAL_CODES:
        return AwsError(
            f"the credentials were rejected calling {action}: refresh them or pick another profile (AWS {code})",
            code=code,
        )
    return AwsError(f"{action} on {resource} failed: {message} (AWS {code})", code=code)
