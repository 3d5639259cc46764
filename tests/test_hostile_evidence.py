"""Hostile evidence: every record is isolated, on every loading path (issue 16).

Whatever one record holds (a value nested 1,100 deep, a time outside the frame's range, ``now``,
30 February, a leap second, bytes that are not UTF-8, a size over the cap), it becomes one reject with
its reason, the same reason on every path: local files (the DuckDB path, the general path, JSON Lines,
one record per file), bytes passed to ``ircreds.load`` (the msgspec fast path), ``s3://`` (a moto
server), an iterable of records, and the case store indexer. Whole files that cannot be read
(a gzip bomb, a truncated gzip) are one reject naming the file. Nothing fails the run.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

import ircreds
from ircreds import times
from ircreds.engines import index, open_case

BUCKET = "hostile-trail"
GOOD = {"eventVersion": "1.08", "eventTime": "2025-01-20T09:14:27Z", "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "eventID": "good-1",
        "recipientAccountId": "111122223333", "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}}  # fmt: skip
GOOD_TEXT = json.dumps(GOOD, separators=(",", ":")).encode()


def _bad(time: str = "2025-01-20T09:15:00Z", **fields: Any) -> bytes:
    """A record (compact JSON bytes) with eventID bad-1; raw JSON text may be spliced in with ``raw=``."""
    raw = fields.pop("raw", None)
    record = {
        "eventVersion": "1.08",
        "eventTime": time,
        "eventName": "GetObject",
        "eventID": "bad-1",
        **fields,
    }
    text = json.dumps(record, separators=(",", ":")).encode()
    return text if raw is None else text[:-1] + b"," + raw + b"}"


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


DEPTH = r"holds a value nested more than 254 levels deep"
#: kind -> (the bad record's JSON text, load options, the reason's pattern, parseable as Python records?)
HOSTILE: dict[str, tuple[bytes, dict[str, Any], str, bool]] = {
    "nested-1100-deep": (_bad(raw=b'"requestParameters":' + _nested(1100)), {}, DEPTH, False),
    "nested-300-deep": (_bad(raw=b'"requestParameters":' + _nested(300)), {}, DEPTH, True),
    "nested-255-deep-unknown-field": (_bad(raw=b'"p_any":' + _nested(254)), {}, DEPTH, True),
    "nested-deep-json-text": (_bad(requestParameters=_nested(600).decode()), {}, DEPTH, True),
    "nested-deep-json-in-a-user-agent": (
        _bad(userAgent="[" * 600 + '"sessionToken"' + "]" * 600),
        {},
        DEPTH,
        True,
    ),
    "nested-deep-json-in-a-secret-field": (
        _bad(requestParameters={"policy": "[" * 600 + '"sessionToken"' + "]" * 600}),
        {},
        DEPTH,
        True,
    ),
    "year-9999": (_bad("9999-12-31T23:59:59Z"), {}, "outside the range a frame holds", True),
    "year-0001": (_bad("0001-01-01T00:00:00Z"), {}, "outside the range a frame holds", True),
    "now": (_bad("now"), {}, "relative word", True),
    "today": (_bad("today"), {}, "relative word", True),
    "yesterday": (_bad("yesterday"), {}, "relative word", True),
    "30-february": (_bad("2025-02-30T10:00:00Z"), {}, "does not exist", True),
    "leap-second": (_bad("2016-12-31T23:59:60Z"), {}, "leap second", True),
    "leap-second-not-at-midnight": (_bad("2025-01-20T12:30:60Z"), {}, "leap second", True),
    "invalid-utf8": (_bad(raw=b'"userAgent":"aws-cli/2 \xff\xfe"'), {}, "not valid utf-8", False),
    "over-size": (_bad(userAgent="A" * 20_000), {"max_record_bytes": 10_000}, "max_record_bytes", False),
}

SHAPES: dict[str, tuple[Callable[[bytes], bytes], int]] = {
    "delivery": (lambda bad: b'{"Records":[' + GOOD_TEXT + b"," + bad + b"]}", 1),
    "pretty": (lambda bad: b'{\n  "Records": [\n    ' + GOOD_TEXT + b",\n    " + bad + b"\n  ]\n}\n", 1),
    "json-lines": (lambda bad: GOOD_TEXT + b"\n" + bad + b"\n", 2),
    "one-record": (lambda bad: bad, 0),
}


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


Outcome = tuple[list[str], list[tuple[Any, Any, str]]]
#: Every kind is loaded with these options (over-size needs a small cap; every other file is far below it).
OPTIONS = {"max_record_bytes": 10_000}
PATHS = ("file", "gzip-file", "bytes", "gzip-bytes", "s3", "case-store")


def _by_file(report: dict[str, Any], frame: pd.DataFrame, names: dict[str, str]) -> dict[str, Outcome]:
    """Each file's (event ids, rejects) out of one load of many files; ``names``: file -> case name."""
    assert report["records_read"] == report["events"] + report["duplicates"] + len(report["rejects"])
    out: dict[str, Outcome] = {name: ([], []) for name in names.values()}
    for file, event_id in zip(frame["evidence.file"], frame["eventID"], strict=True):
        out[names[file]][0].append(event_id)
    for r in report["rejects"]:
        out[names[r["file"]]][1].append((r["file"], r["record"], r["reason"]))
    return {name: (sorted(ids), rejects) for name, (ids, rejects) in out.items()}


