"""`ircreds load`: the human report, --json, --save round trip, --strict, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ircreds
from ircreds.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "sources" / "cloudtrail_files"


def test_load_prints_a_human_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(DATA), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "records read" in out
    assert "digest" in out
    assert "111122223333" in out


def test_load_json_report_reconciles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(DATA), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["events"] == 6
    assert report["records_read"] == report["events"] + report["duplicates"] + len(report["rejects"])


def test_load_save_writes_a_frame_that_loads_back_identically(tmp_path: Path, capsys) -> None:
    out = tmp_path / "events.parquet"
    assert main(["load", str(DATA), "--save", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["saved"] == str(out)
    pd.testing.assert_frame_equal(ircreds.load(out), ircreds.load(DATA))


def test_load_strict_stops_with_one_line_naming_the_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.json").write_text('{"Records": [{"eventName": "X"}]}')
    assert main(["load", str(tmp_path), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "bad.json, record 0: record has no eventTime" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_load_missing_path_is_one_line_on_stderr(tmp_path: Path, capsys) -> None:
    assert main(["load", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ircreds load: no such file or folder")
    assert "Traceback" not in err


def _big_record_file(folder: Path) -> Path:
    records = [
        {"eventVersion": "1.08", "eventTime": f"2025-01-20T10:00:0{i}Z", "eventSource": "s3.amazonaws.com",
         "eventName": "PutObject", "eventID": f"e{i}", "awsRegion": "us-east-1",
         "requestParameters": {"key": "x" * (5000 if i == 1 else 10)}}
        for i in range(3)
    ]  # fmt: skip
    folder.mkdir()
    path = folder / "f.json"
    path.write_text(json.dumps({"Records": records}))
    return path


def test_load_and_index_apply_the_caps_given_on_the_command_line(tmp_path: Path, capsys) -> None:
    evidence = _big_record_file(tmp_path / "ev")
    assert main(["load", str(evidence), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rejects"] == []
    assert main(["load", str(evidence), "--json", "--max-record-bytes", "2KB"]) == 0
    loaded = json.loads(capsys.readouterr().out)
    assert [r["reason"] for r in loaded["rejects"]] == [
        "record is larger than max_record_bytes (2,000 bytes)"
    ]
    assert loaded["events"] == 2
    case = tmp_path / "case"
    assert main(["index", str(evidence), "--out", str(case), "--json", "--max-record-bytes", "2KB"]) == 0
    indexed = json.loads(capsys.readouterr().out)["load_report"]
    assert indexed["events"] == 2
    assert [r["reason"] for r in indexed["rejects"]] == [r["reason"] for r in loaded["rejects"]]
    assert main(["load", str(case), "--max-record-bytes", "2KB"]) == 1  # the case was read with its own caps
    assert "give them to `ircreds index`" in capsys.readouterr().err


def test_a_cap_that_is_not_a_size_is_refused_by_name(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["load", str(tmp_path), "--max-record-bytes", "lots"])
    assert stop.value.code == 2
    assert "not a size: 'lots'" in capsys.readouterr().err
