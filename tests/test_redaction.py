"""Redaction by key, by name/value pair and by value, the same on every loading path and in the report."""

from __future__ import annotations

import gzip
import json
import re
import string
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pyarrow.parquet as pq
import pytest
from findings.records import ATTACKER_UA, K1, leak_story
from hypothesis import given, settings
from hypothesis import strategies as st

import ircreds
from ircreds import redaction
from ircreds.cli import main
from ircreds.evidence import save
from ircreds.evidence.sources._normalize import redact as old_place_redact
from ircreds.report import render, scrub
from ircreds.schema import REDACTED

# fake secrets, shaped like the real ones (base64 with "+" and "/", the STS prefixes)
STS = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQD" + "Jb4Xq9Zk+L2v/N8mEXAMPLE" * 14
FWO = "FwoGZXIvYXdzEDh3kZp9QaZ" + "r7Tq0Lw+Yx/EXAMPLE" * 16
DOCS = (  # the AWS documentation's example session token
    "AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/"
    "IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8"
    "C5zqx37wnOE49mRl/+OtkIKGO7fAE"
)
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PLAIN = "EXAMPLE-UNSHAPED-SECRET-7f3a9c01"  # no token shape: only a key or a pair can give it away
PLAIN2 = "EXAMPLE-UNSHAPED-SECRET-2b8e4d77"
SIGNATURE = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
KEY_ID = "ASIAEXAMPLEKEYID0001"
PRESIGNED = (
    "https://corp-data.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={KEY_ID}%2F20250120%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250120T093000Z"
    f"&X-Amz-Expires=3600&X-Amz-Security-Token={quote(STS, safe='')}&X-Amz-Signature={SIGNATURE}"
    "&X-Amz-SignedHeaders=host"
)


def _set(**fields: Any) -> Callable[[dict], None]:
    def apply(rec: dict) -> None:
        rec.update(fields)

    return apply


# name -> (how the hostile record is made, what must never be loaded, what must stay)
SHAPES: dict[str, tuple[Callable[[dict], None], list[str], list[str]]] = {
    "aws_session_token key": (
        _set(requestParameters={"profile": {"region": "us-east-1", "aws_session_token": PLAIN}}),
        [PLAIN],
        ["us-east-1"],
    ),
    "AWS_SECRET_ACCESS_KEY variable (Lambda)": (
        _set(
            requestParameters={
                "functionName": "etl",
                "environment": {"variables": {"AWS_SECRET_ACCESS_KEY": PLAIN, "STAGE": "prod-7"}},
            }
        ),
        [PLAIN],
        ["prod-7"],
    ),
    "name/value pair (CodeBuild)": (
        _set(
            requestParameters={
                "projectName": "build",
                "environmentVariablesOverride": [
                    {"name": "AWS_SESSION_TOKEN", "value": PLAIN, "type": "PLAINTEXT"},
                    {"name": "STAGE", "value": "prod-7", "type": "PLAINTEXT"},
                ],
            }
        ),
        [PLAIN],
        ["prod-7"],
    ),
    "Name/Value pair, value first (ECS)": (
        _set(
            requestParameters={
                "containerDefinitions": [{"environment": [{"Value": PLAIN, "Name": "AWS_SECRET_ACCESS_KEY"}]}]
            }
        ),
        [PLAIN],
        ["containerDefinitions"],
    ),
    "JSON-escaped key session\\u0054oken": (
        _set(responseElements={"credentials": {"accessKeyId": KEY_ID, "ESCAPED_SESSION_TOKEN": PLAIN}}),
        [PLAIN],
        [KEY_ID],
    ),
    "presigned URL parameters": (
        _set(requestParameters={"url": PRESIGNED}),
        [STS, quote(STS, safe=""), SIGNATURE],
        [f"X-Amz-Credential={KEY_ID}%2F20250120", "X-Amz-Expires=3600"],
    ),
    "token in errorMessage": (
        _set(
            errorCode="ExpiredToken",
            errorMessage=f"The security token included in the request is expired: {FWO}",
        ),
        [FWO],
        ["The security token included in the request is expired: "],
    ),
    "token in additionalEventData": (
        _set(additionalEventData={"note": f"cached {DOCS} for later"}),
        [DOCS],
        ["cached ", " for later"],
    ),
    "token in userAgent": (
        _set(userAgent=f"aws-sdk-go/1.44.0 (go1.21; linux) sts/{STS}"),
        [STS],
        ["aws-sdk-go/1.44.0 (go1.21; linux) sts/"],
    ),
    "JSON in a string with leading whitespace": (
        _set(
            requestParameters={
                "policy": ' \n {"Credentials": {"SessionToken": "'
                + PLAIN
                + '", "AccessKeyId": "'
                + KEY_ID
                + '"}}'
            }
        ),
        [PLAIN],
        [KEY_ID],
    ),
    "secret key in text": (
        _set(
            errorCode="InvalidClientTokenId",
            errorMessage=f"bad profile: aws_secret_access_key = {SECRET_KEY}",
        ),
        [SECRET_KEY],
        ["bad profile: aws_secret_access_key = "],
    ),
    "token in resources": (
        _set(resources=[{"ARN": "arn:aws:s3:::corp-data", "accountId": "111122223333", "note": STS}]),
        [STS],
        ["arn:aws:s3:::corp-data"],
    ),
    "token in an extra field (tlsDetails)": (
        _set(
            tlsDetails={
                "tlsVersion": "TLSv1.3",
                "clientProvidedHostHeader": f"h?X-Amz-Security-Token={PLAIN2}",
            }
        ),
        [PLAIN2],
        ["TLSv1.3"],
    ),
}


