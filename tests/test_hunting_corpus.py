"""SigmaHQ's CloudTrail rules over the third-party corpus: the kit's hunt agrees with pySigma's own backend.

The reference is built here, independently of the kit: each corpus file's raw records (not the
events frame) are flattened into one DuckDB table whose columns are the records' dotted paths (an
object is also kept whole as compact JSON text, as the frame keeps ``requestParameters``), and every
rule is converted by the stock ``pysigma-backend-duckdb`` with no pipeline of ours and run alone.
The kit instead loads the file with ``ircreds.load`` and runs all rules in one pass. Both sides
must name the same (rule, event) pairs.

One departure of the stock backend from the Sigma specification is corrected in the reference, and
the correction is itself checked: its plain equality is SQL ``=`` (case-sensitive), while Sigma
says "all values are treated as case-insensitive strings". SigmaHQ's "Successful Console Login
Without MFA" asks ``MFAUsed: 'NO'`` and CloudTrail writes ``"No"``: the stock backend never fires it
on a real event. The reference uses ``ILIKE`` for that one operator; the test also checks that the
kit finds everything the unmodified stock backend finds, and that the only extra pairs are those.

The rules and the corpus live outside the repository (``REPO.parent / "shared"``), by licence;
the tests skip only when that folder is absent.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import CORPUS, REPO

import ircreds

RULES = REPO.parent / "shared" / "sigma" / "aws-cloudtrail"
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []
pytestmark = pytest.mark.skipif(
    not (FILES and RULES.is_dir()), reason=f"shared corpus or Sigma rules not found beside {REPO}"
)


def _flatten(value, prefix: str, out: dict[str, str | None]) -> None:
    if isinstance(value, dict):
        if prefix:
            out[prefix] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    elif value is None:
        out[prefix] = None
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    elif isinstance(value, str):
        out[prefix] = value
    else:
        out[prefix] = json.dumps(value)


def _key(record: dict) -> str:
    """One key per distinct record (a re-delivery, which the loader drops, has the same key)."""
    return json.dumps(record, sort_keys=True)


@functools.cache
def _queries(case_insensitive: bool) -> tuple[tuple[str, str], ...]:
    """(rule id, SQL) of every shared rule, converted by the stock backend (ILIKE for '=' if asked)."""
    from sigma.collection import SigmaCollection
    from sigma_backend_duckdb import DuckDBBackend

    class SpecCase(DuckDBBackend):
        eq_token = " ILIKE "

    backend = SpecCase() if case_insensitive else DuckDBBackend()
    out = []
    for path in sorted(RULES.glob("*.yml")):
        rule = SigmaCollection.from_yaml(path.read_text()).rules[0]
        (query,) = backend.convert_rule(rule)
        out.append((str(rule.id), query))
    return tuple(out)


def _reference(records: list[dict], *, case_insensitive: bool = True) -> set[tuple[str, str]]:
    """(rule id, record) pairs found by the stock pySigma DuckDB backend over the raw records."""
    rows = []
    for record in records:
        flat: dict[str, str | None] = {}
        _flatten(record, "", flat)
        rows.append(flat)
    frame = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame()
    frame["__index"] = range(len(records))
    con = duckdb.connect()
    con.register("raw", frame)
    con.execute("CREATE TABLE logs AS SELECT * FROM raw")  # every column VARCHAR, scanned once
    found: set[tuple[str, str]] = set()
    for rule_id, query in _queries(case_insensitive):
        while True:
            try:
                hits = con.execute(query.replace("SELECT *", 'SELECT "__index"', 1)).fetchall()
                break
            except duckdb.BinderException as err:  # a field no record has: it exists, empty
                missing = re.search(r'column with name "?([^"\s]+)"? not found', str(err), re.I) or re.search(
                    r'Referenced column "([^"]+)" not found', str(err)
                )
                if not missing:
                    raise
                con.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1)}" VARCHAR')
        found |= {(rule_id, _key(records[i])) for (i,) in hits}
    return found


def _kit(records: list[dict]) -> set[tuple[str, str]]:
    events = ircreds.load(records)
    result = ircreds.hunt(events, RULES)
    assert result.rules_unsupported == ()
    assert result.rules_run == result.rules_loaded == len(list(RULES.glob("*.yml")))
    lines = events["evidence.line"].to_numpy()
    return {
        (rule_id, _key(records[int(lines[row])]))
        for rule_id, row in zip(result.matches["rule_id"], result.matches["row"], strict=True)
    }


def _loadable(records: list[dict]) -> list[dict]:
    def ok(r: dict) -> bool:
        try:
            pd.to_datetime(r.get("eventTime"), utc=True, format="ISO8601")
        except (ValueError, TypeError):
            return False
        return isinstance(r.get("eventTime"), str)

    return [r for r in records if ok(r)]


@functools.cache
def _records(path: Path) -> list[dict]:
    return _loadable(json.loads(path.read_text())["records"])


@functools.cache
def _file_reference(path: Path, case_insensitive: bool = True) -> frozenset[tuple[str, str]]:
    return frozenset(_reference(_records(path), case_insensitive=case_insensitive))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_hunt_finds_what_pysigma_duckdb_finds_on_the_raw_records(path: Path) -> None:
    records = _records(path)
    kit, reference, stock = _kit(records), _file_reference(path), _file_reference(path, False)
    assert kit == reference
    assert stock <= kit
    for rule_id, key in kit - stock:  # only values that differ from the rule's by case
        record = json.loads(key)
        assert rule_id == MFA_RULE, (rule_id, record.get("eventName"))
        assert (
            record["additionalEventData"]["MFAUsed"].upper()
            == "NO"
            != record["additionalEventData"]["MFAUsed"]
        )


MFA_RULE = "77caf516-34e5-4df9-b4db-20744fea0a60"  # AWS Successful Console Login Without MFA


def test_corpus_has_rule_hits_so_the_comparison_means_something() -> None:
    rules: set[str] = set()
    for path in FILES:
        rules |= {rule for rule, _ in _file_reference(path)}
    assert len(rules) >= 8
    assert MFA_RULE in rules
