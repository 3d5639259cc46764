from __future__ import annotations

from findings.records import ATTACKER_IP, K1, OFFICE_IP, base_session, k1_identity, record, t, traced
from ircreds.findings import new_source_ip


def test_new_source_ip_flags_an_ip_the_issuer_never_used() -> None:
    recs = [*base_session(), record(k1_identity(), "ListUsers", t(60), ip=ATTACKER_IP)]
    found = new_source_ip.detect(traced(recs, K1))
    assert len(found) == 1
    assert ATTACKER_IP in found[0].summary
    assert "DevUser" in found[0].summary
    assert found[0].event_ids == (recs[-1]["eventID"],)
    assert found[0].severity == "high"


def test_new_source_ip_ignores_the_issuers_own_ip_and_aws_internal() -> None:
    recs = [
        *base_session(),
        record(k1_identity(), "ListUsers", t(60), ip=OFFICE_IP),
        record(k1_identity(), "ListUsers", t(61), ip="AWS Internal"),
    ]
    assert new_source_ip.detect(traced(recs, K1)) == []


def test_new_source_ip_is_low_for_an_address_the_roles_other_sessions_use() -> None:
    from dataclasses import replace

    recs = [*base_session(), record(k1_identity(), "ListUsers", t(60), ip=ATTACKER_IP)]
    node = traced(recs, K1)
    node = replace(node, summary=replace(node.summary, peer_source_ips=(ATTACKER_IP,)))
    (found,) = new_source_ip.detect(node)
    assert found.severity == "low"
    assert "other sessions" in found.summary
