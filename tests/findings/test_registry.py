from __future__ import annotations

import re

import pytest

from ircreds.findings import FINDINGS, run_findings, spec, specs
from ircreds.model import Severity


@pytest.mark.parametrize("finding_id", FINDINGS)
def test_every_finding_has_complete_metadata(finding_id: str) -> None:
    s = spec(finding_id)
    assert s.id == finding_id
    assert s.title
    assert len(s.description) > 80
    assert s.reference.startswith("https://")
    assert len(s.runbook) >= 2
    assert isinstance(s.severity, Severity)
    assert all(re.fullmatch(r"TA\d{4}:T\d{4}(\.\d{3})?", m) for m in s.mitre)


def test_every_finding_has_its_test_module() -> None:
    from pathlib import Path

    here = Path(__file__).parent
    assert {f"test_{f}.py" for f in FINDINGS} <= {p.name for p in here.glob("test_*.py")}


def test_unknown_finding_id_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="new_source_ip"):
        spec("nope")


def test_run_findings_sorts_most_severe_first() -> None:
    from findings.records import K1, leak_story, traced

    found = run_findings(traced(leak_story(), K1))
    ranks = [f.severity.rank for f in found]
    assert ranks == sorted(ranks, reverse=True)
    assert len(specs()) == len(FINDINGS)


def test_every_finding_runs_on_calls_whose_parameters_and_client_are_missing() -> None:
    """Real trails hold calls without requestParameters or userAgent (third-party samples do): they are
    pd.NA in the frame, which is neither true nor false, and no detector may trip on them."""
    from findings.records import K1, base_session, k1_identity, record, t, traced

    calls = [
        record(k1_identity(), name, t(60 + i), source="iam.amazonaws.com", ua=None)  # no parameters either
        for i, name in enumerate(("CreateUser", "PutUserPolicy", "CreateAccessKey", "GetSecretValue"))
    ]
    found = run_findings(traced([*base_session(), *calls], K1))
    assert "iam_persistence" in {f.id for f in found}  # the calls still count, named without a target