def _load(source: Any, **options: Any) -> Outcome:
    df = ircreds.load(source, **options)
    report = df.attrs["load_report"]
    assert report["records_read"] == report["events"] + report["duplicates"] + len(report["rejects"])
    return sorted(df["eventID"]), [(r["file"], r["record"], r["reason"]) for r in report["rejects"]]


@pytest.fixture(scope="module")
def every_path(
    tmp_path_factory: pytest.TempPathFactory, s3: Any
) -> dict[str, dict[str, tuple[Any, Outcome]]]:
    """Case name -> loading path -> (where the bad record is reported, outcome), each path loaded once."""
    root = tmp_path_factory.mktemp("hostile")
    contents = {  # each file's good record has its own eventID (the same one in many files is a re-delivery)
        f"{kind}-{shape}": build(HOSTILE[kind][0]).replace(b'"good-1"', f'"good-{kind}-{shape}"'.encode())
        for kind in HOSTILE
        for shape, (build, _) in SHAPES.items()
    }
    files: dict[str, dict[str, str]] = {"plain": {}, "gzip": {}, "s3": {}}
    for folder in ("plain", "gzip"):
        (root / folder).mkdir()
    for name, content in contents.items():
        plain, packed = root / "plain" / f"{name}.json", root / "gzip" / f"{name}.json.gz"
        plain.write_bytes(content)
        packed.write_bytes(gzip.compress(content))
        files["plain"][str(plain)], files["gzip"][str(packed)] = name, name
        key = f"hostile/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/20/{name}.json.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(content))
        files["s3"][f"s3://{BUCKET}/{key}"] = name
    loaded: dict[str, dict[str, Outcome]] = {}
    for path, source, names in (("file", root / "plain", files["plain"]), ("gzip-file", root / "gzip", files["gzip"]),
                                ("s3", f"s3://{BUCKET}/hostile/", files["s3"])):  # fmt: skip
        df = ircreds.load(source, client=s3, **OPTIONS) if path == "s3" else ircreds.load(source, **OPTIONS)
        loaded[path] = _by_file(df.attrs["load_report"], df, names)
    summary = index([root / "gzip"], root / "case", **OPTIONS)
    loaded["case-store"] = _by_file(summary.report, open_case(root / "case").events(), files["gzip"])
    loaded["bytes"] = {name: _load(content, **OPTIONS) for name, content in contents.items()}
    loaded["gzip-bytes"] = {
        name: _load(gzip.compress(content), **OPTIONS) for name, content in contents.items()
    }
    where = {
        "file": {n: f for f, n in files["plain"].items()},
        "gzip-file": {n: f for f, n in files["gzip"].items()},
        "case-store": {n: f for f, n in files["gzip"].items()},
        "s3": {n: f for f, n in files["s3"].items()},
        "bytes": dict.fromkeys(contents, "<bytes>"),
        "gzip-bytes": dict.fromkeys(contents, "<bytes>"),
    }
    return {name: {path: (where[path][name], loaded[path][name]) for path in PATHS} for name in contents}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_record_is_one_reject_with_the_same_reason_on_every_path(
    every_path: dict[str, dict[str, tuple[Any, Outcome]]], kind: str, shape: str
) -> None:
    pattern = HOSTILE[kind][2]
    index_of_bad = SHAPES[shape][1]
    good = [] if shape == "one-record" else [f"good-{kind}-{shape}"]
    reasons = set()
    for path, (where, (ids, rejects)) in every_path[f"{kind}-{shape}"].items():
        assert ids == good, path
        assert [(f, r) for f, r, _ in rejects] == [(where, index_of_bad)], path
        reasons.add(rejects[0][2])
    assert len(reasons) == 1, every_path[f"{kind}-{shape}"]
    assert re.search(pattern, reasons.pop())


