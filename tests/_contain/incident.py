"""A small hand-written incident in raw CloudTrail shape (aws-facts §1.4-1.5b), for the containment tests.

DevUser assumes ExampleRole (K1, 12 h); K1 leaks to 203.0.113.50, chains into DataPipelineRole (K2, 1 h),
creates user backup-svc and its access key K3 (used from 192.0.2.66). Legitimate ExampleRole sessions:
ci (K6, expired before noon), alice (K4, live at noon) and alice again after noon (K5). The cut-off goes on
ExampleRole at 12:00:00Z; afterwards K1 is denied explicitly, its GetCallerIdentity still works, K2 lives on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import story

ACCOUNT = "111122223333"
K1 = "ASIAK1LEAKED0EXAMPLE"
K2 = "ASIAK2CHAIN00EXAMPLE"
K3 = "AKIAK3MINTED0EXAMPLE"
K4 = "ASIAK4LEGIT00EXAMPLE"
K5 = "ASIAK5LATER00EXAMPLE"
K6 = "ASIAK6EXPIREDEXAMPLE"
DEV_KEY = "AKIAIOSFODNN7EXAMPLE"
ALICE_KEY = "AKIAALICE0000EXAMPLE"
CI_KEY = "AKIACI0000000EXAMPLE"
EXAMPLE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ExampleRole"
PIPELINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/DataPipelineRole"
ATTACKER_IP = "203.0.113.50"
THIRD_IP = "192.0.2.66"
OFFICE_IP = "198.51.100.10"
ROLE_IDS = {"ExampleRole": "AROAEXAMPLEROLE0EXAMPLE", "DataPipelineRole": "AROAPIPELINEROLEEXAMPLE"}
NOON = datetime(2025, 1, 20, 12, 0, tzinfo=UTC)
K1_ISSUED = datetime(2025, 1, 20, 9, 14, 27, tzinfo=UTC)
K2_ISSUED = datetime(2025, 1, 20, 11, 10, 9, tzinfo=UTC)

# One sequence for the whole test session (never restarted): records added by a test get new ids.
_counter = iter(range(1, 10_000))


def _t(h: int, m: int, s: int = 0) -> datetime:
    return datetime(2025, 1, 20, h, m, s, tzinfo=UTC)


def _ids() -> dict[str, str]:
    n = next(_counter)
    return {"request_id": story.request_id(n), "event_id": story.event_id(n)}


def _ua(ip: str) -> str:
    return "aws-cli/2.15.30" if ip != ATTACKER_IP else "python-requests/2.31.0"


def user_identity(name: str, key: str) -> dict[str, Any]:
    principal_id = f"AIDA{name.upper():0<13.13}EXAMPLE"[:21]
    return story.user_identity(name, key, account=ACCOUNT, principal_id=principal_id)


def role_identity(role: str, session: str, key: str, issued: datetime) -> dict[str, Any]:
    return story.role_identity(key, role, session, issued, account=ACCOUNT, role_id=ROLE_IDS[role])


def assume_role(
    t: datetime, caller: dict[str, Any], ip: str, role: str, session: str, key: str, seconds: int
) -> dict[str, Any]:
    return story.assume_role(
        caller,
        key,
        t,
        role=role,
        session=session,
        role_id=ROLE_IDS[role],
        account=ACCOUNT,
        duration=seconds,
        token="<redacted>",
        role_resource=True,
        source="sts.amazonaws.com",
        ip=ip,
        ua=_ua(ip),
        category=None,
        **_ids(),
    )


def call(
    t: datetime, identity: dict[str, Any], ip: str, source: str, name: str, **extra: Any
) -> dict[str, Any]:
    """One call; ``extra`` holds raw CloudTrail fields (``requestParameters=``, ``errorCode=``...)."""
    return story.record(identity, name, t, source=source, ip=ip, ua=_ua(ip), category=None, **_ids(), **extra)


def records() -> list[dict[str, Any]]:
    """The incident's records (fresh dicts on every call)."""
    dev = user_identity("DevUser", DEV_KEY)
    alice = user_identity("alice", ALICE_KEY)
    ci = user_identity("ci-deployer", CI_KEY)
    k1 = role_identity("ExampleRole", "devuser", K1, K1_ISSUED)
    k2 = role_identity("DataPipelineRole", "pipeline", K2, K2_ISSUED)
    k4 = role_identity("ExampleRole", "alice", K4, _t(11, 30))
    k3 = user_identity("backup-svc", K3)
    denied = "User: arn:aws:sts::111122223333:assumed-role/ExampleRole/devuser is not authorized to perform: s3:ListBuckets with an explicit deny in an identity-based policy"
    out = [
        assume_role(_t(8, 0), ci, OFFICE_IP, "ExampleRole", "ci-run", K6, 3600),
        assume_role(K1_ISSUED, dev, OFFICE_IP, "ExampleRole", "devuser", K1, 43200),
        call(_t(9, 20), k1, OFFICE_IP, "s3.amazonaws.com", "ListBuckets"),
        call(_t(11, 0, 5), k1, ATTACKER_IP, "sts.amazonaws.com", "GetCallerIdentity"),
        call(_t(11, 2), k1, ATTACKER_IP, "s3.amazonaws.com", "ListBuckets"),
        assume_role(K2_ISSUED, k1, ATTACKER_IP, "DataPipelineRole", "pipeline", K2, 3600),
        call(_t(11, 15), k2, ATTACKER_IP, "s3.amazonaws.com", "ListBuckets"),
        call(
            _t(11, 20),
            k1,
            ATTACKER_IP,
            "iam.amazonaws.com",
            "CreateUser",
            requestParameters={"userName": "backup-svc"},
            responseElements={
                "user": {"userName": "backup-svc", "arn": f"arn:aws:iam::{ACCOUNT}:user/backup-svc"}
            },
        ),
        call(
            _t(11, 21),
            k1,
            ATTACKER_IP,
            "iam.amazonaws.com",
            "CreateAccessKey",
            requestParameters={"userName": "backup-svc"},
            responseElements={
                "accessKey": {
                    "accessKeyId": K3,
                    "status": "Active",
                    "userName": "backup-svc",
                    "createDate": "Jan 20, 2025, 11:21:00 AM",
                }
            },
        ),
        assume_role(_t(11, 30), alice, OFFICE_IP, "ExampleRole", "alice", K4, 3600),
        call(_t(11, 31), k4, OFFICE_IP, "s3.amazonaws.com", "ListBuckets"),
        call(_t(11, 40), k3, THIRD_IP, "s3.amazonaws.com", "ListBuckets"),
        call(
            _t(12, 5),
            k1,
            ATTACKER_IP,
            "s3.amazonaws.com",
            "ListBuckets",
            errorCode="AccessDenied",
            errorMessage=denied,
        ),
        call(_t(12, 6), k1, ATTACKER_IP, "sts.amazonaws.com", "GetCallerIdentity"),
        call(_t(12, 8), k2, ATTACKER_IP, "s3.amazonaws.com", "ListBuckets"),
        assume_role(_t(12, 30), alice, OFFICE_IP, "ExampleRole", "alice", K5, 3600),
    ]
    return json.loads(json.dumps(out))


def account_json() -> dict[str, Any]:
    """The account before the incident, in the scenario helper's ``account.json`` shape."""
    trust_users = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    read = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
    }
    return {
        "account_id": ACCOUNT,
        "users": [
            {
                "name": "DevUser",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/DevUser",
                "inline_policies": {},
                "managed_policy_arns": [],
            },
            {
                "name": "alice",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
                "inline_policies": {},
                "managed_policy_arns": [],
            },
        ],
        "roles": [
            {
                "name": "ExampleRole",
                "arn": EXAMPLE_ROLE,
                "path": "/",
                "role_id": ROLE_IDS["ExampleRole"],
                "trust_policy": trust_users,
                "inline_policies": {"S3Read": read},
                "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "max_session_duration": 43200,
            },
            {
                "name": "DataPipelineRole",
                "arn": PIPELINE_ROLE,
                "path": "/",
                "role_id": ROLE_IDS["DataPipelineRole"],
                "trust_policy": trust_users,
                "inline_policies": {},
                "managed_policy_arns": [],
                "max_session_duration": 3600,
            },
        ],
    }
