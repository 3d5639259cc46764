"""The one builder of hand-made CloudTrail stories: raw records shaped as aws-facts §1 shows.

Every hand-written incident of the tests is built here, field by field: identities
(:func:`user_identity`, :func:`role_identity`), one API call (:func:`record`), an ``AssumeRole``
(:func:`assume_role`) and STS's texts (:func:`iso`, :func:`expiration_text`). The stories themselves
live beside the tests that read them and pick their own values (keys, addresses, ids):

- ``tests/findings/records.py``: the leak story of the tracer's and the findings' tests;
- ``tests/_contain/incident.py``: the containment incident (the cut-off at noon);
- ``tests/test_report.py``: the report's 12-record incident.

The builder picks no ids and reads no clock: a story passes ``request_id`` and ``event_id`` (see
:func:`event_id` and :func:`request_id` for the two formats in use), so each story numbers its records
as it always has. Optional fields are added only when asked for, in the position CloudTrail writes
them, so a story's records are byte-for-byte what its hand-written version produced.

Example:
    >>> from datetime import UTC, datetime
    >>> when = datetime(2025, 1, 20, 9, 14, 27, tzinfo=UTC)
    >>> rec = record(user_identity("DevUser", "AKIAIOSFODNN7EXAMPLE"), "ListBuckets", when,
    ...              ip="198.51.100.10", ua="aws-cli/2.15.30", request_id=request_id(1), event_id=event_id(1))
    >>> rec["eventSource"], rec["eventTime"], rec["eventID"]
    ('s3.amazonaws.com', '2025-01-20T09:14:27Z', '00000000-0000-4000-8000-000000000001')
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_ACCOUNT = "111122223333"
DEFAULT_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"


def iso(when: datetime) -> str:
    """CloudTrail's ``eventTime`` text: UTC, whole seconds, ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiration_text(when: datetime) -> str:
    """STS's text form of an expiration, e.g. ``Jan 20, 2025, 9:14:27 PM``."""
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def event_id(n: int) -> str:
    """The ``n``-th event id of a story: ``00000000-0000-4000-8000-00000000000n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def request_id(n: int) -> str:
    """The short request id some stories use: ``req-0001``."""
    return f"req-{n:04d}"


def user_identity(
    name: str,
    key: str | None,
    *,
    account: str = DEFAULT_ACCOUNT,
    principal_id: str = "AIDACKCEVSQ6C2EXAMPLE",
) -> dict[str, Any]:
    """An ``IAMUser`` caller; ``key`` None leaves ``accessKeyId`` out (a console sign-in)."""
    ident: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
    }
    if key:
        ident["accessKeyId"] = key
    ident["userName"] = name
    return ident


def role_identity(
    key: str,
    role: str,
    session: str,
    created: datetime | str,
    *,
    account: str = DEFAULT_ACCOUNT,
    role_id: str,
    federation_data: bool = True,
    **context: Any,
) -> dict[str, Any]:
    """An ``AssumedRole`` caller: the session ``role/session`` signing with ``key``, issued at ``created``.

    ``federation_data`` False leaves the empty ``webIdFederationData`` out; ``context`` adds (or
    replaces) ``sessionContext`` fields, e.g. ``ec2RoleDelivery="2.0"``.
    """
    ctx: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id,
            "arn": f"arn:aws:iam::{account}:role/{role}",
            "accountId": account,
            "userName": role,
        },
    }
    if federation_data:
        ctx["webIdFederationData"] = {}
    ctx["attributes"] = {
        "creationDate": created if isinstance(created, str) else iso(created),
        "mfaAuthenticated": "false",
    }
    ctx.update(context)
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": ctx,
    }


def record(
    identity: dict[str, Any],
    name: str,
    when: datetime | str,
    *,
    ip: str,
    ua: str,
    request_id: str,
    event_id: str,
    source: str | None = None,
    region: str = "us-east-1",
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    read_only: bool | None = None,
    recipient: str = DEFAULT_ACCOUNT,
    category: str | None = "Management",
    error: str | None = None,
    error_message: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One management API call as CloudTrail writes it.

    ``source`` defaults to the service of ``name`` (:func:`source_of`); ``read_only`` and ``category``
    are written only when given; ``error`` adds ``errorCode`` and ``errorMessage`` (default: not
    authorized to perform ``name``); ``extra`` fields come last, or replace a field in its place.
    """
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": when if isinstance(when, str) else iso(when),
        "eventSource": source or source_of(name),
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": request,
        "responseElements": response,
        "requestID": request_id,
        "eventID": event_id,
    }
    if read_only is not None:
        rec["readOnly"] = read_only
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = recipient
    if category is not None:
        rec["eventCategory"] = category
    if error:
        rec["errorCode"] = error
        rec["errorMessage"] = error_message or f"User is not authorized to perform: {name}"
    rec.update(extra)
    return rec


def assume_role_parts(
    issued_key: str,
    when: datetime,
    *,
    role: str,
    session: str,
    role_id: str,
    account: str = DEFAULT_ACCOUNT,
    duration: int = 3600,
    token: str = DEFAULT_TOKEN,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``requestParameters`` and ``responseElements`` of a successful ``AssumeRole``."""
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    request = {"roleArn": role_arn, "roleSessionName": session, "durationSeconds": duration}
    response = {
        "credentials": {
            "accessKeyId": issued_key,
            "sessionToken": token,
            "expiration": expiration_text(when + timedelta(seconds=duration)),
        },
        "assumedRoleUser": {
            "assumedRoleId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        },
    }
    return request, response


def assume_role(
    caller: dict[str, Any],
    issued_key: str,
    when: datetime,
    *,
    role: str,
    session: str,
    role_id: str,
    account: str = DEFAULT_ACCOUNT,
    duration: int = 3600,
    token: str = DEFAULT_TOKEN,
    name: str = "AssumeRole",
    error: str | None = None,
    role_resource: bool = False,
    **kw: Any,
) -> dict[str, Any]:
    """``caller`` assumes ``role`` as ``session`` and gets ``issued_key`` (nothing when ``error``).

    ``role_resource`` adds the role to ``resources`` as CloudTrail does; ``kw`` goes to :func:`record`.
    """
    request, response = assume_role_parts(
        issued_key,
        when,
        role=role,
        session=session,
        role_id=role_id,
        account=account,
        duration=duration,
        token=token,
    )
    if role_resource:
        kw["resources"] = [{"accountId": account, "type": "AWS::IAM::Role", "ARN": request["roleArn"]}]
    return record(
        caller, name, when, request=request, response=None if error else response, error=error, **kw
    )


_IAM_CALLS = frozenset(
    {
        "CreateUser",
        "CreateAccessKey",
        "CreateLoginProfile",
        "AttachUserPolicy",
        "PutRolePolicy",
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "CreatePolicyVersion",
        "ListUsers",
        "GetUser",
    }
)


def source_of(name: str) -> str:
    """The ``eventSource`` of an API call name, for the calls the stories make (else EC2)."""
    if name.startswith(("AssumeRole", "GetSessionToken", "GetFederationToken", "GetCallerIdentity")):
        return "sts.amazonaws.com"
    if name in _IAM_CALLS:
        return "iam.amazonaws.com"
    if name.endswith("Object") or name.startswith(("ListBucket", "GetBucket")):
        return "s3.amazonaws.com"
    if name in {"GetSecretValue"}:
        return "secretsmanager.amazonaws.com"
    if name in {"StopLogging", "DeleteTrail", "PutEventSelectors"}:
        return "cloudtrail.amazonaws.com"
    return "ec2.amazonaws.com"
