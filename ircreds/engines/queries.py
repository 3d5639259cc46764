"""The lineage queries, written once and rendered for DuckDB and for Athena (Trino).

Each query is a sqlglot expression over the CloudTrail table AWS documents for Athena
(:data:`ATHENA_COLUMNS`: lower-case names, ``useridentity`` a struct, JSON fields as text,
partition columns ``account``, ``region`` and ``timestamp`` = ``yyyy/MM/dd``). The same
expression renders as Athena SQL (``dialect="athena"``) and as DuckDB SQL (``dialect="duckdb"``),
so the local tests run the very query Athena runs, over a DuckDB copy laid out as that table
(:func:`local_table_sql`). Every query carries its partition predicates (:class:`Window`): a trace
never scans a whole bucket by accident.

A trace is expanded hop by hop (:func:`expand`): the calls of the keys found so far (which include
the issuing calls they made), the events that issued them (up to the issuer's key), then the keys
those calls issued, until no new key appears.

Example:
    >>> from datetime import date
    >>> w = Window(start=date(2025, 1, 19), end=date(2025, 1, 21), accounts=("111122223333",),
    ...            regions=("us-east-1",))
    >>> sql = calls_of(["ASIAIOSFODNN7EXAMPLE"], w).sql(dialect="athena")
    >>> "useridentity.accesskeyid IN ('ASIAIOSFODNN7EXAMPLE')" in sql, "\\"timestamp\\" BETWEEN" in sql
    (True, True)
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlglot
from sqlglot import exp

from ircreds.errors import IrcredsError

#: Issuing calls (``ircreds.lineage.ISSUING_EVENTS``) and console sign-ins.
ISSUING = (
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "GetSessionToken",
    "GetFederationToken",
    "CreateAccessKey",
)
#: Hops followed at most (role juggling makes long chains).
MAX_HOPS = 32
#: Keys per ``IN`` list (Athena queries are limited to 256 KB of text).
KEYS_PER_QUERY = 500

#: events-frame column -> the Athena table's expression (the documented CloudTrail table).
ATHENA_COLUMNS: dict[str, str] = {
    "eventVersion": "eventversion",
    "eventTime": "eventtime",
    "eventSource": "eventsource",
    "eventName": "eventname",
    "awsRegion": "awsregion",
    "sourceIPAddress": "sourceipaddress",
    "userAgent": "useragent",
    "errorCode": "errorcode",
    "errorMessage": "errormessage",
    "requestParameters": "requestparameters",
    "responseElements": "responseelements",
    "additionalEventData": "additionaleventdata",
    "requestID": "requestid",
    "eventID": "eventid",
    "readOnly": "readonly",
    "eventType": "eventtype",
    "recipientAccountId": "recipientaccountid",
    "serviceEventDetails": "serviceeventdetails",
    "sharedEventID": "sharedeventid",
    "vpcEndpointId": "vpcendpointid",
    "eventCategory": "eventcategory",
    "sessionCredentialFromConsole": "sessioncredentialfromconsole",
    "userIdentity.type": "useridentity.type",
    "userIdentity.principalId": "useridentity.principalid",
    "userIdentity.arn": "useridentity.arn",
    "userIdentity.accountId": "useridentity.accountid",
    "userIdentity.invokedBy": "useridentity.invokedby",
    "userIdentity.accessKeyId": "useridentity.accesskeyid",
    "userIdentity.userName": "useridentity.username",
    "userIdentity.sessionContext.attributes.mfaAuthenticated": (
        "useridentity.sessioncontext.attributes.mfaauthenticated"
    ),
    "userIdentity.sessionContext.attributes.creationDate": "useridentity.sessioncontext.attributes.creationdate",
    "userIdentity.sessionContext.sessionIssuer.type": "useridentity.sessioncontext.sessionissuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId": (
        "useridentity.sessioncontext.sessionissuer.principalid"
    ),
    "userIdentity.sessionContext.sessionIssuer.arn": "useridentity.sessioncontext.sessionissuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId": "useridentity.sessioncontext.sessionissuer.accountid",
    "userIdentity.sessionContext.sessionIssuer.userName": "useridentity.sessioncontext.sessionissuer.username",
    "userIdentity.sessionContext.ec2RoleDelivery": "useridentity.sessioncontext.ec2roledelivery",
    "userIdentity.sessionContext.webIdFederationData.federatedProvider": (
        "useridentity.sessioncontext.webidfederationdata.federatedprovider"
    ),
}
#: The partition columns every query filters on.
PARTITIONS = ("account", "region", "timestamp")

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_KEY = re.compile(r"^[A-Z0-9]{16,128}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The partitions a query may read: days (UTC, inclusive), accounts, regions. All required."""

    start: date
    end: date
    accounts: tuple[str, ...]
    regions: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise IrcredsError(
                f"the window ends ({self.end}) before it starts ({self.start}); swap --start and --end"
            )
        if not self.accounts or not self.regions:
            raise IrcredsError(
                "a query needs its partitions: give the accounts and the regions to read (--accounts, --regions), "
                "so it never scans the whole bucket"
            )
        bad = [a for a in self.accounts if not _ACCOUNT.match(a)] + [
            r for r in self.regions if not _REGION.match(r)
        ]
        if bad:
            raise IrcredsError(f"not an account id or region: {', '.join(bad)}")

    def predicate(self) -> exp.Expression:
        """``account IN (...) AND region IN (...) AND "timestamp" BETWEEN 'yyyy/MM/dd' AND ...``."""
        return exp.and_(
            exp.column("account").isin(*self.accounts),
            exp.column("region").isin(*self.regions),
            exp.column("timestamp", quoted=True).between(
                exp.Literal.string(self.start.strftime("%Y/%m/%d")),
                exp.Literal.string(self.end.strftime("%Y/%m/%d")),
            ),
        )