@pytest.mark.parametrize("kind", [k for k, v in HOSTILE.items() if v[3]])
def test_a_hostile_record_among_python_records_is_the_same_reject(kind: str) -> None:
    bad, options, pattern, _ = HOSTILE[kind]
    ids, rejects = _load([GOOD, json.loads(bad)], **options)
    from_file = _load(SHAPES["delivery"][0](bad), **options)[1][0][2]
    assert ids == ["good-1"]
    assert rejects == [(None, 1, from_file)]
    assert re.search(pattern, from_file)


@pytest.mark.parametrize("depth", [1, 200, 253])
def test_values_nested_up_to_the_limit_load_intact_on_every_path(tmp_path: Path, s3: Any, depth: int) -> None:
    """The limit is 254 levels for any value kept as JSON text (requestParameters is one level below the record)."""
    content = SHAPES["delivery"][0](_bad(raw=b'"requestParameters":{"a":' + _nested(depth) + b"}"))
    (tmp_path / "f.json").write_bytes(content)
    (tmp_path / "g.json.gz").write_bytes(gzip.compress(content))
    key = f"deep/{depth}.json.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(content))
    frames = [ircreds.load(tmp_path / "f.json"), ircreds.load(tmp_path / "g.json.gz"), ircreds.load(content),
              ircreds.load(f"s3://{BUCKET}/{key}", client=s3), ircreds.load(json.loads(content)["Records"])]  # fmt: skip
    index([tmp_path / "g.json.gz"], tmp_path / "case")
    frames.append(open_case(tmp_path / "case").events())
    expected = '{"a":' + _nested(depth).decode() + "}"
    for df in frames:
        assert sorted(df["eventID"]) == ["bad-1", "good-1"]
        assert df.loc[df["eventID"] == "bad-1", "requestParameters"].iloc[0] == expected


