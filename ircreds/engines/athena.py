"""Where an organisation's trail lives: the trace as Athena SQL over the documented CloudTrail table (boto3).

- :func:`ddl`: the ``CREATE EXTERNAL TABLE`` AWS documents for CloudTrail logs, with partition
  projection over accounts, regions and days (one statement, no ``MSCK REPAIR``);
- :func:`run_query`: start, poll with backoff, paginate; errors in one sentence; bytes scanned and
  cost reported;
- :func:`trace_rows`: the lineage expanded hop by hop (:func:`ircreds.engines.queries.expand`) with
  the very SQL the local tests run in DuckDB; only the lineage's rows come back, as the events frame;
- :func:`scope_rows`: the rows a scope needs, round by round; :func:`sessions`: the sessions table
  from three grouped queries (no call leaves Athena).

Example:
    >>> print(ddl("amzn-s3-demo-bucket", ["111122223333"], ["us-east-1"], start="2025/01/01").splitlines()[0])
    CREATE EXTERNAL TABLE IF NOT EXISTS cloudtrail_logs_pp (
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ircreds.engines import queries
from ircreds.errors import AwsError, IrcredsError

log = logging.getLogger(__name__)

#: Athena's price per TB scanned (USD, most regions), and the 10 MB minimum billed per query.
PRICE_PER_TB = 5.0
MIN_BILLED_BYTES = 10 * 1024 * 1024
#: Polling: first wait, growth factor, longest wait, give up after (seconds).
POLL_FIRST, POLL_FACTOR, POLL_MAX, POLL_TIMEOUT = 0.25, 1.6, 5.0, 1800.0

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")

_COLUMNS = """    eventversion STRING,
    useridentity STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<
             userid: STRING,
             identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<
                mfaauthenticated: STRING,
                creationdate: STRING>,
            sessionissuer: STRUCT<
                type: STRING,
                principalid: STRING,
                arn: STRING,
                accountid: STRING,
                username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<
                federatedprovider: STRING,
                attributes: MAP<STRING,STRING>>
        >
    >,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<
        arn: STRING,
        accountid: STRING,
        type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    vpcendpointaccountid STRING,
    eventcategory STRING,
    addendum STRUCT<
      reason: STRING,
      updatedfields: STRING,
      originalrequestid: STRING,
      originaleventid: STRING>,
    sessioncredentialfromconsole STRING,
    edgedevicedetails STRING,
    tlsdetails STRUCT<
      tlsversion: STRING,
      ciphersuite: STRING,
      clientprovidedhostheader: STRING>"""


def ddl(
    bucket: str,
    accounts: Sequence[str],
    regions: Sequence[str],
    *,
    start: str = "2020/01/01",
    table: str = "cloudtrail_logs_pp",
    prefix: str = "",
    organization: str | None = None,
) -> str:
    """The documented CloudTrail table, partitioned by account, region and day with partition projection.

    Args:
        bucket: the trail's S3 bucket.
        accounts: the account ids whose logs the table may read (``projection.account.values``).
        regions: the regions (``projection.region.values``).
        start: the first day (``yyyy/MM/dd``) of ``projection.timestamp.range`` (to ``NOW``).
        table: the table name.
        prefix: the trail's S3 key prefix, if any.
        organization: an organisation trail's id (``o-...``): its keys hold it after ``AWSLogs/``.

    Raises:
        IrcredsError: a name, bucket, account, region or date that is not valid.
    """
    queries.Window(start=_day(start), end=_day(start), accounts=tuple(accounts), regions=tuple(regions))
    if not _NAME.match(table):
        raise IrcredsError(f"not a table name: {table!r} (letters, digits and _ only)")
    if not _BUCKET.match(bucket):
        raise IrcredsError(f"not an S3 bucket name: {bucket!r}")
    if organization is not None and not _ORG.match(organization):
        raise IrcredsError(f"not an organisation id: {organization!r} (o-...)")
    if "'" in prefix:
        raise IrcredsError("the S3 prefix may not hold a quote")
    root = f"s3://{bucket}/" + (prefix.strip("/") + "/" if prefix.strip("/") else "") + "AWSLogs/"
    if organization:
        root += organization + "/"
    return f"""CREATE EXTERNAL TABLE IF NOT EXISTS {table} (
{_COLUMNS}
)
PARTITIONED BY (
    account STRING,
    region STRING,
    `timestamp` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{root}'
TBLPROPERTIES (
    'projection.enabled'='true',
    'projection.account.type'='enum',
    'projection.account.values'='{",".join(accounts)}',
    'projection.region.type'='enum',
    'projection.region.values'='{",".join(regions)}',
    'projection.timestamp.type'='date',
    'projection.timestamp.format'='yyyy/MM/dd',
    'projection.timestamp.interval'='1',
    'projection.timestamp.interval.unit'='DAYS',
    'projection.timestamp.range'='{start},NOW',
    'storage.location.template'='{root}${{account}}/CloudTrail/${{region}}/${{timestamp}}')
"""


def _day(text: str) -> Any:
    from datetime import datetime

    try:
        return datetime.strptime(text, "%Y/%m/%d").date()  # noqa: DTZ007 - a calendar day, no time
    except ValueError:
        raise IrcredsError(f"not a day in yyyy/MM/dd form: {text!r}") from None


@dataclass(slots=True)
class QueryStats:
    """What the queries of one trace cost: count, bytes scanned, engine time, the estimated price."""

    queries: int = 0
    bytes_scanned: int = 0
    engine_ms: int = 0
    ids: list[str] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        """Athena's price for those bytes (10 MB billed at least per query)."""
        billed = sum(max(b, MIN_BILLED_BYTES) for b in self._per_query) if self._per_query else 0
        return billed / 1e12 * PRICE_PER_TB

    _per_query: list[int] = field(default_factory=list)

    def add(self, query_id: str, stats: dict[str, Any]) -> None:
        """Count one finished query's statistics."""
        scanned = int(stats.get("DataScannedInBytes") or 0)
        self.queries += 1
        self.bytes_scanned += scanned
        self.engine_ms += int(stats.get("EngineExecutionTimeInMillis") or 0)
        self.ids.append(query_id)
        self._per_query.append(scanned)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "queries": self.queries,
            "bytes_scanned": self.bytes_scanned,
            "engine_ms": self.engine_ms,
            "cost_usd": round(self.cost_usd, 6),
            "query_execution_ids": list(self.ids),
        }


