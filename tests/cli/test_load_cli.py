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
