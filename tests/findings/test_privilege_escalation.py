from __future__ import annotations

import pytest

from findings.records import K1, base_session, k1_identity, record, t, traced
from ircreds.findings import privilege_escalation


@pytest.mark.parametrize(
    ("name", "source", "request_"),
    [
        (
            "AttachUserPolicy",
            "iam.amazonaws.com",
            {"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        (
            "CreatePolicyVersion",
            "iam.amazonaws.com",
            {"policyArn": "arn:aws:iam::111122223333:policy/p", "setAsDefault": True},
        ),
        ("UpdateFunctionCode20150331v2", "lambda.amazonaws.com", {"functionName": "billing"}),
        ("RunInstances", "ec2.amazonaws.com", {"iamInstanceProfile": {"name": "AdminProfile"}}),
    ],
)
def test_privilege_escalation_flags_policy_code_and_passrole(name: str, source: str, request_: dict) -> None:
    call = record(k1_identity(), name, t(60), source=source, request=request_)
    found = privilege_escalation.detect(traced([*base_session(), call], K1))
    assert len(found) == 1
    assert name in found[0].summary
    assert found[0].event_ids == (call["eventID"],)


def test_privilege_escalation_ignores_failures_and_instances_without_a_role() -> None:
    recs = [
        *base_session(),
        record(
            k1_identity(),
            "AttachUserPolicy",
            t(60),
            source="iam.amazonaws.com",
            request={"userName": "x"},
            error="AccessDenied",
        ),
        record(k1_identity(), "RunInstances", t(61), request={"instanceType": "t3.micro"}),
    ]
    assert privilege_escalation.detect(traced(recs, K1)) == []
