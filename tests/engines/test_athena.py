"""One query definition, three engines: the Athena SQL runs in DuckDB over a copy laid out as the Athena
table, its boto3 flow runs against moto's Athena, and the lineage agrees with the in-memory and case paths."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import requests
from sqlglot import exp

import ircreds
from ircreds.cli import main
from ircreds.engines import athena, index, open_case, queries
from ircreds.errors import AwsError, IrcredsError
from ircreds.scenarios import generate

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "data" / "samples" / "walkthrough"


def _local_athena(evidence: Path) -> Any:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        queries.local_table_sql(
            str(evidence / "AWSLogs" / "**" / "CloudTrail" / "*" / "*" / "*" / "*" / "*.json.gz")
        )
    )
    return con


def _window(con: Any) -> queries.Window:
    accounts = tuple(
        r for (r,) in con.execute("SELECT DISTINCT account FROM cloudtrail ORDER BY 1").fetchall()
    )
    regions = tuple(r for (r,) in con.execute("SELECT DISTINCT region FROM cloudtrail ORDER BY 1").fetchall())
    first, last = con.execute('SELECT min("timestamp"), max("timestamp") FROM cloudtrail').fetchall()[0]
    day = lambda s: date(*map(int, s.split("/")))  # noqa: E731
    return queries.Window(start=day(first), end=day(last), accounts=accounts, regions=regions)


def _runner(con: Any, log: list[tuple[str, list[dict[str, Any]]]] | None = None) -> Any:
    def run(sql: str) -> list[dict[str, Any]]:
        rel = con.sql(sql)
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
        if log is not None:
            log.append((sql, rows))
        return rows

    return run


def _shape(tr: Any) -> list[tuple[Any, ...]]:
    """What the three paths must agree on: the lineage, each credential's issuer and kind, its calls."""
    return [
        (
            n.key,
            str(n.session.kind),
            n.session.issuer.arn,
            n.session.role_arn,
            n.root.arn,
            tuple(n.calls["eventID"]),
        )
        for n in tr.walk()
    ]


@pytest.fixture(scope="module")
def walkthrough_athena() -> Any:
    return _local_athena(WALKTHROUGH)


def test_every_query_renders_for_both_engines_with_its_partition_predicates() -> None:
    w = queries.Window(
        start=date(2025, 1, 19), end=date(2025, 1, 21), accounts=("111122223333",), regions=("us-east-1",)
    )
    for query in (
        queries.calls_of(["ASIAIOSFODNN7EXAMPLE"], w),
        queries.issuing_of(["AKIAIOSFODNN7EXAMPLE"], w),
    ):
        for dialect in ("athena", "duckdb"):
            sql = queries.render(query, dialect, "trail_db.cloudtrail_logs_pp")
            tree = queries.parse(sql, dialect)
            columns = {c.name for c in tree.find_all(queries.exp.Column)}
            assert {"account", "region", "timestamp"} <= columns, sql
            assert "trail_db" in sql
    athena_sql = queries.render(queries.issuing_of(["AKIAIOSFODNN7EXAMPLE"], w), "athena")
    assert "JSON_EXTRACT_SCALAR(responseelements, '$.credentials.accessKeyId')" in athena_sql


@pytest.mark.parametrize(
    "window",
    [
        {"accounts": (), "regions": ("us-east-1",)},
        {"accounts": ("111122223333",), "regions": ()},
        {"accounts": ("1111' OR 1=1 --",), "regions": ("us-east-1",)},
    ],
)
def test_a_query_without_valid_partitions_is_refused(window: dict[str, Any]) -> None:
    with pytest.raises(IrcredsError):
        queries.Window(start=date(2025, 1, 19), end=date(2025, 1, 21), **window)


def test_a_key_that_is_not_a_key_never_reaches_the_sql() -> None:
    w = queries.Window(
        start=date(2025, 1, 19), end=date(2025, 1, 21), accounts=("111122223333",), regions=("us-east-1",)
    )
    with pytest.raises(IrcredsError, match="not an access key id"):
        queries.calls_of(["ASIA' OR '1'='1"], w)


def test_athena_sql_in_duckdb_the_case_store_and_memory_agree_on_the_walkthrough(
    walkthrough_athena: Any, tmp_path: Path
) -> None:
    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    found = queries.expand(key, _window(walkthrough_athena), _runner(walkthrough_athena), "duckdb")
    from_sql = ircreds.trace(ircreds.load(found.records), key)
    events = ircreds.load(WALKTHROUGH)
    in_memory = ircreds.trace(events, key)
    index([WALKTHROUGH], tmp_path / "case")
    with open_case(tmp_path / "case") as case:
        from_case = case.trace(key)
    assert _shape(from_sql) == _shape(in_memory) == _shape(from_case)
    assert len(found.records) < len(events) / 50  # only the lineage came back
    assert set(found.keys) == {n.key for n in in_memory.walk()}