# ---------------------------------------------------------------------------------------------
# One time rule


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("now", "relative word"),
        ("Today", "relative word"),
        (" yesterday ", "relative word"),
        ("tomorrow", "relative word"),
        ("2025-02-30T00:00:00Z", "does not exist"),
        ("2025-02-29T00:00:00Z", "does not exist"),
        ("2025-04-31", "does not exist"),
        ("2025-01-20T24:00:00Z", "does not exist"),
        ("Feb 30, 2025, 9:14:27 PM", "does not exist"),
        ("2016-12-31T23:59:60Z", "leap second"),
        ("Dec 31, 2016, 11:59:60 PM", "leap second"),
        ("9999-12-31T23:59:59Z", "outside the range"),
        ("0001-01-01T00:00:00Z", "outside the range"),
        ("2262-04-12T00:00:00Z", "outside the range"),
        ("1677-09-21T00:00:00Z", "outside the range"),
        ("soon", "does not parse as a time"),
    ],
)
def test_the_time_rule_says_why_a_value_is_not_a_time(text: str, problem: str) -> None:
    assert times.parse_timestamp(text) is None
    assert problem in (times.time_problem(text) or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
        ("2016-12-31T23:59:59Z", "2016-12-31T23:59:59Z"),
        ("20131102T010628Z", "2013-11-02T01:06:28Z"),
        ("2025-01-20T20:14:27+11:00", "2025-01-20T09:14:27Z"),
        ("2262-04-11T00:00:00Z", "2262-04-11T00:00:00Z"),
        ("1677-09-22T00:00:00Z", "1677-09-22T00:00:00Z"),
    ],
)
def test_the_time_rule_keeps_every_real_time(text: str, expected: str) -> None:
    assert times.time_problem(text) is None
    assert times.parse_timestamp(text) == pd.Timestamp(expected)


@pytest.mark.parametrize("word", ["now", "today", "yesterday"])
def test_a_relative_word_is_never_the_wall_clock(word: str) -> None:
    assert times.parse_iso(word) is None
    assert times.parse_time(word) is None
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        times.parse_iso(word, strict=True)


def test_many_odd_times_in_one_file_follow_the_same_rule(tmp_path: Path) -> None:
    """Over 256 odd values take the vectorised fallback; it must say what one-by-one says."""
    odd = [
        "2025-01-20T09:14:27.5Z",
        "now",
        "9999-12-31T00:00:00.5Z",
        "2025-02-30T00:00:00.5Z",
        "2016-12-31T23:59:60.5Z",
    ]
    records = [dict(GOOD, eventID=f"e{i}", eventTime=odd[i % len(odd)]) for i in range(600)]
    df = ircreds.load(records)
    report = df.attrs["load_report"]
    assert len(df) == 120
    assert (df["eventTime"] == pd.Timestamp("2025-01-20T09:14:27.5Z")).all()
    assert {r["reason"].split(": ", 1)[1] for r in report["rejects"]} == {
        times.time_problem(t) for t in odd[1:]
    }


