"""One time module: one ISO/UTC parser, one formatter, one STS-expiration parser; naive times refused."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import ircreds
import ircreds.containment.actions
import ircreds.evidence.digests
import ircreds.model
import ircreds.report.containment
from ircreds import times
from ircreds.lineage import parse_expiration

PACKAGE = Path(ircreds.__file__).parent
#: Names the old copies had; only ircreds/times.py may define them (evaluate.parse_date is IAM's
#: policy-date reader: epoch seconds and PolicyError, ISO through ircreds.times).
HELPER_NAMES = {"_iso", "iso_z", "iso_utc", "parse_time", "_parse_time", "_ts", "_parse"}
TIME_CALLS = {"strftime", "strptime", "fromisoformat"}

NAIVE = datetime(2025, 1, 20, 9, 14, 27)  # noqa: DTZ001 - the point of these tests


def _time_code_outside_times() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "times.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.FunctionDef) and node.name in HELPER_NAMES:
                found.append(f"{where} defines {node.name}")
            vectorised = (
                isinstance(node, ast.Attribute) and getattr(node.value, "id", "") == "pc"
            )  # Arrow columns
            if isinstance(node, ast.Attribute) and node.attr in TIME_CALLS and not vectorised:
                found.append(f"{where} calls .{node.attr}")
    return found


#: Time code that landed beside this test (other issues, same day) and still has to move onto
#: ircreds.times: the list may only shrink.
NOT_YET_MOVED = frozenset(
    {
        "cli/acquire.py",
        "cli/notebooks.py",
        "cli/scope.py",
        "display.py",
        "engines/athena.py",
        "engines/queries.py",
        "evidence/acquisition.py",
        "evidence/signatures.py",
        "report/narrative.py",
    }
)


def test_no_module_but_times_defines_an_iso_helper_or_parses_time_text_itself() -> None:
    found = _time_code_outside_times()
    assert [f for f in found if f.split(":")[0] not in NOT_YET_MOVED] == []


def test_the_checker_finds_a_planted_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "planted.py").write_text("def _iso(v):\n    return v.strftime('%Y')\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    assert _time_code_outside_times() == ["planted.py:1 defines _iso", "planted.py:2 calls .strftime"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jan 20, 2025, 9:14:27 PM", "2025-01-20T21:14:27Z"),
        ("January 20, 2025, 9:14:27 PM", "2025-01-20T21:14:27Z"),
        ("Sep 17, 2020 8:04:10 AM", "2020-09-17T08:04:10Z"),
        ("Jan 20, 2025, 12:04:10 AM", "2025-01-20T00:04:10Z"),
        ("Jan 20, 2025, 0:04:10 PM", "2025-01-20T12:04:10Z"),
        ("Jan 20, 2025, 9:14 PM", "2025-01-20T21:14:00Z"),
        ("2025-01-20T21:14:27Z", "2025-01-20T21:14:27Z"),
    ],
)
def test_expiration_parses_the_same_in_the_lineage_and_the_loader(text: str, expected: str) -> None:
    df = ircreds.load(
        [
            {
                "eventTime": "2025-01-20T09:14:27Z",
                "eventName": "AssumeRole",
                "eventID": "a",
                "responseElements": {
                    "credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "expiration": text}
                },
            }
        ]
    )
    assert times.iso_z(df.loc[0, "issued.expiration"]) == expected
    assert times.iso_z(parse_expiration(text)) == expected


def test_iso_z_cuts_to_the_second_unless_asked_for_the_fraction() -> None:
    t = datetime(2025, 1, 20, 13, 14, 27, 250000, tzinfo=timezone(timedelta(hours=1)))
    assert times.iso_z(t) == "2025-01-20T12:14:27Z"
    assert times.iso_z(t, fraction=True) == "2025-01-20T12:14:27.250000Z"
    assert times.iso_z(pd.Timestamp("2025-01-20T12:14:27.123456789Z"), fraction=True) == (
        "2025-01-20T12:14:27.123456789Z"
    )
    assert times.iso_z(pd.NaT) is None


@pytest.mark.parametrize(
    "call",
    [
        times.iso_z,
        times.parse_iso,
        times.parse_time,
        ircreds.model.iso_z,
        ircreds.report.containment.parse_time,
        ircreds.evidence.digests.iso_utc,
        ircreds.containment.actions.iso_utc,
    ],
    ids=lambda f: f"{f.__module__}.{f.__name__}",
)
def test_a_naive_datetime_is_refused(call) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(NAIVE)


def test_a_record_with_a_naive_event_time_is_rejected_with_the_reason() -> None:
    df = ircreds.load([{"eventTime": NAIVE, "eventName": "ListBuckets", "eventID": "a"}])
    report = df.attrs["load_report"]
    assert len(df) == 0
    assert [r["record"] for r in report["rejects"]] == [0]
    assert "no time zone" in report["rejects"][0]["reason"]


def test_an_aware_event_time_object_loads_in_utc() -> None:
    aware = NAIVE.replace(tzinfo=timezone(timedelta(hours=-5)))
    df = ircreds.load([{"eventTime": aware, "eventName": "ListBuckets", "eventID": "a"}])
    assert df.loc[0, "eventTime"] == pd.Timestamp("2025-01-20T14:14:27Z")


def test_text_without_a_zone_in_the_evidence_is_utc_but_a_person_must_write_one() -> None:
    assert times.parse_iso("2025-01-20T09:14:27") == datetime(2025, 1, 20, 9, 14, 27, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        times.parse_user_time("2025-01-20T09:14:27")
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        times.parse_user_time("noon")


def test_strict_parse_refuses_what_is_not_a_time() -> None:
    assert times.parse_iso("noon") is None
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        times.parse_iso("noon", strict=True)
