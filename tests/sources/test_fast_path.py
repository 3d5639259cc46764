"""The fast path (typed msgspec decoding) gives exactly the general path's frame, or declines."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import orjson
import pandas as pd
import pytest
from conftest import CORPUS

import ircreds
from ircreds.evidence.sources import _fast
from ircreds.evidence.sources._arrow import table_to_frame
from ircreds.evidence.sources._normalize import RecordError, normalize_record, rows_to_frame, unwrap

DATA = Path(__file__).resolve().parent.parent / "data" / "sources" / "cloudtrail_files"
FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


def _general(records: list) -> pd.DataFrame:
    rows, lines = [], []
    for i, rec in enumerate(records):
        try:
            rows.append(normalize_record(unwrap(rec)))
        except RecordError:
            continue
        lines.append(i)
    frame, bad = rows_to_frame(rows, files=["f"] * len(rows), lines=lines)
    return frame.loc[~bad].reset_index(drop=True)


def _records(path: Path) -> list:
    doc = json.loads(path.read_text())
    return doc["records"] if "records" in doc else doc["Records"]


@pytest.mark.parametrize("path", [DATA / "assume_role.json", *FILES], ids=lambda p: p.stem)
def test_fast_path_frame_equals_general_path_frame(path: Path) -> None:
    records = _records(path)
    document = orjson.dumps({"Records": records})
    result = _fast.read_delivery(document, "f")
    if result is None:  # declined: only ever because a field is outside the typed schema
        with pytest.raises(msgspec.ValidationError):
            _fast._DECODER.decode(document)
        return
    pd.testing.assert_frame_equal(table_to_frame(result.table), _general(records))


def test_fast_path_takes_most_corpus_files() -> None:
    if not FILES:
        pytest.skip(f"third-party corpus not found at {CORPUS}")
    taken = [p for p in FILES if _fast.read_delivery(orjson.dumps({"Records": _records(p)}), "f") is not None]
    assert len(taken) >= len(FILES) - 4


@pytest.mark.parametrize(
    "document",
    [
        b'{"Records": [{"eventTime": "2025-01-20T09:14:27Z"}]}',  # not compact (json.dumps default)
        b'{"Records":[{"eventTime":"2025-01-20T09:14:27Z","p_log_type":"AWS.CloudTrail"}]}',  # unknown field
        b'{"Records":[{"eventTime":"2025-01-20T09:14:27Z","userIdentity":{"accountId":111122223333}}]}',
    ],
)
def test_fast_path_declines_what_it_does_not_fully_understand(document: bytes) -> None:
    assert _fast.read_delivery(document, "f") is None


def test_compact_delivery_files_load_the_same_either_way(tmp_path: Path) -> None:
    records = _records(DATA / "assume_role.json")
    (tmp_path / "compact.json").write_bytes(orjson.dumps({"Records": records}))
    fast = ircreds.load(tmp_path / "compact.json")
    general = ircreds.load(records)
    pd.testing.assert_frame_equal(
        fast.drop(columns=["evidence.file"]), general.drop(columns=["evidence.file"])
    )