@pytest.mark.parametrize(
    "value", ["now", "9999-12-31T00:00:00Z", "2025-02-30T00:00:00Z", "2016-12-31T23:59:60Z"]
)
def test_creation_date_and_expiration_that_are_not_times_stay_empty_on_every_path(
    tmp_path: Path, value: str
) -> None:
    record = dict(
        GOOD,
        eventName="AssumeRole",
        userIdentity={"type": "IAMUser", "sessionContext": {"attributes": {"creationDate": value}}},
        responseElements={"credentials": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE", "expiration": value}},
    )
    content = b'{"Records":[' + json.dumps(record, separators=(",", ":")).encode() + b"]}"
    (tmp_path / "f.json").write_bytes(content)
    for df in (ircreds.load(tmp_path / "f.json"), ircreds.load(content), ircreds.load([record])):
        assert list(df["eventID"]) == ["good-1"]
        assert df["userIdentity.sessionContext.attributes.creationDate"].isna().all()
        assert df["issued.expiration"].isna().all()


# ---------------------------------------------------------------------------------------------
# Caps: decompression and record size


def _delivery(*ids: str, pad: int = 0) -> bytes:
    records = [dict(GOOD, eventID=i, userAgent="aws-cli/2 " + "x" * pad) for i in ids]
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


def _zeros_gzip(path: Path, size: int) -> Path:
    """A gzip of ``size`` zero bytes, written as a stream (never ``size`` bytes in memory)."""
    from isal import isal_zlib

    packer = isal_zlib.compressobj(1, isal_zlib.DEFLATED, 31)
    block = b"\0" * (8 << 20)
    with path.open("wb") as fh:
        for start in range(0, size, len(block)):
            fh.write(packer.compress(block[: size - start]))
        fh.write(packer.flush())
    return path


def _corrupt_gzip(content: bytes) -> bytes:
    packed = bytearray(gzip.compress(content))
    packed[12:40] = b"\xff" * 28  # the deflate stream, header and trailer intact
    return bytes(packed)


BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "gzip-bomb": (lambda d: _zeros_gzip(d / "bomb.json.gz", 20_000_000), "larger than max_decompressed_bytes"),
    "big-plain-file": (lambda d: _write(d / "big.json", _delivery("big", pad=1_100_000)), "larger than max_decompressed_bytes"),
    "truncated-gzip": (lambda d: _write(d / "cut.json.gz", gzip.compress(_delivery("cut"))[:-12]), "truncated or corrupt"),
    "corrupt-gzip": (lambda d: _write(d / "corrupt.json.gz", _corrupt_gzip(_delivery("corrupt", pad=5000))), "truncated or corrupt"),
}  # fmt: skip


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_file_that_cannot_be_read_is_one_reject_naming_it_on_every_path(
    tmp_path: Path, s3: Any, kind: str
) -> None:
    make, pattern = BAD_FILES[kind]
    folder = tmp_path / "evidence"
    folder.mkdir()
    bad = make(folder)
    _write(folder / "good.json.gz", gzip.compress(_delivery("good-1")))
    options = {"max_decompressed_bytes": 1_000_000}
    prefix = f"files/{kind}/"
    for path in folder.iterdir():
        s3.put_object(Bucket=BUCKET, Key=prefix + path.name, Body=path.read_bytes())
    outcomes = {
        "files": _load(folder, **options),
        "bytes": _load(bad.read_bytes(), **options),
        "s3": _load(f"s3://{BUCKET}/{prefix}", client=s3, **options),
    }
    summary = index([folder], tmp_path / "case", **options)
    outcomes["case-store"] = (sorted(open_case(tmp_path / "case").events()["eventID"]),
                              [(r["file"], r["record"], r["reason"]) for r in summary.report["rejects"]])  # fmt: skip
    where = {
        "files": str(bad),
        "bytes": "<bytes>",
        "s3": f"s3://{BUCKET}/{prefix}{bad.name}",
        "case-store": str(bad),
    }
    reasons = set()
    for path, (ids, rejects) in outcomes.items():
        assert ids == ([] if path == "bytes" else ["good-1"]), path
        assert [(f, r) for f, r, _ in rejects] == [(where[path], None)], path
        assert re.search(pattern, rejects[0][2]), path
        reasons.add(rejects[0][2])
    assert len(reasons) == 1


