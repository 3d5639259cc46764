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


#: Values per ``IN`` list of addresses, user agents or ARNs (attacker-written text: kept short).
VALUES_PER_QUERY = 200
#: Longest user agent or ARN sent in a query (longer ones cannot be an exact match worth the text).
MAX_VALUE_CHARS = 1024


def _values(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if isinstance(v, str) and v and len(v) <= MAX_VALUE_CHARS})


def _rows_where(window: Window, condition: exp.Expression) -> exp.Select:
    """Every column of the rows in the window that meet ``condition``."""
    return exp.select(*_select()).from_("cloudtrail").where(exp.and_(window.predicate(), condition))


def _pivot_values(values: Iterable[str], what: str) -> list[str]:
    checked = _values(values)
    if not checked:
        raise IrcredsError(f"a pivot query needs at least one {what}")
    return checked


def calls_from(ips: Iterable[str], window: Window) -> exp.Select:
    """Every call made from one of ``ips`` (the scope's pivot on the attacker's addresses)."""
    return _rows_where(window, exp.column("sourceipaddress").isin(*_pivot_values(ips, "source address")))


def calls_with_agents(agents: Iterable[str], window: Window) -> exp.Select:
    """Every call made with one of the user ``agents`` (as written, or in S3's ``[...]`` form)."""
    agents = _pivot_values(agents, "user agent")
    return _rows_where(window, exp.column("useragent").isin(*agents, *(f"[{a}]" for a in agents)))


def calls_of_principals(arns: Iterable[str], window: Window) -> exp.Select:
    """Every call of the principals (an IAM user's ARN, or a role's: all its sessions): their baselines."""
    arns = _pivot_values(arns, "principal ARN")
    return _rows_where(
        window,
        exp.or_(
            _path("useridentity.arn").isin(*arns),
            _path("useridentity.sessioncontext.sessionissuer.arn").isin(*arns),
        ),
    )


def issuing_events(window: Window) -> exp.Select:
    """Every issuing call and console sign-in in the window (failed ones too: the sessions table skips them)."""
    return _rows_where(window, exp.column("eventname").isin(*ISSUING, "ConsoleLogin"))


#: The order that picks a key's first call: time, then the log file (Athena's ``"$path"``), then event id.
_FIRST = 'eventtime, "$path", eventid'


def first_calls(window: Window) -> exp.Select:
    """Each key's first call in the window that is not an issuing call (those come with :func:`issuing_events`).

    A credential whose issuing event is outside the window is described from its first call
    (``Observed`` sessions): one row per key, whatever the trail's size.
    """
    key = _path("useridentity.accesskeyid")
    rank = sqlglot.parse_one(
        f"row_number() OVER (PARTITION BY useridentity.accesskeyid ORDER BY {_FIRST})", read="trino"
    )
    inner = (
        exp.select(*_select(), exp.alias_(rank, "_first"))
        .from_("cloudtrail")
        .where(exp.and_(window.predicate(), exp.not_(key.is_(exp.null()))))
    )
    outer_cols = [exp.column(name, quoted=True) for name in ATHENA_COLUMNS]
    outer_cols += [exp.column(part, quoted=part == "timestamp") for part in PARTITIONS]
    return (
        exp.select(*outer_cols)
        .from_(inner.subquery("calls"))
        .where(
            exp.and_(
                exp.column("_first").eq(1),
                exp.not_(exp.column("eventName", quoted=True).isin(*ISSUING, "ConsoleLogin")),
            )
        )
    )


#: The only ``eventTime`` text CloudTrail writes.
_CLOUDTRAIL_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"


