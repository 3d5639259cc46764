"""Run a set of Sigma rules over the events in one DuckDB pass, and collect the hits per rule.

Every rule is converted once (:mod:`.backend`); their conditions go into one query: the scan keeps
the rows that any rule matches, then says which rules matched each kept row. DuckDB reads the
frame's Arrow buffers in place (only the columns the rules name), or a case store's ``events``
view. A rule whose SQL DuckDB refuses is listed with DuckDB's reason and the others still run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from ircreds.hunting.rules import RuleInfo, UnsupportedRule, load_rules
from ircreds.hunting.sql import LEVEL_RANK, in_list, level_rank, q
from ircreds.model import iso_z

if TYPE_CHECKING:
    from ircreds.hunting.backend import FieldResolver
from ircreds.schema import BOOLEAN_COLUMNS, JSON_COLUMNS, TIME_COLUMNS

log = logging.getLogger(__name__)

#: Columns every hit reports, beside those the rules read.
REPORTED = ("eventID", "eventTime", "userIdentity.accessKeyId")
#: The relation the rules run over, in the SQL this module writes.
SOURCE = "__ircreds_hunt_events"


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleHit:
    """One rule that matched, with the events it matched and its attribution."""

    rule_id: str
    title: str
    level: str
    tags: tuple[str, ...]
    event_ids: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    access_key_ids: tuple[str, ...]
    author: str | None
    source: str
    path: str | None = None
    count: int = 0
    description: str | None = None

    @property
    def attack(self) -> tuple[str, ...]:
        """The rule's MITRE ATT&CK tags (``attack.t1078``, ``attack.persistence``…)."""
        return tuple(t for t in self.tags if t.startswith("attack."))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``ircreds hunt --json``): the contract's fields, then attribution."""
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level,
            "tags": list(self.tags),
            "event_ids": list(self.event_ids),
            "first_seen": iso_z(self.first_seen),
            "last_seen": iso_z(self.last_seen),
            "access_key_ids": list(self.access_key_ids),
            "author": self.author,
            "source": self.source,
            "path": self.path,
            "count": self.count,
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Hunt:
    """The result of :func:`hunt`: rules read, rules that could not run (and why), hits per rule.

    ``matches`` has one row per (event, rule): ``rule_id``, ``row`` (the event's position in the
    frame hunted; in a case store, its ``_row``), ``eventID``, ``eventTime``, ``userIdentity.accessKeyId``.
    """

    rules_loaded: int
    rules_unsupported: tuple[UnsupportedRule, ...]
    hits: tuple[RuleHit, ...]
    matches: pd.DataFrame
    level: str = "medium"
    rules: tuple[RuleInfo, ...] = ()
    seconds: float = field(default=0.0, compare=False)

    @property
    def rules_run(self) -> int:
        """How many rules ran over the events."""
        return len(self.rules)

    @property
    def alerts(self) -> tuple[RuleHit, ...]:
        """The hits of rules at or above ``level`` (what makes ``ircreds hunt`` exit 1)."""
        floor = level_rank(self.level)
        return tuple(h for h in self.hits if level_rank(h.level) >= floor)

    def by_event(self) -> dict[str, tuple[RuleHit, ...]]:
        """Event id -> the rule hits on that event, most severe first."""
        hits = {h.rule_id: h for h in self.hits}
        out: dict[str, list[RuleHit]] = {}
        for event_id, rule_id in zip(self.matches["eventID"], self.matches["rule_id"], strict=True):
            if isinstance(event_id, str):
                out.setdefault(event_id, []).append(hits[rule_id])
        return {k: tuple(sorted(v, key=lambda h: -level_rank(h.level))) for k, v in out.items()}

    def on_events(self, event_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The rule hits on these events, one entry per (event, rule), for a trace or a scope.

        Each entry: ``event_id``, ``rule_id``, ``title``, ``level``, ``tags`` (ATT&CK), ``author``,
        ``source`` (the rule's link, for attribution). In time order; on one event, most severe first.
        """
        wanted = set(event_ids)
        m = self.matches
        chosen = m.loc[m["eventID"].isin(wanted)] if len(m) else m
        rules = {h.rule_id: h for h in self.hits}
        rows = sorted(
            zip(chosen["eventTime"], chosen["eventID"], chosen["rule_id"].astype(str), strict=True),
            key=lambda r: (r[0], r[1], -level_rank(rules[r[2]].level)),
        )
        return [
            {
                "event_id": event_id,
                "rule_id": rule_id,
                "title": rules[rule_id].title,
                "level": rules[rule_id].level,
                "tags": list(rules[rule_id].attack),
                "author": rules[rule_id].author,
                "source": rules[rule_id].source,
            }
            for _, event_id, rule_id in rows
        ]

    def on_trace(self, trace: Any) -> list[dict[str, Any]]:
        """The rule hits on a trace's calls (every credential of the lineage), as :meth:`on_events`."""
        calls = trace.all_calls()
        ids = calls["eventID"].dropna().astype(str) if "eventID" in calls.columns else []
        return self.on_events(ids)

    def seed_keys(self, level: str = "high") -> tuple[str, ...]:
        """Access key ids that signed an event a rule at or above ``level`` matched (scope seeds)."""
        floor = level_rank(level)
        keys: dict[str, None] = {}
        for h in self.hits:
            if level_rank(h.level) >= floor:
                keys.update(dict.fromkeys(h.access_key_ids))
        return tuple(keys)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``ircreds hunt --json`` (add, never rename)."""
        return {
            "rules_loaded": self.rules_loaded,
            "rules_unsupported": [u.to_dict() for u in self.rules_unsupported],
            "hits": [h.to_dict() for h in self.hits],
            "rules_run": self.rules_run,
            "level": self.level,
            "alerts": len(self.alerts),
        }


def hunt(
    events: Any,
    rules: Any,
    *,
    level: str = "medium",
    source_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Hunt:
    """Run Sigma rules over the evidence: every rule converted once, all of them in one pass.

    Args:
        events: the events frame of ``ircreds.load``, or a case store (anything with
            ``.sql(query) -> pyarrow.Table`` whose ``events`` view has the frame's columns, such as
            ``ircreds.open_case``).
        rules: a rule file, a folder of rules (recursive), a list of them, or a pySigma
            ``SigmaCollection``.
        level: the alert threshold (``informational``, ``low``, ``medium``, ``high``, ``critical``):
            every rule runs and every hit is listed; :attr:`Hunt.alerts` keeps those at or above it.
        source_url: base URL of the rules' upstream, for the attribution link of each hit (default:
            found from the rules' git checkout or MANIFEST, else the file's path).
        progress: called with a short message at each stage.

    Raises:
        RuleError: no rules at the path, or pySigma is not installed.
        ValueError: an unknown level.

    Example:
        >>> import ircreds
        >>> from ircreds.scenarios import walkthrough
        >>> from sigma.collection import SigmaCollection
        >>> rule = SigmaCollection.from_yaml('''
        ... title: Logging stopped
        ... id: 0f0e0d0c-0b0a-0908-0706-050403020100
        ... logsource: {product: aws, service: cloudtrail}
        ... detection: {selection: {eventName: GetCallerIdentity}, condition: selection}
        ... level: low''')
        >>> h = hunt(ircreds.load(walkthrough().records), rule)
        >>> h.rules_loaded, h.hits[0].title, h.hits[0].count > 0
        (1, 'Logging stopped', True)
    """
    import time

    started = time.perf_counter()
    if level.lower() not in LEVEL_RANK:
        raise ValueError(f"unknown Sigma level {level!r}: use one of {', '.join(LEVEL_RANK)}")
    say = progress or (lambda _m: None)
    loaded, unsupported = load_rules(rules, source_url=source_url)
    total = len(loaded) + len(unsupported)
    say(f"{total} rules read")
    from ircreds.hunting.backend import (
        CloudTrailBackend,
        FieldResolver,
    )  # pySigma: after load_rules checked it

    runner = _Runner.of(events)
    resolver = FieldResolver(runner.columns)
    backend = CloudTrailBackend(resolver, matching=runner.matching, collect_errors=True)
    converted: list[tuple[RuleInfo, str]] = []
    for rule, info in loaded:
        backend.errors = []
        try:
            queries = backend.convert_rule(rule)
        except duckdb.Error as err:  # DuckDB refused a condition while deciding it on distinct values
            unsupported.append(_unsupported(info, f"cannot run in DuckDB: {_one_line(err)}"))
            continue
        if backend.errors:
            reason = "; ".join(_one_line(e) for _, e in backend.errors)
            unsupported.append(_unsupported(info, f"cannot be converted: {reason}"))
        elif not queries:
            unsupported.append(_unsupported(info, "cannot be converted: no query"))
        else:
            converted.append((info, " OR ".join(f"({c})" for c in queries)))
    converted = runner.resolve(converted, unsupported)
    converted = _runnable(runner, resolver, converted, unsupported)
    say(f"{len(converted)} rules converted; running them in one pass")
    parts = runner.run(resolver, converted, unsupported)
    infos = tuple(info for info, _ in converted)
    matches = _matches(parts)
    hits = _hits(parts)
    result = Hunt(
        rules_loaded=total,
        rules_unsupported=tuple(unsupported),
        hits=hits,
        matches=matches,
        level=level.lower(),
        rules=infos,
        seconds=time.perf_counter() - started,
    )
    log.info("hunt: %d rules, %d ran, %d hits", total, len(infos), len(hits))
    return result


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return re.sub(r" \(while converting rule [^)]*\)$", "", text)


def _unsupported(info: RuleInfo, reason: str) -> UnsupportedRule:
    return UnsupportedRule(
        path=info.path or info.source, reason=reason, rule_id=info.rule_id, title=info.title
    )


def _runnable(
    runner: _Runner,
    resolver: FieldResolver,
    converted: list[tuple[RuleInfo, str]],
    unsupported: list[UnsupportedRule],
) -> list[tuple[RuleInfo, str]]:
    """The rules whose SQL DuckDB binds (a bad regex, a type it refuses: listed with its reason)."""
    try:  # all at once first: one round trip when every rule binds
        runner.check(resolver, [cond for _, cond in converted])
        return converted
    except Exception:
        log.debug("a rule does not bind; checking them one by one")
    ok = []
    for info, cond in converted:
        try:
            runner.check(resolver, [cond])
        except Exception as err:  # duckdb.Error and friends: the reason goes to the user
            unsupported.append(_unsupported(info, f"cannot run in DuckDB: {_one_line(err)}"))
        else:
            ok.append((info, cond))
    return ok


#: Columns with more distinct values than this are matched row by row, not through their values.
MAX_DISTINCT = 50_000
#: Columns unique per row (ids, and the JSON text): matched row by row, never through distinct values.
ROW_UNIQUE = ("eventID", "requestID", "sharedEventID", "evidence.file", "evidence.line", "issued.accessKeyId")
_TOKEN = re.compile(r"__ircreds_leaf_\d+__")
#: Rules per bit mask column (a BIGINT holds 63 flags).
MASK_BITS = 62


class _Runner:
    """Where the SQL runs: a private DuckDB over a frame's Arrow buffers, or a case's connection.

    Conditions on one column are decided once per distinct value of that column, in a private
    DuckDB, and become ``IN`` lists (categoricals stay dictionary-encoded, so the pass compares
    codes); everything else is evaluated row by row in the one pass.
    """

    def __init__(
        self, columns: list[str], execute: Callable[[str], Any], source_sql: Callable[[set[str]], str]
    ):
        import duckdb

        self.columns = columns
        self._execute = execute
        self._source_sql = source_sql
        self._scratch = duckdb.connect()
        self._distinct_tables: dict[str, str | None] = {}
        self._leaves: dict[tuple[str, str], tuple[str, str]] = {}

    @classmethod
    def of(cls, events: Any) -> _Runner:
        if isinstance(events, pd.DataFrame):
            return _FrameRunner(events)
        if hasattr(events, "sql"):
            names = list(events.sql("SELECT * FROM events LIMIT 0").schema.names)
            row = "_row" if "_row" in names else "NULL::BIGINT"

            def source(_used: set[str]) -> str:
                return f"(SELECT *, {row} AS __row FROM events)"

            return cls(names, events.sql, source)
        raise TypeError(
            f"hunt needs an events frame (ircreds.load) or a case store, got {type(events).__name__}"
        )

    # -- deciding a condition on the distinct values of its column -----------------------------
    def _pushable(self, field: str) -> bool:
        return (
            field in self.columns
            and field not in TIME_COLUMNS
            and field not in BOOLEAN_COLUMNS
            and field not in JSON_COLUMNS
            and field not in ROW_UNIQUE
        )

    def matching(self, field: str, condition: str, direct: str) -> str | None:
        """A placeholder for ``condition`` on ``field``, resolved later by :meth:`resolve`."""
        if not self._pushable(field):
            return None
        key = (field, condition)
        if key not in self._leaves:
            self._leaves[key] = (f"__ircreds_leaf_{len(self._leaves)}__", direct)
        return self._leaves[key][0]

    def _distinct(self, field: str) -> str | None:
        """A scratch table of the column's distinct values (None when there are too many)."""
        if field not in self._distinct_tables:
            table = self._execute(
                f"SELECT DISTINCT CAST({q(field)} AS VARCHAR) AS __v FROM {self._source_sql({field})} "
                f"WHERE {q(field)} IS NOT NULL LIMIT {MAX_DISTINCT + 1}"
            )
            name = None
            if table.num_rows <= MAX_DISTINCT:
                name = f"__d{len(self._distinct_tables)}"
                self._scratch.register(name, table)
            self._distinct_tables[field] = name
        return self._distinct_tables[field]

    def resolve(
        self, converted: list[tuple[RuleInfo, str]], unsupported: list[UnsupportedRule]
    ) -> list[tuple[RuleInfo, str]]:
        """Put each placeholder's ``IN`` list (one query per column) or its row-by-row SQL in place."""
        sql: dict[str, str] = {}
        failed: dict[str, str] = {}
        by_field: dict[str, list[tuple[str, str, str]]] = {}
        for (column, condition), (token, direct) in self._leaves.items():
            by_field.setdefault(column, []).append((token, condition, direct))
        for column, leaves in by_field.items():
            table = self._distinct(column)
            if table is None:
                sql.update({token: direct for token, _, direct in leaves})
                continue
            try:
                lists = self._scratch.execute(
                    "SELECT "
                    + ", ".join(f"list(__v ORDER BY __v) FILTER (WHERE {cond})" for _, cond, _ in leaves)
                    + f" FROM {table}"
                ).fetchall()[0]
            except duckdb.Error:  # one leaf DuckDB refuses: decide them one at a time
                lists = []
                for token, cond, _ in leaves:
                    try:
                        lists.append(
                            self._scratch.execute(
                                f"SELECT list(__v) FILTER (WHERE {cond}) FROM {table}"
                            ).fetchall()[0][0]
                        )
                    except duckdb.Error as err:
                        failed[token] = _one_line(err)
                        lists.append(None)
            for (token, _, _), values in zip(leaves, lists or [], strict=False):
                if token not in failed:
                    sql[token] = in_list(q(column), list(values or []))
        ok = []
        for info, cond in converted:
            bad = [failed[t] for t in _TOKEN.findall(cond) if t in failed]
            if bad:
                unsupported.append(_unsupported(info, f"cannot run in DuckDB: {bad[0]}"))
                continue
            ok.append((info, _TOKEN.sub(lambda m: sql[m.group(0)], cond)))
        return ok

    # -- the pass ----------------------------------------------------------------------------
    def check(self, resolver: FieldResolver, conds: list[str]) -> None:
        cols = ", ".join(f"({c}) AS r{i}" for i, c in enumerate(conds))
        self._execute(f"SELECT {cols} FROM {self._source_sql(resolver.used | set(REPORTED))} LIMIT 0")

    def _masks(self, converted: list[tuple[RuleInfo, str]]) -> list[str]:
        masks = []
        for start in range(0, len(converted), MASK_BITS):
            bits = [
                f"(CASE WHEN {cond} THEN {1 << (i - start)} ELSE 0 END)::BIGINT"
                for i, (_, cond) in enumerate(converted[start : start + MASK_BITS], start=start)
            ]
            masks.append(f"({' | '.join(bits)}) AS m{start // MASK_BITS}")
        return masks

    def run(
        self,
        resolver: FieldResolver,
        converted: list[tuple[RuleInfo, str]],
        unsupported: list[UnsupportedRule],
    ) -> list[tuple[RuleInfo, Any]]:
        """Each rule that matched, with its rows (an Arrow table: ``__row`` and :data:`REPORTED`)."""
        if not converted:
            return []
        source = self._source_sql(resolver.used | set(REPORTED))
        masks = self._masks(converted)
        any_hit = " OR ".join(f"m{i} <> 0" for i in range(len(masks)))
        sql = (
            f"SELECT * FROM (SELECT __row, {', '.join(q(c) for c in REPORTED)}, {', '.join(masks)} "
            f"FROM {source}) AS flagged WHERE {any_hit}"
        )
        try:
            table = self._execute(sql)
        except Exception as err:  # one rule fails at run time: find it, list it, run the others
            log.warning("one pass failed (%s); running the rules one by one", err)
            return self._one_by_one(resolver, converted, unsupported)
        kept = table.select(["__row", *REPORTED])
        bits = [table.column(f"m{j}").to_numpy() for j in range(len(masks))]
        parts = []
        for i, (info, _) in enumerate(converted):
            hit = np.flatnonzero((bits[i // MASK_BITS] >> (i % MASK_BITS)) & 1)
            if len(hit):
                parts.append((info, kept.take(hit)))
        return parts

    def _one_by_one(
        self,
        resolver: FieldResolver,
        converted: list[tuple[RuleInfo, str]],
        unsupported: list[UnsupportedRule],
    ) -> list[tuple[RuleInfo, Any]]:
        source = self._source_sql(resolver.used | set(REPORTED))
        parts = []
        for info, cond in list(converted):
            try:
                table = self._execute(
                    f"SELECT __row, {', '.join(q(c) for c in REPORTED)} FROM {source} WHERE ({cond})"
                )
            except Exception as err:
                unsupported.append(_unsupported(info, f"cannot run in DuckDB: {_one_line(err)}"))
                converted.remove((info, cond))
                continue
            if table.num_rows:
                parts.append((info, table))
        return parts


class _FrameRunner(_Runner):
    def __init__(self, frame: pd.DataFrame) -> None:
        # a shallow copy without attrs: pandas deep-copies attrs (the load report) on every column read
        self.frame = frame.copy(deep=False)
        self.frame.attrs = {}
        self._arrays: dict[str, Any] = {}
        self._registered: tuple[str, ...] = ()
        super().__init__(list(frame.columns), self._sql, self._source)

    def _sql(self, query: str) -> Any:
        return self._scratch.sql(query).to_arrow_table()

    def _source(self, used: set[str]) -> str:
        """The frame's columns that the SQL reads, as Arrow (zero copy for Arrow strings)."""
        import pyarrow as pa

        wanted = tuple(c for c in self.frame.columns if c in used or c in self._registered or c in REPORTED)
        if wanted != self._registered:
            for c in wanted:
                if c not in self._arrays:
                    self._arrays[c] = (
                        pa.chunked_array([pa.Array.from_pandas(self.frame[c])])
                        if len(self.frame)
                        else pa.Array.from_pandas(self.frame[c])
                    )
            arrays = [self._arrays[c] for c in wanted]
            table = pa.table(
                [*arrays, pa.array(np.arange(len(self.frame), dtype=np.int64))], names=[*wanted, "__row"]
            )
            self._scratch.register(SOURCE, table)
            self._registered = wanted
        return SOURCE


def _empty_matches() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule_id": pd.Series([], dtype=object),
            "row": pd.Series([], dtype="Int64"),
            "eventID": pd.Series([], dtype=object),
            "eventTime": pd.Series([], dtype="datetime64[ns, UTC]"),
            "userIdentity.accessKeyId": pd.Series([], dtype=object),
        }
    )


def _matches(parts: list[tuple[RuleInfo, Any]]) -> pd.DataFrame:
    """One row per (event, rule), grouped by rule in the order the rules ran, events in frame order."""
    import pyarrow as pa

    if not parts:
        return _empty_matches()
    ids = [info.rule_id for info, _ in parts]
    codes = np.repeat(np.arange(len(parts), dtype=np.int32), [t.num_rows for _, t in parts])
    table = pa.concat_tables([t.cast(parts[0][1].schema) for _, t in parts])
    frame = table.rename_columns(["row", *REPORTED]).to_pandas()
    frame.insert(0, "rule_id", pd.Categorical.from_codes(codes, categories=ids))
    frame["row"] = frame["row"].astype("Int64")
    frame["eventTime"] = pd.to_datetime(frame["eventTime"], utc=True)
    return frame


def _hits(parts: list[tuple[RuleInfo, Any]]) -> tuple[RuleHit, ...]:
    import pyarrow.compute as pc

    hits = []
    for info, table in parts:
        times = pc.min_max(table.column("eventTime"))
        keys = pc.unique(pc.drop_null(table.column("userIdentity.accessKeyId"))).to_pylist()
        hits.append(
            RuleHit(
                rule_id=info.rule_id,
                title=info.title,
                level=info.level,
                tags=info.tags,
                event_ids=tuple(pc.unique(pc.drop_null(table.column("eventID"))).to_pylist()),
                first_seen=_dt(times["min"].as_py()),
                last_seen=_dt(times["max"].as_py()),
                access_key_ids=tuple(sorted(k for k in keys if k)),
                author=info.author,
                source=info.source,
                path=info.path,
                count=table.num_rows,
                description=info.description,
            )
        )
    hits.sort(key=lambda h: (-level_rank(h.level), h.first_seen or datetime.max.replace(tzinfo=UTC), h.title))
    return tuple(hits)


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return (ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")).to_pydatetime()
