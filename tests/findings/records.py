"""The leak story of the tracer's and the findings' tests, built with the one story builder (``tests/story.py``).

Tiny builders with this story's defaults (DevUser, ExampleRole, the office address, AWS documentation
values): identities, issuing calls, ordinary calls, and one leak story (DevUser → K1 leaked → K2
chained, K3 minted) used by several tests.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import story
from story import expiration_text, iso

__all__ = ["expiration_text", "iso"]  # re-exported: the finding tests import them from here

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "123456789012"
T0 = datetime(2025, 1, 20, 9, 0, 0, tzinfo=UTC)

OFFICE_IP = "198.51.100.10"
ATTACKER_IP = "203.0.113.50"
THIRD_IP = "192.0.2.77"
CLI_UA = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off"
ATTACKER_UA = "Boto3/1.7.48 Python/3.7.0 Windows/10 Botocore/1.10.48"

USER_KEY = "AKIAIOSFODNN7EXAMPLE"
K1 = "ASIAQEXAMPLEK1000001"
K2 = "ASIAQEXAMPLEK2000002"
K3 = "AKIAQEXAMPLEK3000003"

_ids = itertools.count(1)


def t(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def event_id() -> str:
    """The story's next id (requestID and eventID share one sequence; leak_story restarts it)."""
    return story.event_id(next(_ids))


def user_identity(
    user: str = "DevUser", key: str | None = USER_KEY, account: str = ACCOUNT
) -> dict[str, Any]:
    ident = story.user_identity(user, key, account=account)
    if key:  # this story has always written the key last
        ident["accessKeyId"] = ident.pop("accessKeyId")
    return ident


def role_identity(
    key: str,
    role: str = "ExampleRole",
    session: str = "DevUser",
    created: datetime = T0,
    account: str = ACCOUNT,
    role_id: str = "AROADBQP57FF2AEXAMPLE",
    **context: Any,
) -> dict[str, Any]:
    return story.role_identity(key, role, session, created, account=account, role_id=role_id, **context)


def record(
    identity: dict[str, Any],
    name: str,
    when: datetime,
    *,
    source: str | None = None,
    ip: str = OFFICE_IP,
    ua: str = CLI_UA,
    region: str = "us-east-1",
    error: str | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    recipient: str = ACCOUNT,
    **extra: Any,
) -> dict[str, Any]:
    return story.record(
        identity,
        name,
        when,
        source=source,
        ip=ip,
        ua=ua,
        region=region,
        request=request,
        response=response,
        request_id=event_id(),
        event_id=event_id(),
        recipient=recipient,
        error=error,
        **extra,
    )


def assume_role(
    caller: dict[str, Any],
    issued_key: str,
    when: datetime,
    *,
    role: str = "ExampleRole",
    session: str = "DevUser",
    account: str = ACCOUNT,
    duration: int = 3600,
    role_id: str = "AROADBQP57FF2AEXAMPLE",
    name: str = "AssumeRole",
    error: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    request, response = story.assume_role_parts(
        issued_key, when, role=role, session=session, role_id=role_id, account=account, duration=duration
    )
    return record(
        caller, name, when, request=request, response=None if error else response, error=error, **kw
    )


def leak_story() -> list[dict[str, Any]]:
    """DevUser assumes ExampleRole (K1); K1 leaks; the attacker chains into K2 and mints K3.

    Deterministic: every call returns the same records (event ids included).
    """
    global _ids
    _ids = itertools.count(1)
    dev = user_identity()
    k1 = role_identity(K1, created=t(14))
    k2 = role_identity(
        K2, role="DataPipelineRole", session="pipe", created=t(140), role_id="AROAEXAMPLEPIPE000001"
    )
    recs = [
        record(dev, "ListBuckets", t(1), source="s3.amazonaws.com"),
        assume_role(dev, K1, t(14), duration=43200),
        record(k1, "DescribeInstances", t(20)),
        record(k1, "ListBuckets", t(25), source="s3.amazonaws.com"),
        # K1 leaks: probe, recon with denials across regions, reads
        record(k1, "GetCallerIdentity", t(120), ip=ATTACKER_IP, ua=ATTACKER_UA),
    ]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "sa-east-1"]
    for i, region in enumerate(regions):
        recs.append(
            record(
                k1,
                "DescribeInstances",
                t(121 + i),
                ip=ATTACKER_IP,
                ua=ATTACKER_UA,
                region=region,
                error="Client.UnauthorizedOperation",
            )
        )
        recs.append(
            record(
                k1,
                "ListUsers",
                t(121.5 + i),
                ip=ATTACKER_IP,
                ua=ATTACKER_UA,
                region=region,
                error="AccessDenied",
            )
        )
    recs.append(
        record(k1, "GetSecretValue", t(130), ip=ATTACKER_IP, ua=ATTACKER_UA, request={"secretId": "prod/db"})
    )
    recs.append(
        assume_role(
            k1,
            K2,
            t(140),
            role="DataPipelineRole",
            session="pipe",
            role_id="AROAEXAMPLEPIPE000001",
            ip=ATTACKER_IP,
            ua=ATTACKER_UA,
        )
    )
    recs.append(record(k2, "ListBuckets", t(142), source="s3.amazonaws.com", ip=ATTACKER_IP, ua=ATTACKER_UA))
    recs.append(
        record(k1, "CreateUser", t(150), ip=ATTACKER_IP, ua=ATTACKER_UA, request={"userName": "backup-svc"})
    )
    recs.append(
        record(
            k1,
            "CreateAccessKey",
            t(151),
            ip=ATTACKER_IP,
            ua=ATTACKER_UA,
            request={"userName": "backup-svc"},
            response={
                "accessKey": {
                    "accessKeyId": K3,
                    "status": "Active",
                    "userName": "backup-svc",
                    "createDate": "Jan 20, 2025, 11:31:00 AM",
                }
            },
        )
    )
    k3 = user_identity("backup-svc", key=K3)
    recs.append(record(k3, "ListUsers", t(160), ip=THIRD_IP, ua=ATTACKER_UA))
    return recs


def traced(records: list[dict[str, Any]], key: str):  # -> ircreds.model.Trace
    """The trace node of ``key`` over ``records`` (loaded with ircreds.load), findings not run."""
    import ircreds

    return ircreds.trace(ircreds.load(records), key, findings=False)


def base_session(key: str = K1) -> list[dict[str, Any]]:
    """DevUser assumes ExampleRole (key) and uses it from the office: the quiet baseline."""
    dev = user_identity()
    ident = role_identity(key, created=t(0))
    return [
        record(dev, "ListBuckets", t(-5), source="s3.amazonaws.com"),
        assume_role(dev, key, t(0), duration=43200),
        record(ident, "DescribeInstances", t(2)),
    ]


def k1_identity() -> dict[str, Any]:
    return role_identity(K1, created=t(0))
