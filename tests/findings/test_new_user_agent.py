from __future__ import annotations

from findings.records import ATTACKER_UA, CLI_UA, K1, base_session, k1_identity, record, t, traced
from ircreds.findings import new_user_agent


def test_new_user_agent_flags_a_client_the_issuer_never_used() -> None:
    recs = [*base_session(), record(k1_identity(), "ListUsers", t(60), ua=ATTACKER_UA)]
    found = new_user_agent.detect(traced(recs, K1))
    assert len(found) == 1
    assert "Windows/10" in found[0].summary
    assert found[0].event_ids == (recs[-1]["eventID"],)


def test_new_user_agent_ignores_the_issuers_own_client() -> None:
    recs = [*base_session(), record(k1_identity(), "ListUsers", t(60), ua=CLI_UA)]
    assert new_user_agent.detect(traced(recs, K1)) == []