def key_usage(window: Window) -> exp.Select:
    """Per key and source address: first and last call and how many calls (one row per pair, not per call).

    Calls are counted once per event id, time, partition and request id (CloudTrail delivers some
    events twice). Only times in CloudTrail's fixed ``yyyy-MM-ddTHH:mm:ssZ`` form count (so text order is
    time order); a row with another (attacker-written) time is left out, as ``ircreds.load`` rejects it.
    """
    key = _path("useridentity.accesskeyid")
    ident = sqlglot.parse_one(
        "concat(coalesce(eventid, ''), '|', coalesce(eventtime, ''), '|', account, '|', region, '|', "
        "coalesce(requestid, ''))",
        read="trino",
    )
    return (
        exp.select(
            exp.alias_(key, "access_key_id"),
            exp.alias_(exp.column("sourceipaddress"), "ip"),
            exp.alias_(exp.Min(this=exp.column("eventtime")), "first_used"),
            exp.alias_(exp.Max(this=exp.column("eventtime")), "last_used"),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[ident])), "calls"),
        )
        .from_("cloudtrail")
        .where(
            exp.and_(
                window.predicate(),
                exp.not_(key.is_(exp.null())),
                exp.RegexpLike(this=exp.column("eventtime"), expression=exp.Literal.string(_CLOUDTRAIL_TIME)),
            )
        )
        .group_by(key, exp.column("sourceipaddress"))
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
    fetch = _Fetcher(run, dialect, table)
    known = _lineage(key, window, fetch)
    return fetch.expansion(known)


class _Fetcher:
    """Runs rendered queries and keeps every row once (by event id, time, partition, request id)."""

    def __init__(self, run: Runner, dialect: str, table: str) -> None:
        self.run, self.dialect, self.table = run, dialect, table
        self.rows: dict[str, dict[str, Any]] = {}
        self.queries: list[str] = []

    def __call__(self, query: exp.Select) -> list[dict[str, Any]]:
        sql = render(query, self.dialect, self.table)
        self.queries.append(sql)
        got = self.run(sql)
        for row in got:
            self.rows.setdefault(_row_id(row), row)
        return got

    def expansion(self, keys: Iterable[str]) -> Expansion:
        return Expansion(
            records=[to_record(r) for r in self.rows.values()],
            keys=tuple(sorted(keys)),
            queries=tuple(self.queries),
        )


def _lineage(key: str, window: Window, fetch: _Fetcher) -> set[str]:
    """Fetch the lineage of ``key`` (issuers up, issued credentials down); return its keys."""
    return _lineages([key], window, fetch)


def _lineages(keys: Iterable[str], window: Window, fetch: _Fetcher) -> set[str]:
    """Fetch the lineages of ``keys`` together (one query per hop, not per key); return their keys."""
    keys = sorted(set(keys))
    # up: the issuing events of the keys, then of their issuers' keys
    frontier, seen_up = list(keys), set(keys)
    for _ in range(MAX_HOPS):
        issuers: set[str] = set()
        for start in range(0, len(frontier), KEYS_PER_QUERY):
            rows = fetch(issuing_of(frontier[start : start + KEYS_PER_QUERY], window))
            issuers |= {str(r["userIdentity.accessKeyId"]) for r in rows}
        frontier = sorted(k for k in issuers if k and k != "None" and k not in seen_up)
        if not frontier:
            break
        seen_up.update(frontier)
    # down: calls of the keys found so far; the keys they issued are the next hop
    known = set(keys)
    frontier = list(keys)
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
    return known