def test_a_file_within_the_cap_is_read_whole_however_it_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compressed data that could pass the cap is streamed; past the spool it is counted, then read again."""
    from ircreds.evidence.sources import cloudtrail_files

    ids = [f"e{i:05d}" for i in range(3000)]
    content = _delivery(*ids)
    packed = gzip.compress(content)
    assert len(packed) * 1032 > 1_000_000 >= len(content)
    (tmp_path / "f.json.gz").write_bytes(packed)
    assert list(ircreds.load(tmp_path / "f.json.gz", max_decompressed_bytes=1_000_000)["eventID"]) == ids
    monkeypatch.setattr(cloudtrail_files, "_SPOOL", 10_000)
    assert (
        cloudtrail_files.gunzip(packed, cloudtrail_files.Limits(max_decompressed_bytes=1_000_000)) == content
    )
    assert list(ircreds.load(packed, max_decompressed_bytes=1_000_000)["eventID"]) == ids


@pytest.mark.parametrize("value", [0, -1, "1MB", 1.5, True])
def test_a_limit_must_be_a_positive_number_of_bytes(value: Any) -> None:
    with pytest.raises(ValueError, match="positive number of bytes"):
        ircreds.load([GOOD], max_record_bytes=value)


def test_the_default_caps_are_far_above_what_cloudtrail_delivers() -> None:
    from ircreds.evidence.sources._limits import DEFAULT

    assert DEFAULT.max_decompressed_bytes == 2 * 1024**3
    assert DEFAULT.max_record_bytes == 64 * 1024**2


# ---------------------------------------------------------------------------------------------
# Paths that are not regular files


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "trail.json"
    os.mkfifo(path)  # nothing ever writes to it: reading it would block forever
    return path


@pytest.mark.parametrize("which", ["fifo", "device"])
def test_a_path_that_is_not_a_regular_file_is_refused_as_such_never_read(
    which: str, fifo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ircreds.cli import main
    from ircreds.errors import SourceError

    path = fifo if which == "fifo" else Path(os.devnull)
    with pytest.raises(SourceError, match="is not a regular file"):
        ircreds.load(path)
    with pytest.raises(SourceError, match="is not a regular file"):
        index([path], tmp_path / "case")
    assert main(["load", str(path)]) != 0
    err = capsys.readouterr().err
    assert f"{path} is not a regular file" in err
    assert "no such file" not in err


# ---------------------------------------------------------------------------------------------
# A key used before it was issued


def _issued_after_use() -> list[dict[str, Any]]:
    """K1 signs a call at 09:00 but its AssumeRole is at 10:00; K2 is issued, then used."""
    user = {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dev", "accountId": "111122223333",
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "dev", "principalId": "AIDAEXAMPLE"}  # fmt: skip

    def assume(event_id: str, time: str, key: str) -> dict[str, Any]:
        return dict(GOOD, eventID=event_id, eventTime=time, eventName="AssumeRole", eventSource="sts.amazonaws.com",
                    userIdentity=user, requestParameters={"roleArn": "arn:aws:iam::111122223333:role/R",
                                                          "roleSessionName": event_id},
                    responseElements={"credentials": {"accessKeyId": key, "expiration": "2025-01-20T22:00:00Z"}})  # fmt: skip

    def call(event_id: str, time: str, key: str) -> dict[str, Any]:
        return dict(GOOD, eventID=event_id, eventTime=time,
                    userIdentity={"type": "AssumedRole", "accessKeyId": key, "accountId": "111122223333"})  # fmt: skip

    return [
        call("early", "2025-01-20T09:00:00Z", "ASIAK1EXAMPLE"),
        assume("issue-k1", "2025-01-20T10:00:00Z", "ASIAK1EXAMPLE"),
        call("later", "2025-01-20T10:30:00Z", "ASIAK1EXAMPLE"),
        assume("issue-k2", "2025-01-20T11:00:00Z", "ASIAK2EXAMPLE"),
        call("same-second", "2025-01-20T11:00:00Z", "ASIAK2EXAMPLE"),
    ]


def test_a_key_used_before_it_was_issued_is_flagged_in_the_session_row(tmp_path: Path) -> None:
    records = _issued_after_use()
    frame = ircreds.sessions(ircreds.load(records)).set_index("access_key_id")
    assert frame.loc["ASIAK1EXAMPLE", "used_before_issued"]
    assert not frame.loc["ASIAK2EXAMPLE", "used_before_issued"]
    assert frame["used_before_issued"].dtype == bool
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "f.json").write_text(json.dumps({"Records": records}))
    index([tmp_path / "ev"], tmp_path / "case")
    stored = open_case(tmp_path / "case").sessions()
    pd.testing.assert_frame_equal(stored, ircreds.sessions(ircreds.load(tmp_path / "ev")))


def test_a_case_indexed_before_the_flag_answers_with_it(tmp_path: Path) -> None:
    import duckdb

    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "f.json").write_text(json.dumps({"Records": _issued_after_use()}))
    index([tmp_path / "ev"], tmp_path / "case")
    with duckdb.connect(str(tmp_path / "case" / "case.duckdb")) as con:
        con.execute("ALTER TABLE sessions DROP COLUMN used_before_issued")
    stored = open_case(tmp_path / "case").sessions().set_index("access_key_id")
    assert stored["used_before_issued"].to_dict() == {
        "ASIAK1EXAMPLE": True,
        "ASIAK2EXAMPLE": False,
        "AKIAIOSFODNN7EXAMPLE": False,
    }


# ---------------------------------------------------------------------------------------------
# One folder of hostile files, with the default caps, in a 3 GiB address space

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
import ircreds
df = ircreds.load(sys.argv[1])
report = df.attrs["load_report"]
print(json.dumps({"ids": sorted(df["eventID"]), "rejects": report["rejects"], "records_read": report["records_read"],
                  "events": report["events"], "duplicates": report["duplicates"]}))
"""