def _error(err: Exception, what: str) -> AwsError:
    code = getattr(err, "response", {}).get("Error", {}).get("Code") if hasattr(err, "response") else None
    message = (
        getattr(err, "response", {}).get("Error", {}).get("Message") if hasattr(err, "response") else str(err)
    )
    return AwsError(f"Athena {what} failed ({code or type(err).__name__}): {message}", code=code)


def run_query(
    client: Any,
    sql: str,
    *,
    database: str,
    workgroup: str | None = None,
    output: str | None = None,
    stats: QueryStats | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Run one query in Athena and return its rows as dicts (column -> text, None for NULL).

    Raises:
        AwsError: the query failed, was cancelled, timed out, or a call was refused (one sentence
            with Athena's reason).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": database}}
    if workgroup:
        request["WorkGroup"] = workgroup
    if output:
        request["ResultConfiguration"] = {"OutputLocation": output}
    try:
        query_id = client.start_query_execution(**request)["QueryExecutionId"]
    except (ClientError, BotoCoreError) as err:
        raise _error(err, "StartQueryExecution") from err
    wait = POLL_FIRST
    started = clock()
    while True:
        try:
            execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        except (ClientError, BotoCoreError) as err:
            raise _error(err, "GetQueryExecution") from err
        status = execution.get("Status", {})
        state = status.get("State")
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            reason = (
                status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage") or ""
            )
            raise AwsError(
                f"Athena query {query_id} {state.lower()}: {reason or 'no reason given'}", code=state
            )
        if clock() - started > POLL_TIMEOUT:
            raise AwsError(
                f"Athena query {query_id} still {state} after {POLL_TIMEOUT:.0f} s; see the Athena console"
            )
        sleep(wait)
        wait = min(wait * POLL_FACTOR, POLL_MAX)
    if stats is not None:
        stats.add(query_id, execution.get("Statistics") or {})
    rows: list[dict[str, Any]] = []
    header: list[str] | None = None
    try:
        for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            result = page.get("ResultSet", {})
            if header is None:
                info = result.get("ResultSetMetadata", {}).get("ColumnInfo") or []
                header = [c["Name"] for c in info] or None
            data = result.get("Rows", [])
            for row in data:
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if header is None:
                    header = [str(v) for v in values]
                    continue
                if values == header:  # the first page repeats the column names as a row
                    continue
                rows.append(dict(zip(header, values, strict=False)))
    except (ClientError, BotoCoreError) as err:
        raise _error(err, "GetQueryResults") from err
    log.info("Athena query %s: %d rows", query_id, len(rows))
    return rows


def client(*, profile: str | None = None, region: str | None = None, endpoint_url: str | None = None) -> Any:
    """A boto3 Athena client (botocore's standard retries for throttling)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(profile_name=profile, region_name=region)
    return session.client("athena", endpoint_url=endpoint_url, config=Config(retries={"mode": "standard"}))


@dataclass(frozen=True, slots=True, kw_only=True)
class AthenaRows:
    """Rows fetched from Athena as an events frame, the keys they cover, the SQL that found them, the cost."""

    events: pd.DataFrame
    keys: tuple[str, ...]
    queries: tuple[str, ...]
    stats: QueryStats


@dataclass(frozen=True, slots=True, kw_only=True)
class AthenaTrace(AthenaRows):
    """The lineage's rows from Athena, the SQL that found them, and what it cost."""


def trace_rows(
    client: Any,
    key: str,
    window: queries.Window,
    *,
    database: str,
    table: str,
    workgroup: str | None = None,
    output: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AthenaTrace:
    """The lineage of ``key`` from the Athena table, hop by hop, as an events frame.

    Pass ``events`` to :func:`ircreds.trace` for the trace itself.
    """
    run, stats = _runner(client, database, table, workgroup, output, sleep)
    expansion = queries.expand(key, window, run, "athena", f"{database}.{table}")
    return AthenaTrace(
        events=_frame(expansion, stats), keys=expansion.keys, queries=expansion.queries, stats=stats
    )


def _runner(
    client: Any,
    database: str,
    table: str,
    workgroup: str | None,
    output: str | None,
    sleep: Callable[[float], None],
) -> tuple[queries.Runner, QueryStats]:
    """One query at a time through :func:`run_query`, its costs counted (the names checked first)."""
    if not _NAME.match(table) or not _NAME.match(database):
        raise IrcredsError(f"not a database/table name: {database}.{table}")
    stats = QueryStats()

    def run(sql: str) -> list[dict[str, Any]]:
        return run_query(
            client, sql, database=database, workgroup=workgroup, output=output, stats=stats, sleep=sleep
        )

    return run, stats


def _frame(expansion: queries.Expansion, stats: QueryStats) -> pd.DataFrame:
    """The expansion's rows as an events frame, with what the queries cost in ``attrs["athena"]``."""
    import ircreds

    events = ircreds.load(expansion.records)
    events.attrs["athena"] = stats.to_dict()
    return events


@dataclass(frozen=True, slots=True, kw_only=True)
class AthenaScope(AthenaRows):
    """The rows a scope needs from Athena, the SQL that found them, and what it cost."""


def scope_rows(
    client: Any,
    window: queries.Window,
    *,
    database: str,
    table: str,
    keys: Sequence[str] = (),
    ips: Sequence[str] = (),
    user_agents: Sequence[str] = (),
    principals: Sequence[str] = (),
    workgroup: str | None = None,
    output: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AthenaScope:
    """The rows :func:`ircreds.scope` needs from the Athena table, round by round (:func:`queries.expand_scope`).

    Pass ``events`` and the same seeds to :func:`ircreds.scope` for the scope itself.
    """
    run, stats = _runner(client, database, table, workgroup, output, sleep)
    expansion = queries.expand_scope(
        window,
        run,
        "athena",
        f"{database}.{table}",
        keys=keys,
        ips=ips,
        user_agents=user_agents,
        principals=principals,
    )
    return AthenaScope(
        events=_frame(expansion, stats), keys=expansion.keys, queries=expansion.queries, stats=stats
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AthenaSessions:
    """The sessions table from Athena (with each key's source addresses), the SQL, and what it cost."""

    sessions: pd.DataFrame
    queries: tuple[str, ...]
    stats: QueryStats


def sessions(
    client: Any,
    window: queries.Window,
    *,
    database: str,
    table: str,
    workgroup: str | None = None,
    output: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AthenaSessions:
    """:func:`ircreds.sessions` of the window, from three grouped queries (:func:`queries.session_rows`).

    Only the issuing events, one first call per key and one row per key and address come back,
    so a month of an organisation's trail answers without its calls leaving Athena.
    """
    run, stats = _runner(client, database, table, workgroup, output, sleep)
    rows = queries.session_rows(window, run, "athena", f"{database}.{table}")
    return AthenaSessions(sessions=sessions_frame(rows), queries=rows.queries, stats=stats)


def sessions_frame(rows: queries.SessionRows) -> pd.DataFrame:
    """The sessions table (``ircreds.sessions``' columns, then ``source_ips``) from :class:`queries.SessionRows`.

    ``source_ips``: each key's addresses, first used first (as :func:`ircreds.scoping.credentials_overview`).
    """
    import ircreds
    from ircreds.lineage.index import with_call_stats

    frame = ircreds.sessions(ircreds.load(rows.records))
    stats: dict[str, list[Any]] = {}
    firsts: dict[str, list[tuple[str, str]]] = {}
    for row in rows.usage:
        key = row.get("access_key_id")
        if not isinstance(key, str) or not key:
            continue
        first, last, calls = str(row["first_used"]), str(row["last_used"]), int(row["calls"] or 0)
        seen = stats.setdefault(key, [first, last, 0])
        seen[0], seen[1], seen[2] = min(seen[0], first), max(seen[1], last), seen[2] + calls
        if isinstance(row.get("ip"), str) and row["ip"]:
            firsts.setdefault(key, []).append((first, row["ip"]))
    table = pd.DataFrame.from_dict(stats, orient="index", columns=["first_used", "last_used", "calls"])
    frame = with_call_stats(frame, table)
    frame["source_ips"] = pd.Series(
        [tuple(ip for _, ip in sorted(firsts.get(k, ()))) for k in frame["access_key_id"].astype(str)],
        index=frame.index,
        dtype=object,
    )
    return frame