def expand_scope(
    window: Window,
    run: Runner,
    dialect: str,
    table: str = "cloudtrail",
    *,
    keys: Iterable[str] = (),
    ips: Iterable[str] = (),
    user_agents: Iterable[str] = (),
    principals: Iterable[str] = (),
) -> Expansion:
    """The rows :func:`ircreds.scope` needs, fetched round by round as the scope grows.

    Each round fetches what the scope so far points at and has not been fetched: the lineage of every
    candidate credential (the seeds, and every key seen on an attacker address or seed user agent),
    every call from the attacker's addresses (the seeds' and those the scope found), every call with a
    seed user agent, and every call of the candidates' principals (the owners' baselines, which tell a
    shared address from the attacker's). Then :func:`ircreds.scope` runs on the rows fetched; the
    rounds stop when it points at nothing new. A role used all day by an application brings all its
    calls in the window: keep the window to the incident's days.
    """
    import ircreds  # the scope runs on what was fetched, to learn where to look next
    from ircreds.lineage import lineage_index, principal_of_keys

    fetch = _Fetcher(run, dialect, table)
    seeds = {"key": sorted(set(keys)), "ips": _values(ips), "user_agents": _values(user_agents)}
    seeds["principals"] = _values(principals)
    want_keys, want_ips, want_principals = set(seeds["key"]), set(seeds["ips"]), set(seeds["principals"])
    done_keys: set[str] = set()
    done_ips: set[str] = set()
    done_principals: set[str] = set()
    done_baseline: set[str] = set()
    pivoted: set[str] = set()  # keys seen on an attacker address or a seed user agent
    for agents in _chunks(seeds["user_agents"]):
        pivoted |= _keys_of(fetch(calls_with_agents(agents, window)))
    for _ in range(MAX_HOPS):
        for chunk in _chunks(want_ips - done_ips):
            pivoted |= _keys_of(fetch(calls_from(chunk, window)))
        done_ips |= want_ips
        candidates = {k for k in (want_keys | pivoted) if _KEY.match(k)} - done_keys
        if candidates:
            done_keys |= _lineages(candidates, window, fetch) | candidates
        want_principals |= _principals_of(fetch.rows.values(), done_keys)
        for chunk in _chunks(want_principals - done_principals):
            fetch(calls_of_principals(chunk, window))
        done_principals |= want_principals
        # the owners' other credentials (what they issued, and who issued them): their calls are the
        # baselines that tell an owner's shared address or client from the attacker's
        baseline = {
            k for k in _keys_of(fetch.rows.values()) | _issued_by(fetch.rows.values(), want_principals)
        }
        baseline = sorted(k for k in baseline - done_keys - done_baseline if _KEY.match(k))
        for start in range(0, len(baseline), KEYS_PER_QUERY):
            fetch(issuing_of(baseline[start : start + KEYS_PER_QUERY], window))
            fetch(calls_of(baseline[start : start + KEYS_PER_QUERY], window))
        done_baseline |= set(baseline)
        if not fetch.rows:
            break
        frame = ircreds.load([to_record(r) for r in fetch.rows.values()])
        found = ircreds.scope(frame, **seeds)
        owners = principal_of_keys(lineage_index(frame))
        want_principals |= {
            owner for k in done_keys if (owner := owners.get(k)) and owner.startswith("arn:") and owner != k
        }
        want_ips |= set(found.attacker_ips)
        want_keys |= {c.access_key_id for c in found.compromised}
        if want_ips <= done_ips and want_keys <= done_keys and want_principals <= done_principals:
            break
    return fetch.expansion(done_keys)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRows:
    """What the sessions table needs: issuing events and first calls (records), and each key's use."""

    records: list[dict[str, Any]]
    usage: list[dict[str, Any]]
    queries: tuple[str, ...]


def session_rows(window: Window, run: Runner, dialect: str, table: str = "cloudtrail") -> SessionRows:
    """Three queries, one row per issuing event, per key and per (key, address): never the calls themselves."""
    fetch = _Fetcher(run, dialect, table)
    fetch(issuing_events(window))
    fetch(first_calls(window))
    sql = render(key_usage(window), dialect, table)
    usage = run(sql)
    return SessionRows(
        records=[to_record(r) for r in fetch.rows.values()], usage=usage, queries=(*fetch.queries, sql)
    )


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = _values(values)
    for start in range(0, len(ordered), VALUES_PER_QUERY):
        yield ordered[start : start + VALUES_PER_QUERY]


def _keys_of(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {str(r.get("userIdentity.accessKeyId") or "") for r in rows} - {"", "None"}


def _issued_by(rows: Iterable[dict[str, Any]], principals: set[str]) -> set[str]:
    """The keys the principals' own successful issuing calls issued."""
    out: set[str] = set()
    for row in rows:
        mine = row.get("userIdentity.arn") in principals and row.get("eventName") in ISSUING
        if mine and not row.get("errorCode") and (key := _issued_key(row)):
            out.add(key)
    return out


def _principals_of(rows: Iterable[dict[str, Any]], keys: set[str]) -> set[str]:
    """The principals (a role's ARN for its sessions, a user's ARN) that signed with ``keys``."""
    out: set[str] = set()
    for row in rows:
        if str(row.get("userIdentity.accessKeyId") or "") not in keys:
            continue
        arn = row.get("userIdentity.sessionContext.sessionIssuer.arn") or row.get("userIdentity.arn")
        if isinstance(arn, str) and arn:
            out.add(arn)
    return out


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
    Athena's ``"$path"`` (the file) and the partition columns ``account``, ``region`` and
    ``timestamp`` taken from each file's key
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
        'filename AS "$path"',
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
