"""The source registry drives ``load()``: a new source is one module plus one line in ``SOURCES``."""

from __future__ import annotations

import gc
import json
import textwrap
from pathlib import Path

import pytest

import ircreds
from ircreds.errors import SourceError
from ircreds.evidence import sources

TOY_MODULE = '''
"""A toy source: a ticket whose records sit in memory (as a case-management API might hand them)."""

from dataclasses import dataclass

OPTIONS = ("ticket_region",)


@dataclass
class Ticket:
    number: str
    records: tuple


def accepts(source):
    return isinstance(source, Ticket)


def load_into(sink, source, ticket_region=None):
    name = f"ticket:{source.number}"
    sink.describe({"input": name, "kind": "toy", "region": ticket_region})
    sink.add_items(name, enumerate(source.records))
    sink.count_format("toy", file=False)
    sink.caveat("toy tickets hold only what the responder pasted")
'''


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "toy_ticket_source.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sources.SOURCES, "toy", "toy_ticket_source")  # the one registry line
    return sources.module("toy")


def _record(event_id: str, time: str) -> dict:
    return {"eventTime": time, "eventName": "ListBuckets", "eventID": event_id, "awsRegion": "us-east-1"}


def test_a_registered_toy_source_is_detected_and_loads(toy) -> None:
    ticket = toy.Ticket(
        "INC-1", (_record("b", "2025-01-20T09:15:00Z"), _record("a", "2025-01-20T09:14:27Z"), 7)
    )
    assert sources.detect(ticket) == "toy"
    df = ircreds.load(ticket, ticket_region="eu-west-1")
    report = df.attrs["load_report"]
    assert list(df["eventID"]) == ["a", "b"]
    assert set(df["evidence.file"]) == {"ticket:INC-1"}
    assert report["sources"] == [{"input": "ticket:INC-1", "kind": "toy", "region": "eu-west-1"}]
    assert report["formats"] == {"toy": 1}
    assert report["caveats"] == ["toy tickets hold only what the responder pasted"]
    assert [(r["file"], r["record"]) for r in report["rejects"]] == [("ticket:INC-1", 2)]
    assert report["records_read"] == 3


def test_an_option_no_source_of_the_load_takes_is_refused(toy) -> None:
    with pytest.raises(TypeError, match="ticket_region"):
        ircreds.load([_record("a", "2025-01-20T09:14:27Z")], ticket_region="eu-west-1")


def test_a_source_no_registered_module_accepts_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="cannot load a int"):
        ircreds.load(7)


def test_detect_asks_the_registry_in_order() -> None:
    assert list(sources.SOURCES)[-1] == "records"  # the catch-all iterable is asked last
    assert sources.detect("s3://trail-bucket/AWSLogs/") == "s3"
    assert sources.detect("data/samples/walkthrough") == "files"
    assert sources.detect({"Records": []}) == "document"
    assert sources.detect(b"{}") == "document"
    assert sources.detect(ircreds.load([_record("a", "2025-01-20T09:14:27Z")])) == "frame"
    assert sources.detect(iter([])) == "records"


def test_loading_leaves_the_garbage_collector_on(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f{i}.json").write_text(
            json.dumps({"Records": [_record(str(i), "2025-01-20T09:14:27Z")]})
        )
    thresholds = gc.get_threshold()
    seen: list[bool] = []
    ircreds.load(tmp_path, progress=lambda p: seen.append(gc.isenabled()))
    assert seen == [True, True, True]
    assert gc.isenabled()
    assert gc.get_threshold() == thresholds


def test_files_the_duckdb_path_declines_are_counted_in_the_load_report(tmp_path: Path) -> None:
    compact = {"separators": (",", ":")}
    good = _record("good", "2025-01-20T09:14:27Z")
    (tmp_path / "a-good.json").write_text(json.dumps({"Records": [good]}, **compact))
    odd_field = {**_record("odd", "2025-01-20T09:14:28Z"), "notACloudTrailField": 1}
    (tmp_path / "b-odd.json").write_text(json.dumps({"Records": [odd_field]}, **compact))
    (tmp_path / "c-latin1.json").write_bytes(
        b'{"Records":[{"eventTime":"2025-01-20T09:14:29Z","eventID":"bad","eventName":"Get\xff"}]}'
    )
    df = ircreds.load(tmp_path)
    report = df.attrs["load_report"]
    assert list(df["eventID"]) == ["good", "odd"]  # the declined file still loads, by the general path
    assert report["duckdb_declined"] == {
        "files": 2,
        "reasons": {
            "DuckDB could not read it (ArrowInvalid)": 1,
            "a field or type the columns do not hold": 1,
        },
    }
    assert [Path(r["file"]).name for r in report["rejects"]] == ["c-latin1.json"]
