from __future__ import annotations

from findings.records import ATTACKER_IP, K1, OFFICE_IP, base_session, k1_identity, record, t, traced
from ircreds.findings import caller_identity_probe


def test_caller_identity_probe_flags_get_caller_identity_first_from_a_new_ip() -> None:
    probe = record(k1_identity(), "GetCallerIdentity", t(60), ip=ATTACKER_IP)
    recs = [*base_session(), probe, record(k1_identity(), "ListUsers", t(61), ip=ATTACKER_IP)]
    found = caller_identity_probe.detect(traced(recs, K1))
    assert [f.event_ids for f in found] == [(probe["eventID"],)]
    assert ATTACKER_IP in found[0].summary


def test_caller_identity_probe_ignores_it_when_not_first_from_that_ip() -> None:
    recs = [
        *base_session(),
        record(k1_identity(), "ListUsers", t(60), ip=ATTACKER_IP),
        record(k1_identity(), "GetCallerIdentity", t(61), ip=ATTACKER_IP),
    ]
    assert caller_identity_probe.detect(traced(recs, K1)) == []


def test_caller_identity_probe_ignores_it_from_the_issuers_ip() -> None:
    recs = [*base_session(), record(k1_identity(), "GetCallerIdentity", t(60), ip=OFFICE_IP)]
    assert caller_identity_probe.detect(traced(recs, K1)) == []
