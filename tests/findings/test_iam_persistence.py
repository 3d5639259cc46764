from __future__ import annotations

import pytest

from findings.records import K1, base_session, k1_identity, record, t, traced
from ircreds.findings import iam_persistence


@pytest.mark.parametrize(
    ("name", "request_", "named"),
    [
        ("CreateUser", {"userName": "backup-svc"}, "backup-svc"),
        ("CreateLoginProfile", {"userName": "backup-svc"}, "backup-svc"),
        ("UpdateAssumeRolePolicy", {"roleName": "ExampleRole", "policyDocument": "{}"}, "ExampleRole"),
        ("CreateRole", {"roleName": "maintenance"}, "maintenance"),
    ],
)
def test_iam_persistence_flags_new_principals_and_trust_changes(
    name: str, request_: dict, named: str
) -> None:
    call = record(k1_identity(), name, t(60), source="iam.amazonaws.com", request=request_)
    found = iam_persistence.detect(traced([*base_session(), call], K1))
    assert len(found) == 1
    assert name in found[0].summary
    assert named in found[0].summary
    assert found[0].severity == "critical"


def test_iam_persistence_ignores_failed_attempts_and_reads() -> None:
    recs = [
        *base_session(),
        record(
            k1_identity(),
            "CreateUser",
            t(60),
            source="iam.amazonaws.com",
            request={"userName": "x"},
            error="AccessDenied",
        ),
        record(k1_identity(), "ListUsers", t(61), source="iam.amazonaws.com"),
    ]
    assert iam_persistence.detect(traced(recs, K1)) == []