def _path(expr: str) -> exp.Expression:
    """``useridentity.sessioncontext.x`` as a struct field access (a plain column when no dot)."""
    parts = expr.split(".")
    node: exp.Expression = exp.column(parts[0])
    for part in parts[1:]:
        node = exp.Dot(this=node, expression=exp.to_identifier(part))
    return node


def _select() -> list[exp.Expression]:
    # ``resources`` (an array of structs in the Athena table) is not selected: its JSON form differs
    # between engines, and a trace does not read it
    cols = [exp.alias_(_path(src), name, quoted=True) for name, src in ATHENA_COLUMNS.items()]
    for part in PARTITIONS:
        cols.append(exp.column(part, quoted=part == "timestamp"))
    return cols


def _json_scalar(column: str, path: str) -> exp.Expression:
    return exp.JSONExtractScalar(this=exp.column(column), expression=exp.Literal.string(path))


def _checked_keys(keys: Iterable[str]) -> list[str]:
    keys = sorted(set(keys))
    bad = [k for k in keys if not _KEY.match(k)]
    if bad:
        raise IrcredsError(f"not an access key id: {bad[0]!r}")
    if not keys:
        raise IrcredsError("a lineage query needs at least one access key id")
    return keys


def calls_of(keys: Iterable[str], window: Window) -> exp.Select:
    """Every call signed by one of ``keys`` (its issuing calls included) within the window."""
    keys = _checked_keys(keys)
    return (
        exp.select(*_select())
        .from_("cloudtrail")
        .where(exp.and_(window.predicate(), _path("useridentity.accesskeyid").isin(*keys)))
    )


def issuing_of(keys: Iterable[str], window: Window) -> exp.Select:
    """The successful calls that issued one of ``keys`` (STS credentials, or an IAM access key)."""
    keys = _checked_keys(keys)
    issued = exp.or_(
        _json_scalar("responseelements", "$.credentials.accessKeyId").isin(*keys),
        _json_scalar("responseelements", "$.accessKey.accessKeyId").isin(*keys),
    )
    return (
        exp.select(*_select())
        .from_("cloudtrail")
        .where(
            exp.and_(
                window.predicate(),
                exp.column("eventname").isin(*ISSUING),
                exp.column("errorcode").is_(exp.null()),
                issued,
            )
        )
    )


def render(query: exp.Expression, dialect: str, table: str = "cloudtrail") -> str:
    """The query's SQL for ``dialect`` (``athena`` or ``duckdb``) over ``table`` (``db.table`` allowed)."""
    query = query.copy()
    for node in query.find_all(exp.Table):
        if node.name == "cloudtrail":
            node.replace(exp.to_table(table))
    return query.sql(dialect=dialect)