def _base(i: int) -> dict:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "accessKeyId": KEY_ID, "accountId": "111122223333"},
        "eventTime": f"2025-01-20T09:{i:02d}:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.50",
        "userAgent": "aws-cli/2.15.30",
        "requestParameters": {"bucketName": "corp-data", "maxKeys": 50, "nextToken": "eyJ2IjoxfQ=="},
        "responseElements": None,
        "eventID": f"00000000-0000-0000-0000-0000000000{i:02d}",
        "recipientAccountId": "111122223333",
    }


def _document(shape: str) -> bytes:
    """A compact S3 delivery document: one ordinary record, then the hostile one (raw JSON text)."""
    hostile = _base(2)
    SHAPES[shape][0](hostile)
    text = json.dumps({"Records": [_base(1), hostile]}, separators=(",", ":"))
    # a key spelled with a JSON escape: the loader must read the decoded name
    return text.replace('"ESCAPED_SESSION_TOKEN"', '"session\\u0054oken"').encode()


def _strings(frame: pd.DataFrame) -> str:
    return "\n".join(str(v) for col in frame.columns for v in frame[col].tolist() if isinstance(v, str))


def _load(way: str, data: bytes, tmp_path: Path, request: pytest.FixtureRequest) -> pd.DataFrame:
    if way == "records":
        return ircreds.load(json.loads(data)["Records"])
    if way == "bytes":
        return ircreds.load(data)
    if way == "file":  # compact: the DuckDB path
        (tmp_path / "f.json").write_bytes(data)
        return ircreds.load(tmp_path / "f.json")
    if way == "gz":
        (tmp_path / "f.json.gz").write_bytes(gzip.compress(data))
        return ircreds.load(tmp_path / "f.json.gz")
    if way == "jsonl":  # the general path, from a local file
        lines = [json.dumps(r) for r in json.loads(data)["Records"]]
        (tmp_path / "f.jsonl").write_text("\n".join(lines))
        return ircreds.load(tmp_path / "f.jsonl")
    if way == "s3":
        import boto3

        request.getfixturevalue("aws_credentials")
        endpoint = request.getfixturevalue("moto_endpoint")
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        bucket = f"trail-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        key = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/20/111122223333_CloudTrail_x.json.gz"
        client.put_object(Bucket=bucket, Key=key, Body=gzip.compress(data))
        return ircreds.load(f"s3://{bucket}/AWSLogs/", client=client)
    raise AssertionError(way)


