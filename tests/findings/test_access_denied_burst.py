from __future__ import annotations

import pytest

from findings.records import ATTACKER_IP, K1, base_session, k1_identity, record, t, traced
from ircreds.findings import access_denied_burst


def _denials(n: int, spacing: float, error: str = "AccessDenied") -> list[dict]:
    return [
        record(k1_identity(), "ListUsers", t(60 + i * spacing), ip=ATTACKER_IP, error=error) for i in range(n)
    ]


@pytest.mark.parametrize("error", ["AccessDenied", "Client.UnauthorizedOperation"])
def test_access_denied_burst_flags_many_denials_in_minutes(error: str) -> None:
    burst = _denials(6, 0.5, error)
    found = access_denied_burst.detect(traced([*base_session(), *burst], K1))
    assert len(found) == 1
    assert "6 calls" in found[0].summary
    assert set(found[0].event_ids) == {r["eventID"] for r in burst}


def test_access_denied_burst_ignores_denials_spread_over_hours() -> None:
    assert access_denied_burst.detect(traced([*base_session(), *_denials(6, 30)], K1)) == []


def test_access_denied_burst_ignores_other_errors() -> None:
    recs = [*base_session(), *_denials(6, 0.5, error="ThrottlingException")]
    assert access_denied_burst.detect(traced(recs, K1)) == []
