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