def test_a_folder_of_hostile_files_loads_exactly_the_good_records_in_3_gib(tmp_path: Path) -> None:
    """Each hostile file holds a good record beside its bad one; the bomb expands to 2.5 GiB of zeros."""
    import subprocess
    import sys

    folder = tmp_path / "evidence"
    folder.mkdir()

    def pair(name: str, bad: bytes, *, packed: bool = True) -> None:
        good = json.dumps(dict(GOOD, eventID=f"good-{name}"), separators=(",", ":")).encode()
        content = b'{"Records":[' + good + b"," + bad + b"]}"
        path = folder / (f"{name}.json.gz" if packed else f"{name}.json")
        path.write_bytes(gzip.compress(content) if packed else content)

    _write(folder / "good.json.gz", gzip.compress(_delivery("good-1", "good-2")))
    pair("deep", _bad(raw=b'"requestParameters":' + _nested(1100)))
    pair("year-9999", _bad("9999-12-31T00:00:00Z"))
    pair("now", _bad("now"))
    pair("feb-30", _bad("2025-02-30T00:00:00Z"))
    pair("leap-second", _bad("2016-12-31T23:59:60Z"))
    pair("invalid-utf8", _bad(raw=b'"userAgent":"aws-cli/2 \xff\xfe"'), packed=False)
    pair("over-size", _bad(userAgent="A" * (64 * 1024**2 + 1)))
    _zeros_gzip(folder / "bomb.json.gz", 5 * 1024**3 // 2)
    _write(folder / "truncated.json.gz", gzip.compress(_delivery("cut-1"))[:-12])

    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder)], capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    names = ["deep", "year-9999", "now", "feb-30", "leap-second", "invalid-utf8", "over-size"]
    assert out["ids"] == sorted(["good-1", "good-2", *(f"good-{n}" for n in names)])
    rejects = {(Path(r["file"]).name, r["record"]): r["reason"] for r in out["rejects"]}
    assert set(rejects) == {
        *((f"{n}.json" if n == "invalid-utf8" else f"{n}.json.gz", 1) for n in names),
        ("bomb.json.gz", None),
        ("truncated.json.gz", None),
    }
    assert "nested more than 254 levels" in rejects[("deep.json.gz", 1)]
    assert "outside the range" in rejects[("year-9999.json.gz", 1)]
    assert "relative word" in rejects[("now.json.gz", 1)]
    assert "does not exist" in rejects[("feb-30.json.gz", 1)]
    assert "leap second" in rejects[("leap-second.json.gz", 1)]
    assert "utf-8" in rejects[("invalid-utf8.json", 1)]
    assert "max_record_bytes" in rejects[("over-size.json.gz", 1)]
    assert "max_decompressed_bytes" in rejects[("bomb.json.gz", None)]
    assert "truncated or corrupt" in rejects[("truncated.json.gz", None)]
    assert out["records_read"] == out["events"] + out["duplicates"] + len(out["rejects"])
