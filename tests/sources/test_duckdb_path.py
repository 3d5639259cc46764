"""The DuckDB path gives exactly the general path's frame and load report, or leaves the file to it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

import ircreds
from ircreds.evidence.sources import _duckdb, files
from ircreds.schema import REDACTED

WALKTHROUGH = Path(__file__).resolve().parents[2] / "data" / "samples" / "walkthrough"
ROOT_TWISTS = ("saml_root", "oidc_root", "ec2_exfil", "console_root")
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _general(monkeypatch: pytest.MonkeyPatch, *sources: object) -> pd.DataFrame:
    with monkeypatch.context() as m:
        m.setattr(
            files._duckdb,
            "read_paths",
            lambda paths, workers, on_decline=None: _duckdb._read_others(paths, 1, False),
        )
        return ircreds.load(*sources)


def _duck(monkeypatch: pytest.MonkeyPatch, *sources: object) -> tuple[pd.DataFrame, list[str]]:
    """Load through the DuckDB path; also return the files it left to the other readers."""
    declined: list[str] = []
    others = _duckdb._read_others

    def spy(paths: list[str], workers: int, fast: bool):
        declined.extend(paths)
        return others(paths, workers, fast)

    with monkeypatch.context() as m:
        m.setattr(_duckdb, "_read_others", spy)
        return ircreds.load(*sources), declined


def _assert_same(duck: pd.DataFrame, general: pd.DataFrame) -> None:
    duck_report, general_report = dict(duck.attrs["load_report"]), dict(general.attrs["load_report"])
    declined = duck_report.pop("duckdb_declined")
    assert general_report.pop("duckdb_declined") == {"files": 0, "reasons": {}}
    assert declined["files"] == sum(declined["reasons"].values())
    assert duck_report == general_report
    pd.testing.assert_frame_equal(duck, general)


def test_walkthrough_loads_identically_and_entirely_through_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    duck, declined = _duck(monkeypatch, WALKTHROUGH)
    _assert_same(duck, _general(monkeypatch, WALKTHROUGH))
    delivery = [p for p in declined if "CloudTrail-Digest" not in p and p.endswith(".json.gz")]
    assert delivery == []
    assert len(duck) > 10_000


@pytest.mark.parametrize("root", ROOT_TWISTS)
def test_scenario_with_every_twist_loads_identically(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ircreds import scenarios

    twists = [t for t in scenarios.TWISTS if t not in ROOT_TWISTS or t == root]
    scenarios.generate(11, twists=twists).write(tmp_path)
    duck, declined = _duck(monkeypatch, tmp_path)
    _assert_same(duck, _general(monkeypatch, tmp_path))
    assert not [p for p in declined if "CloudTrail-Digest" not in p and p.endswith(".json.gz")]


# ---------------------------------------------------------------------------------------------
# Hand-made files: every record shape the SQL must get right or hand back


def _rec(event_id: str, time: str = "2025-01-20T09:14:27Z", **fields: object) -> dict:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:dev",
            "arn": "arn:aws:sts::111122223333:assumed-role/ExampleRole/dev",
            "accountId": "111122223333",
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLE",
                    "arn": "arn:aws:iam::111122223333:role/ExampleRole",
                    "accountId": "111122223333",
                    "userName": "ExampleRole",
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2025-01-20T09:00:00Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": time,
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"maxResults": 100, "filter": [1.5, 0.25, -3]},
        "responseElements": None,
        "requestID": f"req-{event_id}",
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": "s3.eu-west-1.amazonaws.com"},
    }
    record.update(fields)
    return record


def _assume_role(
    event_id: str, expiration: str = "Jan 20, 2025, 9:14:27 PM", key: str = "ASIAY34FZKBOKMUTVV7A"
) -> dict:
    return _rec(
        event_id,
        eventSource="sts.amazonaws.com",
        eventName="AssumeRole",
        requestParameters={
            "roleArn": "arn:aws:iam::111122223333:role/DataPipelineRole",
            "roleSessionName": "x",
        },
        responseElements={
            "credentials": {"accessKeyId": key, "sessionToken": TOKEN, "expiration": expiration},
            "assumedRoleUser": {
                "assumedRoleId": "AROAEXAMPLE:x",
                "arn": "arn:aws:sts::111122223333:assumed-role/x",
            },
        },
    )


def _write(folder: Path, name: str, records: list, *, gz: bool = True, raw: bytes | None = None) -> Path:
    path = folder / (name + (".json.gz" if gz else ".json"))
    data = raw if raw is not None else json.dumps({"Records": records}, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _ordinary(n: int, prefix: str) -> list[dict]:
    return [_rec(f"{prefix}-{i}", time=f"2025-01-20T09:{i % 60:02d}:{i % 7:02d}Z") for i in range(n)]


TRICKY: dict[str, list] = {
    "sts": [
        _assume_role("sts-1"),
        _assume_role("sts-2", expiration="2025-01-20T21:14:27Z", key="Unknown"),
        _rec(
            "cak-1",
            eventName="CreateAccessKey",
            eventSource="iam.amazonaws.com",
            responseElements={
                "accessKey": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET}
            },
        ),
        _rec("cak-2", eventName="CreateAccessKey", responseElements={"accessKey": None}),
        _rec("gst-1", eventName="GetSessionToken", responseElements={"credentials": None}),
    ],
    "tokens_nested": [
        _rec("tok-1", requestParameters={"policy": json.dumps({"SessionToken": TOKEN, "a": [1, 2]})}),
        _rec("tok-2", additionalEventData={"x-amz-security-token": TOKEN, "bytes": 12}),
        _rec("tok-3", tlsDetails={"tlsVersion": "TLSv1.2", "securityToken": TOKEN}),
        _rec("tok-4", resources=[{"ARN": "arn:aws:s3:::b", "sessiontoken": TOKEN}]),
        _rec("tok-5", serviceEventDetails={"nested": {"deeper": {"SecretAccessKey": SECRET}}}),
    ],
    "missing": [
        {"eventTime": "2025-01-20T10:00:00Z"},
        {"eventName": "NoTime", "eventID": "no-time-1"},
        _rec("empty-time", time=""),
        _rec("no-ui", userIdentity=None),
        {
            "eventTime": "2025-01-20T10:00:01Z",
            "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        },
        _rec("flags", readOnly="false", managementEvent=None, sessionCredentialFromConsole="true"),
        _rec("keys", userIdentity={"type": "IAMUser", "accessKeyId": "", "userName": "DevUser"}),
    ],
    "extras": [
        _rec("ex-1", apiVersion="2012-10-17", eventContext={"a": 1}, vpcEndpointAccountId="111122223333"),
        _rec("ex-3", addendum={"reason": "DELIVERY_DELAY"}, insightDetails={"state": "Start"}),
    ],
    "webid": [
        _rec(
            "wi-1",
            userIdentity={
                "type": "WebIdentityUser",
                "principalId": "token.actions.githubusercontent.com:sts.amazonaws.com:repo:o/r",
                "userName": "repo:o/r",
                "identityProvider": "token.actions.githubusercontent.com",
                "sessionContext": {
                    "webIdFederationData": {
                        "federatedProvider": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com",
                        "attributes": {"sub": "repo:o/r:ref:refs/heads/main", "aud": "sts.amazonaws.com"},
                    }
                },
            },
        ),
        _rec(
            "wi-2",
            userIdentity={
                "type": "WebIdentityUser",
                "sessionContext": {"webIdFederationData": {"attributes": None}},
            },
        ),
        _rec(
            "wi-3",
            userIdentity={
                "type": "SAMLUser",
                "inScopeOf": {"issuerType": "AWS::Lambda::Function", "credentialsIssuedTo": "arn:x"},
            },
        ),
    ],
    "null_extra": [_rec("ex-2", tlsDetails=None)],  # SQL cannot tell a JSON null from a missing field
    "odd_times": [
        _rec("t-1", time="2025-01-20T09:14:27.123Z"),
        _rec("t-2", time="2025-01-20T10:14:27+01:00"),
        _rec("t-3", time="2025-01-20 09:14:27.123456789"),
    ],
    "bad_time": [_rec("bt-1", time="not a time"), _rec("bt-2")],
    "odd_creation": [
        _rec(
            "c-1",
            userIdentity={
                "type": "AssumedRole",
                "sessionContext": {"attributes": {"creationDate": "20131102T010628Z"}},
            },
        )
    ],
    "wrong_types": [_rec("w-1", userIdentity={"accountId": 111122223333, "type": "Root"})],
    "json_as_text": [_rec("j-1", requestParameters=json.dumps({"bucketName": "b", "sessionToken": TOKEN}))],
    "not_objects": [_rec("n-1"), 7, "text", None, [1]],
    "unknown_field": [_rec("u-1", p_log_type="AWS.CloudTrail")],
    "unknown_identity_field": [_rec("u-2", userIdentity={"type": "IAMUser", "credentialId": "abc"})],
    "odd_flag": [_rec("f-1", readOnly="True"), _rec("f-2", readOnly=1)],
    "numbers": [
        _rec("num-1", requestParameters={"big": 10**20, "huge": 1e300, "small": 1e-7, "int": 2**63 + 5})
    ],
    "tiny_float": [_rec("tiny-1", additionalEventData={"ratio": 1.7736495352622546e-06})],
    "escapes": [
        _rec("esc-1", userAgent="caf\u00e9 \u2028 \x01", requestParameters={"k": "a\u0001b\u001fc", "é": "ü"})
    ],
    "mixed_webid": [
        _rec("mw-1"),
        _rec("mw-2", userIdentity={"type": "X", "sessionContext": {"webIdFederationData": "odd"}}),
    ],
    "empty": [],
}


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tricky")
    for name, records in TRICKY.items():
        _write(folder, name, records)
    ordinary = _ordinary(300, "ord")
    _write(folder, "a_ordinary", ordinary)
    _write(folder, "b_redelivered", ordinary[:50] + _ordinary(5, "b"))  # re-deliveries across files
    collision = dict(ordinary[0], eventName="DeleteBucket")  # same id, different content: both kept
    _write(folder, "c_collision", [collision, ordinary[1], ordinary[1]])  # and a re-delivery in one file
    _write(folder, "d_plain", _ordinary(10, "plain"), gz=False)
    _write(folder, "e_pretty", [], raw=json.dumps({"Records": _ordinary(3, "pretty")}).encode())
    _write(folder, "h_truncated", [], raw=b'{"Records":[{"eventTime":"2025-01-20T09:14:27Z"')
    _write(folder, "i_extra_top", [], raw=b'{"Records":[{"eventTime":"2025-01-20T09:14:27Z"}],"x":1}')
    _write(
        folder,
        "j_dup_time_order",
        [_rec("z-2", time="2025-01-20T09:00:00Z"), _rec("z-1", time="2025-01-20T09:00:00Z")],
    )
    (folder / "k_digest.json").write_text('{"digestStartTime": "2025-01-20T09:00:00Z", "logFiles": []}')
    return folder


def test_tricky_files_load_identically(tricky: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    duck, _ = _duck(monkeypatch, tricky)
    general = _general(monkeypatch, tricky)
    _assert_same(duck, general)
    report = duck.attrs["load_report"]
    assert report["duplicates"] >= 51
    assert report["id_collisions"]
    assert report["rejects"]


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_each_tricky_file_loads_identically_on_its_own(
    name: str, tricky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = next(tricky.glob(name + ".json.gz"))
    duck, _ = _duck(monkeypatch, path)
    _assert_same(duck, _general(monkeypatch, path))


TAKEN = (
    "sts",
    "tokens_nested",
    "missing",
    "extras",
    "webid",
    "a_ordinary",
    "b_redelivered",
    "c_collision",
    "d_plain",
)
LEFT = (
    "tiny_float",
    "null_extra",
    "escapes",
    "odd_times",
    "bad_time",
    "odd_creation",
    "wrong_types",
    "json_as_text",
    "not_objects",
    "unknown_field",
    "unknown_identity_field",
    "odd_flag",
    "numbers",
    "mixed_webid",
    "empty",
    "e_pretty",
    "h_truncated",
    "i_extra_top",
)


def test_duckdb_takes_what_it_reproduces_and_leaves_the_rest(
    tricky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, declined = _duck(monkeypatch, tricky)
    left = {Path(p).name.split(".")[0] for p in declined}
    assert left >= set(LEFT)
    assert not left & set(TAKEN)


def test_no_secret_reaches_the_frame_through_duckdb(tricky: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    duck, _ = _duck(monkeypatch, tricky)
    text = duck.astype(str).to_csv()
    assert TOKEN not in text
    assert SECRET not in text
    assert REDACTED in duck.loc[duck["eventID"] == "tok-1", "requestParameters"].iloc[0]
    row = duck.loc[duck["eventID"] == "sts-1"].iloc[0]
    assert row["issued.accessKeyId"] == "ASIAY34FZKBOKMUTVV7A"
    assert row["issued.expiration"] == pd.Timestamp("2025-01-20T21:14:27Z")
    assert pd.isna(duck.loc[duck["eventID"] == "sts-2", "issued.accessKeyId"].iloc[0])


def test_third_party_corpus_loads_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"third-party corpus not found at {CORPUS}")
    for path in sorted(CORPUS.glob("*.json")):
        doc = json.loads(path.read_text())
        records = doc.get("records") or doc.get("Records")
        if isinstance(records, list):
            for ascii_only in (True, False):
                text = json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=ascii_only)
                _write(tmp_path, f"{path.stem}-{ascii_only}", [], raw=text.encode())
    duck, declined = _duck(monkeypatch, tmp_path)
    _assert_same(duck, _general(monkeypatch, tmp_path))
    assert len(declined) < len(list(tmp_path.iterdir())) // 2


@pytest.mark.parametrize("collision_time", ["2025-01-20T09:00:00Z", "2025-01-20T08:00:00Z"])
def test_clean_batches_keep_ties_duplicates_and_collisions_in_file_order(
    collision_time: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files DuckDB fully takes come back sorted by time; ties, re-deliveries and collisions keep file order."""
    same = "2025-01-20T09:00:00Z"
    first = [_rec(f"tie-{i}", time=same) for i in range(3)] + [_rec("late", time="2025-01-20T10:00:00Z")]
    _write(tmp_path, "a", first)
    _write(tmp_path, "b", [_rec("tie-b", time=same), first[0], _rec("early", time="2025-01-20T07:00:00Z")])
    _write(tmp_path, "c", [dict(first[1], eventName="Other", eventTime=collision_time), first[3]])
    duck, declined = _duck(monkeypatch, tmp_path)
    assert declined == []
    _assert_same(duck, _general(monkeypatch, tmp_path))
    assert list(duck["eventID"][:1]) == ["early"]


def test_files_left_to_the_other_readers_are_read_by_fork_server_workers_in_a_kernel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a notebook kernel (threads running, the main module no file) the per-file readers run in
    workers from a fork server, never forked beside the kernel's threads, and give the serial outcomes."""
    import concurrent.futures
    import sys
    import threading
    import types
    from typing import Any

    paths = sorted(str(p) for p in WALKTHROUGH.rglob("*.json.gz") if "CloudTrail-Digest" not in str(p))[:24]
    serial = list(_duckdb._read_others(paths, 1, False))
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    contexts = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def pool(*args: Any, **kwargs: Any) -> Any:
        contexts.append(kwargs["mp_context"].get_start_method())
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", pool)
    try:
        pooled = list(_duckdb._read_others(paths, 2, False))
    finally:
        stop.set()
        other.join()
    assert contexts == ["forkserver"]
    assert [(o.name, o.kind, o.records_read, o.rejects) for o in pooled] == [
        (o.name, o.kind, o.records_read, o.rejects) for o in serial
    ]
    assert all(a.table.equals(b.table) for a, b in zip(pooled, serial, strict=True))
    assert sum(o.records_read for o in pooled) >= len(paths)  # every delivery file holds a record
