from __future__ import annotations

from findings.records import ATTACKER_IP, assume_role, record, role_identity, t, traced
from ircreds.findings import instance_credential_exfiltration

EC2 = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
INSTANCE = "i-0123456789abcdef0"
NAT_IP = "198.51.100.200"
KEY_A = "ASIAQEXAMPLEINSTA001"
KEY_B = "ASIAQEXAMPLEINSTB002"


def _instance_sessions(attacker_ip: str) -> list[dict]:
    a = role_identity(KEY_A, role="WebRole", session=INSTANCE, created=t(0), ec2RoleDelivery="2.0")
    b = role_identity(KEY_B, role="WebRole", session=INSTANCE, created=t(300), ec2RoleDelivery="2.0")
    return [
        assume_role(
            EC2, KEY_A, t(0), role="WebRole", session=INSTANCE, ip="ec2.amazonaws.com", ua="ec2.amazonaws.com"
        ),
        record(a, "DescribeTags", t(1), ip=NAT_IP),
        assume_role(
            EC2,
            KEY_B,
            t(300),
            role="WebRole",
            session=INSTANCE,
            ip="ec2.amazonaws.com",
            ua="ec2.amazonaws.com",
        ),
        record(b, "DescribeTags", t(301), ip=NAT_IP),
        record(b, "ListBuckets", t(302), ip="10.0.1.5", vpcEndpointId="vpce-0example"),
        record(b, "GetCallerIdentity", t(320), ip=attacker_ip),
    ]


def test_instance_credential_exfiltration_flags_a_public_ip_the_role_never_used() -> None:
    recs = _instance_sessions(ATTACKER_IP)
    found = instance_credential_exfiltration.detect(traced(recs, KEY_B))
    assert len(found) == 1
    assert ATTACKER_IP in found[0].summary
    assert INSTANCE in found[0].summary
    assert found[0].severity == "high"
    assert found[0].event_ids == (recs[-1]["eventID"],)


def test_instance_credential_exfiltration_ignores_the_instances_nat_and_private_ips() -> None:
    assert instance_credential_exfiltration.detect(traced(_instance_sessions(NAT_IP), KEY_B)) == []


def test_instance_credential_exfiltration_ignores_non_instance_sessions() -> None:
    ident = role_identity("ASIAQEXAMPLEHUMAN001", role="WebRole", session="alice", created=t(0))
    recs = [record(ident, "ListBuckets", t(1), ip=ATTACKER_IP)]
    assert instance_credential_exfiltration.detect(traced(recs, "ASIAQEXAMPLEHUMAN001")) == []