WAYS = ["records", "bytes", "file", "gz", "jsonl", "s3"]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_load_redacts_every_shape_on_every_path(
    shape: str, way: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _, secrets, kept = SHAPES[shape]
    frame = _load(way, _document(shape), tmp_path, request)
    report = frame.attrs["load_report"]
    assert (len(frame), report["rejects"]) == (2, [])
    if way in ("file", "gz"):
        assert report["duckdb_declined"]["files"] == 0  # the DuckDB path itself redacted it
    text = _strings(frame)
    for secret in secrets:
        assert secret not in text
    assert REDACTED in text
    for value in kept:
        assert value in text
    saved = save(frame, tmp_path / "events.parquet")
    stored = _strings(pq.read_table(saved).to_pandas())
    for secret in secrets:
        assert secret not in stored


def test_load_save_on_the_command_line_writes_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for i, shape in enumerate(SHAPES):
        (tmp_path / "logs").mkdir(exist_ok=True)
        (tmp_path / "logs" / f"{i:02d}.json").write_bytes(
            _document(shape).replace(b"-0000000000", f"-{i:08d}00".encode())
        )
    out = tmp_path / "events.parquet"
    assert main(["load", str(tmp_path / "logs"), "--save", str(out), "--json"]) == 0
    capsys.readouterr()
    stored = pq.read_table(out).to_pandas()
    assert len(stored) == 2 * len(SHAPES)
    text = _strings(stored)
    for _, secrets, _ in SHAPES.values():
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_path_gives_the_same_redacted_frame(
    shape: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = _document(shape)
    columns = ["requestParameters", "responseElements", "resources", "additionalEventData", "extra"]
    columns += ["userAgent", "errorCode", "errorMessage"]
    frames = {}
    for way in WAYS:
        (tmp_path / way).mkdir()
        frames[way] = _load(way, data, tmp_path / way, request)
    first = frames.pop("records")[columns].astype(object)
    for secret in SHAPES[shape][1]:
        assert secret not in _strings(first)
    for way, frame in frames.items():
        pd.testing.assert_frame_equal(frame[columns].astype(object), first, obj=way)


def test_load_redacts_a_saved_frame_from_before_the_rules(tmp_path: Path) -> None:
    """A parquet saved by an older version (or a frame built by hand) is redacted when loaded."""
    frame = ircreds.load([_base(1), _base(2)])
    frame.loc[1, "errorMessage"] = f"expired: {STS}"
    frame.loc[1, "requestParameters"] = json.dumps({"env": [{"name": "AWS_SESSION_TOKEN", "value": PLAIN}]})
    frame.to_parquet(tmp_path / "old.parquet", index=False)
    for source in (tmp_path / "old.parquet", frame):
        loaded = ircreds.load(source)
        text = _strings(loaded)
        assert STS not in text
        assert PLAIN not in text
        assert "expired: " + REDACTED in text


def test_a_saved_frame_is_redacted_in_its_categoricals_and_its_hand_typed_columns(tmp_path: Path) -> None:
    """The saved-frame reader keeps categoricals dictionary-encoded: a secret in a category is still found;
    a hand-made file whose columns have other types (text times) takes the pandas path and is redacted too."""
    frame = ircreds.load([_base(1), _base(2), _base(3)])
    frame["errorCode"] = frame["errorCode"].astype(object)
    frame.loc[1, "errorCode"] = f"Expired {STS}"
    frame["errorCode"] = frame["errorCode"].astype("category")
    frame.loc[2, "userAgent"] = f"HostileUA/1.0 {STS}"
    save(frame, tmp_path / "cats.parquet")
    by_hand = frame.astype({"eventTime": str})
    by_hand.to_parquet(tmp_path / "by-hand.parquet", index=False)
    for source in ("cats.parquet", "by-hand.parquet"):
        loaded = ircreds.load(tmp_path / source)
        text = _strings(loaded.astype(object))
        assert STS not in text, source
        assert loaded.loc[1, "errorCode"] == "Expired " + REDACTED, source
        assert loaded.loc[2, "userAgent"] == "HostileUA/1.0 " + REDACTED, source
        assert isinstance(loaded["errorCode"].dtype, pd.CategoricalDtype), source
        assert loaded.attrs["load_report"]["events"] == 3, source


# ------------------------------------------------------------------------------------------ report

REPORT_TEXTS = {
    "token": f"HostileUA/1.0 {STS}",
    "pair": "HostileUA/1.0 " + json.dumps({"name": "AWS_SESSION_TOKEN", "value": PLAIN}),
    "pair, HTML-escaped quotes": "HostileUA/1.0 {&#34;name&#34;: &#34;AWS_SESSION_TOKEN&#34;, &#34;value&#34;: &#34;"
    + PLAIN
    + "&#34;}",
    "presigned": f"HostileUA/1.0 {PRESIGNED}",
    "secret key": f"HostileUA/1.0 (aws configure set aws_secret_access_key {SECRET_KEY})",
    "JSON in string": 'HostileUA/1.0  {"Credentials": {"session\\u0054oken": "' + PLAIN + '"}}',
}


@pytest.mark.parametrize("fmt", ["html", "md"])
@pytest.mark.parametrize("case", list(REPORT_TEXTS))
def test_report_shows_no_secret_even_from_an_unredacted_frame(case: str, fmt: str) -> None:
    """The report's own scrub (on the raw data, before escaping) catches what a frame still holds."""
    events = ircreds.load(leak_story())
    hostile = REPORT_TEXTS[case]
    events["userAgent"] = events["userAgent"].mask(events["userAgent"] == ATTACKER_UA, hostile)
    report = render(ircreds.trace(events, K1), events=events, fmt=fmt, figures=False, integrity=False)
    assert "HostileUA/1.0" in report.text  # the user agent is shown
    blobs = [report.text.encode(), *report.assets.values()]
    for secret in (STS, quote(STS, safe=""), PLAIN, SECRET_KEY, SIGNATURE):
        for blob in blobs:
            assert secret.encode() not in blob


def test_report_scrub_is_reexported_and_handles_escaped_html() -> None:
    assert (
        scrub(f"&#34;sessionToken&#34;: &#34;{PLAIN}&#34;") == f"&#34;sessionToken&#34;: &#34;{REDACTED}&#34;"
    )
    assert old_place_redact({"aws_session_token": PLAIN}) == {"aws_session_token": REDACTED}


# ------------------------------------------------------------------------------------------ the rules


@pytest.mark.parametrize(
    "name",
    ["sessionToken", "SessionToken", "aws_session_token", "AWS_SESSION_TOKEN", "X-Amz-Security-Token",
     "securityToken", "secretAccessKey", "aws_secret_access_key", "SECRET-ACCESS-KEY", "x-amz-signature"],
)  # fmt: skip
def test_secret_names_in_any_case_and_spelling(name: str) -> None:
    assert redaction.is_secret_name(name)
    assert redaction.redact({name: PLAIN}) == {name: REDACTED}
    assert redaction.redact([{"name": name, "value": PLAIN}]) == [{"name": name, "value": REDACTED}]


@pytest.mark.parametrize(
    "name", ["nextToken", "tokenCode", "sessionTokenTtl", "SignatureVersion", "accessKeyId", "secretId"]
)
def test_near_miss_names_keep_their_values(name: str) -> None:
    assert not redaction.is_secret_name(name)
    assert redaction.redact({name: "abc", "name": name, "value": "v"}) == {
        name: "abc",
        "name": name,
        "value": "v",
    }


@pytest.mark.parametrize("prefix", [*redaction.TOKEN_PREFIXES, "AgoJb3JpZ2lu", "FQoDYXdz"])
def test_a_session_name_that_looks_like_a_token_is_kept(prefix: str) -> None:
    """AWS names are at most 64 characters: shorter than any token, so they are never taken for one."""
    name = (prefix + "A" * 64)[:64]
    arn = f"arn:aws:sts::111122223333:assumed-role/Deploy/{name}"
    assert redaction.redact_text(arn) == arn
    assert redaction.redact({"roleSessionName": name}) == {"roleSessionName": name}
    token = prefix + "A" * 80
    assert redaction.redact_text(f'"{token}"') == f'"{REDACTED}"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "AWS_SESSION_TOKEN_FILE", "value": "/var/run/token"}', None),  # a path, not the token
        ("sessionTokenTtl=3600&maxResults=50", None),
        ('{"nextToken": "eyJ2IjoxfQ==", "SignatureVersion": "SigV4"}', None),
        ('{"sessionToken": null, "secretAccessKey": 123}', None),  # JSON stays JSON
        ("GET /o?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1737370000&Signature=dGhpcyBpcyBhIHNpZw%3D%3D",
         f"GET /o?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1737370000&Signature={REDACTED}"),
        (f"aws_session_token = {STS}\nregion = us-east-1", f"aws_session_token = {REDACTED}\nregion = us-east-1"),
        (f"X-Amz-Security-Token%3D{quote(STS, safe='')}", f"X-Amz-Security-Token%3D{REDACTED}"),
        (f"{{&#34;value&#34;: &#34;{PLAIN}&#34;, &#34;name&#34;: &#34;AWS_SESSION_TOKEN&#34;}}",
         f"{{&#34;value&#34;: &#34;{REDACTED}&#34;, &#34;name&#34;: &#34;AWS_SESSION_TOKEN&#34;}}"),
    ],
)  # fmt: skip
def test_scrub_near_misses_and_odd_spellings(text: str, expected: str | None) -> None:
    assert redaction.scrub(text) == (text if expected is None else expected)
    assert redaction.scrub(redaction.scrub(text)) == redaction.scrub(text)