Runner = Callable[[str], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Expansion:
    """The rows of a lineage, found hop by hop, and the SQL that found them."""

    records: list[dict[str, Any]]
    keys: tuple[str, ...]
    queries: tuple[str, ...]


def expand(key: str, window: Window, run: Runner, dialect: str, table: str = "cloudtrail") -> Expansion:
    """Expand the lineage of ``key``: up through the issuers, down through everything it issued.

    ``run(sql)`` executes one query and returns its rows as dicts (DuckDB locally, Athena remotely).
    """
    rows: dict[str, dict[str, Any]] = {}
    queries: list[str] = []

    def fetch(query: exp.Select) -> list[dict[str, Any]]:
        sql = render(query, dialect, table)
        queries.append(sql)
        got = run(sql)
        for row in got:
            rows.setdefault(_row_id(row), row)
        return got

    # up: the issuing event of each key, then of its issuer's key
    up = key
    seen_up = {key}
    for _ in range(MAX_HOPS):
        issuers = {str(r["userIdentity.accessKeyId"]) for r in fetch(issuing_of([up], window))}
        issuers = {k for k in issuers if k and k != "None" and k not in seen_up}
        if not issuers:
            break
        up = sorted(issuers)[0]
        seen_up.add(up)
    # down: calls of the keys found so far; the keys they issued are the next hop
    known = {key}
    frontier = [key]
    for _ in range(MAX_HOPS):
        issued: set[str] = set()
        for start in range(0, len(frontier), KEYS_PER_QUERY):
            for row in fetch(calls_of(frontier[start : start + KEYS_PER_QUERY], window)):
                if row.get("eventName") in ISSUING and not row.get("errorCode"):
                    new = _issued_key(row)
                    if new:
                        issued.add(new)
        frontier = sorted(issued - known)
        if not frontier:
            break
        known.update(frontier)
    return Expansion(
        records=[to_record(r) for r in rows.values()], keys=tuple(sorted(known)), queries=tuple(queries)
    )


def _row_id(row: dict[str, Any]) -> str:
    return json.dumps(
        [row.get(c) for c in ("eventID", "eventTime", "account", "region", "requestID")], default=str
    )


def _issued_key(row: dict[str, Any]) -> str | None:
    text = row.get("responseElements")
    if not text:
        return None
    try:
        doc = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    for holder in ("credentials", "accessKey"):
        part = doc.get(holder)
        if isinstance(part, dict) and isinstance(part.get("accessKeyId"), str):
            return str(part["accessKeyId"])
    return None


_JSON_FIELDS = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")


def to_record(row: dict[str, Any]) -> dict[str, Any]:
    """A flat result row (events-frame names) -> a CloudTrail record, for ``ircreds.load``."""
    record: dict[str, Any] = {}
    for name, value in row.items():
        if name in PARTITIONS or value is None or value == "":
            continue
        if name in _JSON_FIELDS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if name in ("readOnly", "sessionCredentialFromConsole", "managementEvent") and isinstance(value, str):
            value = {"true": True, "false": False}.get(value.lower(), value)
        node = record
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return record


_UI_FIELDS = (
    ("type", "type"), ("principalid", "principalId"), ("arn", "arn"), ("accountid", "accountId"),
    ("invokedby", "invokedBy"), ("accesskeyid", "accessKeyId"), ("username", "userName"),
)  # fmt: skip
_SI_FIELDS = (("type", "type"), ("principalid", "principalId"), ("arn", "arn"), ("accountid", "accountId"),
              ("username", "userName"))  # fmt: skip
_STRINGS = {
    "eventversion": "eventVersion", "eventtime": "eventTime", "eventsource": "eventSource",
    "eventname": "eventName", "awsregion": "awsRegion", "sourceipaddress": "sourceIPAddress",
    "useragent": "userAgent", "errorcode": "errorCode", "errormessage": "errorMessage",
    "requestid": "requestID", "eventid": "eventID", "readonly": "readOnly", "eventtype": "eventType",
    "recipientaccountid": "recipientAccountId", "sharedeventid": "sharedEventID",
    "vpcendpointid": "vpcEndpointId", "eventcategory": "eventCategory",
    "sessioncredentialfromconsole": "sessionCredentialFromConsole",
}  # fmt: skip
_TEXTS = {
    "requestparameters": "requestParameters", "responseelements": "responseElements",
    "additionaleventdata": "additionalEventData", "serviceeventdetails": "serviceEventDetails",
}  # fmt: skip


def _structure() -> str:
    ui = {v: "VARCHAR" for _, v in _UI_FIELDS}
    ui["sessionContext"] = {
        "attributes": {"mfaAuthenticated": "VARCHAR", "creationDate": "VARCHAR"},
        "sessionIssuer": {v: "VARCHAR" for _, v in _SI_FIELDS},
        "ec2RoleDelivery": "VARCHAR",
        "webIdFederationData": {"federatedProvider": "VARCHAR"},
    }
    rec: dict[str, Any] = {v: "VARCHAR" for v in _STRINGS.values()}
    rec.update({v: "JSON" for v in _TEXTS.values()})
    rec["userIdentity"] = ui
    return json.dumps({"Records": [rec]}).replace("'", "''")


def local_table_sql(files_glob: str, name: str = "cloudtrail") -> str:
    """DuckDB SQL creating ``name``: local S3-layout CloudTrail files laid out as the Athena table.

    The documented table's columns (lower-case, ``useridentity`` a struct, JSON fields as text) plus
    the partition columns ``account``, ``region`` and ``timestamp`` taken from each file's key
    (``AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/yyyy/MM/dd/``), so the rendered DuckDB queries run
    unchanged against it. Values that are not strings where the table has strings are cast, as
    Athena's JSON SerDe reads them.
    """
    ui = "r.userIdentity"
    sc = f"{ui}.sessionContext"
    identity = (
        "struct_pack("
        + ", ".join(f"{k} := {ui}.{v}" for k, v in _UI_FIELDS)
        + ", sessioncontext := struct_pack("
        + f"attributes := struct_pack(mfaauthenticated := {sc}.attributes.mfaAuthenticated, "
        + f"creationdate := {sc}.attributes.creationDate), "
        + "sessionissuer := struct_pack("
        + ", ".join(f"{k} := {sc}.sessionIssuer.{v}" for k, v in _SI_FIELDS)
        + f"), ec2roledelivery := {sc}.ec2RoleDelivery, "
        + f"webidfederationdata := struct_pack(federatedprovider := {sc}.webIdFederationData.federatedProvider)"
        + "))"
    )
    cols = [f"r.{v} AS {k}" for k, v in _STRINGS.items()]
    cols += [
        f"CASE WHEN json_type(r.{v}) = 'NULL' THEN NULL ELSE r.{v}::VARCHAR END AS {k}"
        for k, v in _TEXTS.items()
    ]
    cols.append(f"{identity} AS useridentity")
    cols += [
        "regexp_extract(filename, 'AWSLogs/(?:o-[a-z0-9]+/)?([0-9]{12})/CloudTrail/', 1) AS account",
        "regexp_extract(filename, '/CloudTrail/([a-z0-9-]+)/', 1) AS region",
        "regexp_extract(filename, '/CloudTrail/[a-z0-9-]+/([0-9]{4}/[0-9]{2}/[0-9]{2})/', 1) AS "
        + '"timestamp"',
    ]
    glob = files_glob.replace("'", "''")
    return (
        f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(cols)} FROM ("
        f"SELECT filename, unnest(from_json(json, '{_structure()}').Records) AS r "
        f"FROM read_json_objects('{glob}', filename = true, format = 'auto', maximum_object_size = 67108864) "
        "WHERE json_type(json, '$.Records') = 'ARRAY')"
    )


def parse(sql: str, dialect: str) -> exp.Expression:
    """Parse SQL back (tests check the rendered SQL is valid for its dialect)."""
    return sqlglot.parse_one(sql, read=dialect)


def keys_in(records: Sequence[dict[str, Any]]) -> set[str]:
    """The signing keys of some records."""
    return {
        str(r["userIdentity"]["accessKeyId"]) for r in records if r.get("userIdentity", {}).get("accessKeyId")
    }