@pytest.mark.parametrize(
    ("seed", "twists"), [(404, ["cross_account"]), (505, ["federation_token", "reassume"])]
)
def test_athena_sql_and_memory_agree_on_generated_exercises(
    tmp_path: Path, seed: int, twists: list[str]
) -> None:
    scenario = generate(seed, twists=twists)
    scenario.write(tmp_path / "ev")
    con = _local_athena(tmp_path / "ev")
    key = scenario.answer_key["leaked_access_key_id"]
    found = queries.expand(key, _window(con), _runner(con), "duckdb")
    in_memory = ircreds.trace(ircreds.load(tmp_path / "ev"), key)
    assert _shape(ircreds.trace(ircreds.load(found.records), key)) == _shape(in_memory)


def _inject(endpoint: str, account: str, con: Any, results: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Queue Athena results in moto (its header row first), in the order the queries will ask.

    ``results``: each query's DuckDB SQL (for its columns) and rows, as the local run returned them.
    """
    payload = []
    for sql, rows in results:
        columns = list(con.sql(sql).columns)
        header = {"Data": [{"VarCharValue": c} for c in columns]}
        data = [
            {"Data": [{} if row.get(c) is None else {"VarCharValue": str(row[c])} for c in columns]}
            for row in rows
        ]
        payload.append(
            {"rows": [header, *data], "column_info": [{"Name": c, "Type": "varchar"} for c in columns]}
        )
    response = requests.post(
        f"{endpoint}/moto-api/static/athena/query-results",
        json={"account_id": account, "region": "us-east-1", "results": payload},
        timeout=10,
    )
    assert response.status_code == 201


def test_the_boto3_flow_runs_the_athena_sql_and_returns_the_lineage_frame(walkthrough_athena: Any) -> None:
    from ircreds.sandbox import start_sandbox

    key = json.loads((WALKTHROUGH / "answer_key.json").read_text())["leaked_access_key_id"]
    window = _window(walkthrough_athena)
    local: list[tuple[str, list[dict[str, Any]]]] = []
    expected = queries.expand(key, window, _runner(walkthrough_athena, local), "duckdb")
    with start_sandbox(WALKTHROUGH) as sb:
        client = sb.client("athena", "us-east-1")
        _inject(sb.endpoint_url, sb.account_id, walkthrough_athena, local)
        # each query stays QUEUED, then RUNNING, for two polls: the flow must wait with growing pauses
        transition = {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 2}}
        requests.post(f"{sb.endpoint_url}/moto-api/state-manager/set-transition", json=transition, timeout=10)
        waits: list[float] = []
        got = athena.trace_rows(
            client, key, window, database="trail_db", table="cloudtrail_logs_pp", sleep=waits.append
        )
        sent = [
            client.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Query"] for q in got.stats.ids
        ]
        requests.post(f"{sb.endpoint_url}/moto-api/state-manager/unset-transition",
                      json={"model_name": "athena::execution"}, timeout=10)  # fmt: skip
    assert len(waits) >= 3 * len(local)
    assert waits[1] > waits[0]  # backoff
    assert got.keys == expected.keys
    assert len(sent) == len(local) == got.stats.queries
    for athena_sql, (duck_sql, _) in zip(sent, local, strict=True):
        assert "trail_db.cloudtrail_logs_pp" in athena_sql
        assert queries.parse(athena_sql, "athena").sql(dialect="duckdb").replace(
            "trail_db.cloudtrail_logs_pp", "cloudtrail"
        ) == queries.parse(duck_sql, "duckdb").sql(dialect="duckdb")
    in_memory = ircreds.trace(ircreds.load(WALKTHROUGH), key)
    assert _shape(ircreds.trace(got.events, key)) == _shape(in_memory)
    assert got.events.attrs["athena"]["queries"] == len(local)
    assert got.stats.cost_usd > 0  # 10 MB billed at least per query


def test_an_athena_error_is_one_sentence(aws_credentials: None) -> None:
    from ircreds.sandbox import start_sandbox

    with start_sandbox(WALKTHROUGH) as sb:
        client = sb.client("athena", "us-east-1")
        with pytest.raises(AwsError) as err:
            athena.run_query(client, "SELECT 1", database="trail_db", workgroup="no-such-workgroup")
    text = str(err.value)
    assert text.startswith("Athena ")
    assert "\n" not in text


def test_athena_ddl_command_prints_the_partition_projected_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["athena", "ddl", "--bucket", "amzn-s3-demo-bucket", "--accounts", "111122223333,444455556666",
            "--regions", "us-east-1,eu-west-1", "--start", "2025/01/01"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_logs_pp (")
    assert "'projection.account.values'='111122223333,444455556666'" in text
    assert (
        "'storage.location.template'='s3://amzn-s3-demo-bucket/AWSLogs/${account}/CloudTrail/${region}/${timestamp}'"
        in text
    )
    assert "com.amazon.emr.cloudtrail.CloudTrailInputFormat" in text


def test_athena_ddl_refuses_a_bad_account(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["athena", "ddl", "--bucket", "b-bucket", "--accounts", "1234", "--regions", "us-east-1"]) != 0
    )


@pytest.mark.parametrize(
    ("seed", "twists"), [(404, ["cross_account", "session_token"]), (707, ["saml_root", "federation_token"])]
)
def test_the_scope_from_athena_sql_equals_the_scope_in_memory(
    tmp_path: Path, seed: int, twists: list[str]
) -> None:
    """The scope's rows come round by round (lineages, the attacker's addresses, the owners' baselines)
    as the Athena SQL run in DuckDB; the scope on them equals the scope on the whole trail."""
    scenario = generate(seed, twists=twists)
    scenario.write(tmp_path / "ev")
    con = _local_athena(tmp_path / "ev")
    key = scenario.answer_key["leaked_access_key_id"]
    found = queries.expand_scope(_window(con), _runner(con), "duckdb", keys=[key])
    events = ircreds.load(tmp_path / "ev")
    from_sql = ircreds.scope(ircreds.load(found.records), key=key)
    in_memory = ircreds.scope(events, key=key)
    assert from_sql.to_dict() == in_memory.to_dict()
    assert len(in_memory.compromised) > 1  # the pivots mattered: more than the alerted key
    assert len(found.records) < len(events) / 2
    assert len(found.queries) < 25  # lineages are fetched together, not one key at a time
    for sql in found.queries:
        assert '"timestamp" BETWEEN' in sql  # every query reads only the window's partitions
    ips = list(in_memory.attacker_ips[:1])  # an alert that names only the attacker's address
    by_ip = queries.expand_scope(_window(con), _runner(con), "duckdb", ips=ips)
    expected = ircreds.scope(events, ips=ips).to_dict()
    assert ircreds.scope(ircreds.load(by_ip.records), ips=ips).to_dict() == expected


def test_pivot_values_are_literals_whatever_the_attacker_wrote() -> None:
    w = queries.Window(
        start=date(2025, 1, 19), end=date(2025, 1, 21), accounts=("111122223333",), regions=("us-east-1",)
    )
    agent = "evil'); DROP TABLE cloudtrail; --"
    for dialect in ("athena", "duckdb"):
        sql = queries.render(queries.calls_with_agents([agent], w), dialect)
        parsed = queries.parse(sql, dialect)
        assert agent in {lit.this for lit in parsed.find_all(exp.Literal)}
        assert "DROP TABLE" not in sql.replace(agent.replace("'", "''"), "")


def test_scope_command_with_athena_runs_the_scope_sql_through_boto3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, aws_credentials: None
) -> None:
    from ircreds.sandbox import start_sandbox

    scenario = generate(404, twists=["cross_account", "session_token"])
    scenario.write(tmp_path / "ev")
    con = _local_athena(tmp_path / "ev")
    key = scenario.answer_key["leaked_access_key_id"]
    window = _window(con)
    local: list[tuple[str, list[dict[str, Any]]]] = []
    queries.expand_scope(window, _runner(con, local), "duckdb", keys=[key])
    days = ["--start", f"{window.start}T00:00:00Z", "--end", f"{window.end}T23:59:59Z"]
    where = ["--accounts", ",".join(window.accounts), "--regions", ",".join(window.regions)]
    argv = ["scope", "--key", key, "--json", "--no-plan", "--engine", "athena", "--database", "trail_db"]
    with start_sandbox(tmp_path / "ev") as sb:
        # the command signs with the test credentials, which moto files under its default account
        _inject(sb.endpoint_url, "123456789012", con, local)
        argv += ["--table", "cloudtrail_logs_pp", *days, *where, "--endpoint-url", sb.endpoint_url]
        assert main([*argv, "--aws-region", "us-east-1"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    memory = ircreds.scope(ircreds.load(tmp_path / "ev"), key=key, start=None, end=None)
    assert [c["access_key_id"] for c in doc["compromised"]] == [c.access_key_id for c in memory.compromised]
    assert doc["athena"]["queries"] == len(local)
    assert "athena: " in out.err


def _overview(frame: Any) -> Any:
    return frame.drop(columns=["findings", "high_findings"], errors="ignore").reset_index(drop=True)


@pytest.mark.parametrize(
    ("seed", "twists"),
    [
        (None, []),
        (404, ["cross_account", "session_token"]),
        (818, ["console_root", "reassume", "cross_account"]),
    ],
)
def test_the_sessions_table_from_athena_sql_the_case_store_and_memory_agree(
    tmp_path: Path, seed: int | None, twists: list[str]
) -> None:
    """Three grouped queries (issuing events, each key's first call, per key and address its use) give
    the whole sessions table, source addresses included, with only a few rows per key coming back."""
    from ircreds.scoping import credentials_overview

    evidence = WALKTHROUGH
    if seed is not None:
        evidence = tmp_path / "ev"
        generate(seed, twists=twists).write(evidence)
    con = _local_athena(evidence)
    rows = queries.session_rows(_window(con), _runner(con), "duckdb")
    from_sql = athena.sessions_frame(rows)
    events = ircreds.load(evidence)
    in_memory = credentials_overview(events, findings=False)
    index([evidence], tmp_path / "case")
    with open_case(tmp_path / "case") as case:
        from_case = case.credentials_overview(findings=False)
    pd.testing.assert_frame_equal(_overview(from_sql), _overview(in_memory))
    pd.testing.assert_frame_equal(_overview(from_case), _overview(in_memory))
    assert in_memory["call_count"].sum() > len(rows.records) + len(rows.usage)  # the calls stayed in Athena
    assert len(in_memory) > 5
    assert in_memory["source_ips"].map(len).sum() > 0
    assert len(rows.queries) == 3
    for sql in rows.queries:
        assert '"timestamp" BETWEEN' in sql


def test_sessions_command_with_athena_prints_the_same_rows_as_on_the_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, aws_credentials: None
) -> None:
    from ircreds.sandbox import start_sandbox

    scenario = generate(616, twists=["federation_token", "reassume"])
    scenario.write(tmp_path / "ev")
    con = _local_athena(tmp_path / "ev")
    window = _window(con)
    local: list[tuple[str, list[dict[str, Any]]]] = []
    queries.session_rows(window, _runner(con, local), "duckdb")
    assert main(["sessions", str(tmp_path / "ev"), "--json", "--no-findings"]) == 0
    expected = json.loads(capsys.readouterr().out)
    argv = [
        "sessions",
        "--json",
        "--engine",
        "athena",
        "--database",
        "trail_db",
        "--table",
        "cloudtrail_logs_pp",
    ]
    argv += ["--start", str(window.start), "--end", str(window.end), "--aws-region", "us-east-1"]
    argv += ["--accounts", ",".join(window.accounts), "--regions", ",".join(window.regions)]
    with start_sandbox(tmp_path / "ev") as sb:
        _inject(sb.endpoint_url, "123456789012", con, local)
        assert main([*argv, "--endpoint-url", sb.endpoint_url]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == expected
    assert len(expected) > 5
    assert "athena: 3 queries" in out.err


def test_the_sessions_sql_leaves_out_times_cloudtrail_never_writes(tmp_path: Path) -> None:
    """Attacker-written times never fail the sessions SQL: a word ("now") is a reject in memory and left out
    there; a time with an offset, which CloudTrail never writes but the loader reads, is left out too."""
    import gzip

    from ircreds.scoping import credentials_overview

    scenario = generate(727, twists=["session_token"])
    evidence = tmp_path / "ev"
    scenario.write(evidence)
    key = scenario.answer_key["leaked_access_key_id"]
    folder = sorted(evidence.rglob("*.json.gz"), key=lambda p: "Digest" in str(p))[0].parent
    odd = [
        {"eventVersion": "1.08", "eventTime": when, "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
         "eventID": f"odd-{i}", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.99",
         "userIdentity": {"type": "AssumedRole", "accessKeyId": k}}
        for i, (when, k) in enumerate([("now", key), ("2025-01-20T10:00:00+01:00", key), ("now", "ASIAODDTIMEONLY0001")])
    ]  # fmt: skip
    (folder / "odd.json.gz").write_bytes(gzip.compress(json.dumps({"Records": odd}).encode()))
    con = _local_athena(evidence)
    from_sql = athena.sessions_frame(queries.session_rows(_window(con), _runner(con), "duckdb"))
    events = ircreds.load(evidence)
    assert len(events.attrs["load_report"]["rejects"]) == 2  # the two words
    assert "odd-1" in set(events["eventID"])  # the offset time loads
    without = events.loc[events["eventID"] != "odd-1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        _overview(from_sql), _overview(credentials_overview(without, findings=False))
    )