_PIECES = st.sampled_from(
    ["session", "Security", "TOKEN", "_", "-", ".", " ", "secret", "Access", "KEY", "x-amz-", "signature",
     "?", "&", ";", "=", "\\u00", "\\", "u0054", "oJb3JpZ2lu", "oDYXdz", "YXdz", "oGZXIvYXdz", "AQoEXAMPLE",
     "b3JpZ2lu", "next", "value", "name", '"', ":"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES | st.text(alphabet=string.ascii_letters + string.digits, max_size=4), max_size=12))
def test_the_python_precheck_and_the_re2_hint_agree(pieces: list[str]) -> None:
    """DuckDB and Arrow test :data:`HINT` with RE2, the other paths test in Python: same answer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = "".join(pieces)
    re2 = pc.match_substring_regex(pa.array([text]), redaction.HINT)[0].as_py()
    assert redaction.might_hold_secret(text) == re2
    assert (re.search(redaction.HINT, text) is not None) == re2
    if not re2:
        assert redaction.redact_text(text) == text


_SECRETISH = ("token", "secret", "signature", "\\u", *(p[2:].lower() for p in redaction.TOKEN_PREFIXES))


def _plain(text: str) -> bool:
    low = text.lower()
    return not any(s in low for s in _SECRETISH)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_random_text_without_token_shapes_is_unchanged(text: str) -> None:
    if _plain(text):
        assert redaction.redact_text(text) == text
        assert redaction.scrub(text) == text
        assert redaction.redact({"k": text, text: [text]}) == {"k": text, text: [text]}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.ascii_letters + string.digits + "+/=", max_size=600))
def test_random_base64_without_a_token_prefix_is_unchanged(blob: str) -> None:
    if not any(p[2:] in blob for p in redaction.TOKEN_PREFIXES):
        assert redaction.redact_text(blob) == blob
        assert redaction.redact_text(f'{{"nextToken": "{blob}"}}') == f'{{"nextToken": "{blob}"}}'


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=string.ascii_letters + " :=/-_.", max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=string.ascii_letters + "_-", max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_JSON, st.sampled_from([STS, FWO, DOCS, f"aws_session_token={PLAIN}"]))
def test_a_secret_planted_anywhere_is_found_and_redaction_is_idempotent(value: Any, secret: str) -> None:
    planted = {"wrapper": [value, f"see {secret} here"]}
    once = redaction.redact(planted)
    text = json.dumps(once)
    assert secret not in text
    assert PLAIN not in text
    assert redaction.redact(once) == once
    if _plain(json.dumps(value)):
        assert once["wrapper"][0] == value  # the rest is untouched
