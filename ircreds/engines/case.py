"""A case store opened for questions: sessions, trace, plan, report, with filters pushed down.

Only the lineage's rows are read into pandas: a trace walks the precomputed ``sessions`` table
(parents up, children down), reads the calls of the lineage's keys (one ``WHERE key IN (...)``),
and asks the store for the source IPs and user agents of the issuers' and peer sessions' keys
(the baselines a trace compares with). The result equals ``ircreds.trace`` over the whole frame.

Example:
    >>> import tempfile, os
    >>> from ircreds.scenarios import walkthrough
    >>> from ircreds.engines.store import index
    >>> folder = tempfile.mkdtemp()
    >>> s = walkthrough()
    >>> _ = s.write(os.path.join(folder, "ev"))
    >>> _ = index([os.path.join(folder, "ev")], os.path.join(folder, "case.duckdb"))
    >>> with open_case(os.path.join(folder, "case.duckdb")) as case:
    ...     tr = case.trace(s.answer_key["leaked_access_key_id"])
    >>> tr.session.role_arn == s.answer_key["role_arn"]
    True
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ircreds.engines import store
from ircreds.engines.store import KEY, q
from ircreds.errors import SourceError
from ircreds.lineage import SESSION_COLUMNS, LineageIndex
from ircreds.model import Trace
from ircreds.schema import COLUMNS, LoadReport
from ircreds.times import parse_time

log = logging.getLogger(__name__)

_SUMMARISED = ("sourceIPAddress", "userAgent", "awsRegion", "eventSource")


def open_case(path: str | os.PathLike[str]) -> Case:
    """Open a case store made by ``ircreds index`` (read-only).

    Raises:
        SourceError: when ``path`` is not a case store.
    """
    if not store.is_case(path):
        raise SourceError(
            f"{path} is not an ircreds case store; make one with `ircreds index PATH... --out CASE`"
        )
    return Case(path)


class _Rows:
    """Sessions rows as dicts on demand (what ``to_dict("records")`` gives, without building them all)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.cache: dict[int, dict[str, Any]] = {}

    def __getitem__(self, pos: int) -> dict[str, Any]:
        row = self.cache.get(pos)
        if row is None:
            row = self.cache[pos] = self.frame.iloc[[pos]].to_dict("records")[0]
        return row

    def __len__(self) -> int:
        return len(self.frame)


class Case:
    """A case store: ``sessions()``, ``trace()``, ``plan()``, ``report()``, ``events()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._con = store.connect(self.path, read_only=True)
        self._root = store.case_root(self.path)
        self._keys_values: bool | None = None  # does the keys table hold each key's addresses and clients
        meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        self.load_report: dict[str, Any] = LoadReport(json.loads(meta.get("report") or "{}"))
        self._evidence: dict[str, Any] = json.loads(meta.get("evidence") or "{}")
        self._sessions: pd.DataFrame | None = None
        self._lookups: dict[str, Any] | None = None

    # -- life ------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database connection."""
        self._con.close()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ircreds case {self.path}: {self.load_report.get('events', 0):,} events>"

    # -- rows --------------------------------------------------------------------------------------
    def sql(self, query: str, params: Sequence[Any] = ()) -> pa.Table:
        """Run a read-only SQL query on the store (tables: ``ircreds.engines.store.TABLES``)."""
        return self._con.sql(query, params=list(params) or None).to_arrow_table()

    def events(self, where: str = "true", params: Sequence[Any] = ()) -> pd.DataFrame:
        """The events frame of the rows matching a SQL condition (all rows by default), in frame order.

        With no condition this is ``ircreds.load`` of the indexed evidence (load report in ``attrs``).
        """
        frame = store.select_events(self._con, where, params)
        if where == "true":
            frame.attrs["load_report"] = self.load_report
        return frame

    def evidence_end_events(self) -> pd.DataFrame:
        """The events at the evidence's last instant (what ``as_of="evidence-end"`` reads)."""
        return store.select_events(self._con, '"eventTime" = (SELECT max("eventTime") FROM events)')

    def calls(self, keys: Iterable[str]) -> pd.DataFrame:
        """Every call signed by any of ``keys``, as an events frame in frame order."""
        keys = sorted({k for k in keys if k})
        if not keys:
            return store.select_events(self._con, "false")
        with store.rows_of_keys(self._con, self._root, keys) as rows:
            if rows is not None:  # only the parts that hold the keys
                cols = ", ".join(q(c) for c in [*COLUMNS, "_f"])
                return store.frame_from_arrow(self._con.sql(f"SELECT {cols} {rows}").to_arrow_table())
        literal = store.key_filter(keys)
        if literal is not None:  # a constant list: DuckDB skips the row groups whose key range misses
            return store.select_events(self._con, literal)
        self._con.register("_keys", pa.table({"k": pa.array(keys, type=pa.string())}))
        try:
            return store.select_events(self._con, f"{KEY} IN (SELECT k FROM _keys)")
        finally:
            self._con.unregister("_keys")

    # -- sessions ------------------------------------------------------------------------------------
    def sessions(self) -> pd.DataFrame:
        """:func:`ircreds.sessions` of the whole case (precomputed when indexed)."""
        return self._session_frame().copy()

    def _session_frame(self) -> pd.DataFrame:
        if self._sessions is None:
            table = self._con.sql("SELECT * FROM sessions ORDER BY _pos").to_arrow_table()
            self._sessions = _sessions_frame(table)
        return self._sessions

    def credentials_overview(self, *, findings: bool = True) -> pd.DataFrame:
        """:func:`ircreds.scoping.credentials_overview` of the whole case, computed in the store.

        Each credential's source IPs (first used first) come from one grouped query; its finding
        counts from a trace of that credential alone (only its lineage's rows are read).
        """
        from ircreds.model import Severity

        frame = self.sessions()
        line = q("evidence.line")
        got = self._con.execute(
            f"SELECT k, ip FROM (SELECT {KEY} AS k, {q('sourceIPAddress')} AS ip, "
            f'min(struct_pack(t := "eventTime", f := _f, l := coalesce({line}, -1))) AS first '
            f"FROM events WHERE {KEY} IS NOT NULL AND {q('sourceIPAddress')} IS NOT NULL GROUP BY 1, 2) "
            "ORDER BY k, first"
        ).fetchall()
        ips: dict[str, list[str]] = {}
        for k, ip in got:
            ips.setdefault(k, []).append(ip)
        called = set(
            self._con.execute(f"SELECT DISTINCT {KEY} FROM events WHERE {KEY} IS NOT NULL").fetchall()
        )
        counts, highs = [], []
        for k in frame["access_key_id"].astype(str):
            n = high = 0
            if findings and (k,) in called:
                from ircreds.findings import run_findings

                for f in run_findings(self.trace(k, findings=False)):
                    n += 1
                    high += int(f.severity >= Severity.HIGH)
            counts.append(n)
            highs.append(high)
        keys = frame["access_key_id"].astype(str)
        frame["source_ips"] = pd.Series(
            [tuple(ips.get(k, ())) for k in keys], index=frame.index, dtype=object
        )
        frame["findings"] = pd.Series(counts, index=frame.index, dtype="int64")
        frame["high_findings"] = pd.Series(highs, index=frame.index, dtype="int64")
        return frame

    def _lineage_lookups(self) -> dict[str, Any]:
        if self._lookups is None:
            frame = self._session_frame()
            rows_by_key: dict[str, list[int]] = {}
            children: dict[str, list[str]] = {}
            by_role: dict[str, list[str]] = {}
            for pos, (key, parent, role) in enumerate(
                zip(frame["access_key_id"], frame["parent_key"], frame["role_arn"], strict=True)
            ):
                rows_by_key.setdefault(key, []).append(pos)
                if isinstance(parent, str) and parent != key:
                    lst = children.setdefault(parent, [])
                    if key not in lst:
                        lst.append(key)
                if isinstance(role, str):
                    by_role.setdefault(role, []).append(key)
            self._lookups = {
                "rows_by_key": rows_by_key,
                "children": children,
                "by_role": by_role,
                "rows": _Rows(frame),
            }
        return self._lookups

    # -- trace ---------------------------------------------------------------------------------------
    def lineage_index(self, key: str) -> tuple[pd.DataFrame, LineageIndex]:
        """The lineage's rows and an index over them that answers a trace of ``key`` exactly."""
        from ircreds.tracer import PEER_LIMIT

        look = self._lineage_lookups()
        rows_by_key, children, rows = look["rows_by_key"], look["children"], look["rows"]
        lineage: list[str] = []
        if key in rows_by_key:
            todo = [key]
            seen = {key}
            while todo:
                k = todo.pop()
                lineage.append(k)
                for child in children.get(k, ()):
                    if child not in seen:
                        seen.add(child)
                        todo.append(child)
        wanted = set(lineage)
        history: set[str] = set()
        for k in lineage:
            row = rows[rows_by_key[k][0]]
            issuer = row.get("issuer_access_key_id")
            if isinstance(issuer, str) and issuer:
                history.add(issuer)
            role = row.get("role_arn")
            if isinstance(role, str):
                history.update(look["by_role"].get(role, [])[:PEER_LIMIT])
        events = self.calls(wanted)
        index = self._index(events, wanted)
        index.extra["history_by_key"] = self._histories(history - wanted)
        index.extra["history_source"] = self._histories  # any other key the tracer asks about
        index.extra["keys_by_role"] = look["by_role"]
        index.extra["session_rows"] = rows
        return events, index

    def _index(self, events: pd.DataFrame, keys: set[str]) -> LineageIndex:
        look = self._lineage_lookups()
        n = len(events)
        calls_by_key: dict[str, np.ndarray] = {}
        if n:
            codes, uniques = pd.factorize(events["userIdentity.accessKeyId"], use_na_sentinel=True)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
            for i, k in enumerate(uniques):
                if str(k) in keys:
                    calls_by_key[str(k)] = order[bounds[i] : bounds[i + 1]]
        summarised: dict[str, tuple[np.ndarray, list[str]]] = {}
        for name in _SUMMARISED:
            if n:
                c, u = pd.factorize(events[name], use_na_sentinel=True)
                summarised[name] = (np.asarray(c), [str(v) for v in u])
        times = events["eventTime"]
        ev = self._evidence
        return LineageIndex(
            sessions=self._session_frame(),
            calls_by_key=calls_by_key,
            rows_by_key=look["rows_by_key"],
            children_by_key=look["children"],
            events_len=int(ev.get("events_len", 0)),
            start=parse_time(ev.get("start")),
            end=parse_time(ev.get("end")),
            accounts=tuple(ev.get("accounts", ())),
            regions=tuple(ev.get("regions", ())),
            data_event_count=int(ev.get("data_event_count", 0)),
            codes=summarised,
            times_ns=times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            if n
            else None,
            errors=events["errorCode"].notna().to_numpy(dtype=bool) if n else None,
        )

    def _histories(self, keys: set[str]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Each key's distinct source IPs and user agents, computed in the store."""
        out: dict[str, tuple[frozenset[str], frozenset[str]]] = {k: (frozenset(), frozenset()) for k in keys}
        if not keys:
            return out
        if self._keys_hold_values():  # indexed with each key's addresses and clients
            self._con.register("_keys", pa.table({"k": pa.array(sorted(keys), type=pa.string())}))
            try:
                got = self._con.execute(
                    "SELECT key, ips, agents FROM keys WHERE key IN (SELECT k FROM _keys)"
                ).fetchall()
            finally:
                self._con.unregister("_keys")
        else:
            got = self._scan_histories(keys)
        for k, ips, agents in got:
            out[k] = (
                frozenset(v for v in ips or () if v is not None),
                frozenset(v for v in agents or () if v is not None),
            )
        return out

    def _keys_hold_values(self) -> bool:
        if self._keys_values is None:
            columns = {row[0] for row in self._con.execute("DESCRIBE keys").fetchall()}
            self._keys_values = {"ips", "agents"} <= columns
        return self._keys_values

    def _scan_histories(self, keys: set[str]) -> list[tuple[Any, ...]]:
        """Each key's distinct IPs and user agents from its rows (a case indexed before ``keys`` held them)."""
        select = f"SELECT {KEY}, list(DISTINCT {q('sourceIPAddress')}), list(DISTINCT {q('userAgent')}) FROM events"
        literal = store.key_filter(keys)
        if literal is not None:  # pushed into the Parquet scan
            got = self._con.execute(f"{select} WHERE {literal} GROUP BY {KEY}").fetchall()
        else:
            self._con.register("_keys", pa.table({"k": pa.array(sorted(keys), type=pa.string())}))
            try:
                got = self._con.execute(
                    f"{select} WHERE {KEY} IN (SELECT k FROM _keys) GROUP BY {KEY}"
                ).fetchall()
            finally:
                self._con.unregister("_keys")
        return got

    def trace(
        self,
        key: str | None = None,
        *,
        role_arn: str | None = None,
        session_name: str | None = None,
        findings: bool = True,
    ) -> Trace:
        """:func:`ircreds.trace` over the case, reading only the lineage's rows.

        Raises:
            SessionNotFoundError: the credential is not in the case.
        """
        from ircreds.tracer import session_key, trace_indexed

        if key is None:
            if not (role_arn and session_name):
                raise ValueError("trace needs key=... or both role_arn=... and session_name=...")
            key = session_key(
                self._index(store.select_events(self._con, "false"), set()), role_arn, session_name
            )
        key = key.strip()
        events, index = self.lineage_index(key)
        from ircreds.findings import run_findings

        return trace_indexed(events, index, key, detectors=run_findings if findings else None)

    def scope(self, key: str | Iterable[str] | None = None, **options: Any) -> Any:
        """:func:`ircreds.scope` over the case, pushed down to the store.

        The expansion reads every row, but only the columns it needs (JSON text and error text only on
        the issuing events: :data:`ircreds.engines.store.THIN_COLUMNS`); each compromised credential's
        trace reads its lineage's full rows, as :meth:`trace` does. Same arguments and result as
        :func:`ircreds.scope` (``sigma=`` a hunt of the case's whole frame).
        """
        from ircreds.scoping import scope

        options.pop("tracer", None)
        return scope(
            store.select_scope_events(self._con),
            key,
            tracer=lambda k, findings: self.trace(k, findings=findings),
            **options,
        )

    def rows_with_ids(self, event_ids: Iterable[str]) -> pd.DataFrame:
        """The events with these ``eventID`` values (every column), in frame order."""
        ids = sorted({i for i in event_ids if i})
        if not ids:
            return store.select_events(self._con, "false")
        self._con.register("_ids", pa.table({"id": pa.array(ids, type=pa.string())}))
        try:
            return store.select_events(self._con, '"eventID" IN (SELECT id FROM _ids)')
        finally:
            self._con.unregister("_ids")

    # -- containment and report ------------------------------------------------------------------------
    def plan(self, trace: Trace, cutoff: Any = None, **options: Any) -> Any:
        """:func:`ircreds.plan` with every session of the case (``events=`` is not needed)."""
        from ircreds.containment import plan

        options.pop("events", None)
        return plan(trace, cutoff, sessions=self.sessions(), **options)

    def sources(self) -> list[str]:
        """The paths the case was indexed from, in the order given to ``ircreds index``."""
        rows = self._con.execute("SELECT source, min(ord) FROM files GROUP BY source ORDER BY 2").fetchall()
        return [str(r[0]) for r in rows]

    def files(self) -> list[str]:
        """Every evidence file in the case, in input order."""
        return [str(r[0]) for r in self._con.execute("SELECT path FROM files ORDER BY ord").fetchall()]

    def file_ranges(self) -> dict[str, tuple[int, Any, Any]]:
        """Each evidence file's record count and time range (what the report's evidence manifest lists)."""
        rows = self._con.execute(
            'SELECT "evidence.file", count(*), min("eventTime"), max("eventTime") FROM events GROUP BY 1'
        ).fetchall()
        return {str(f): (int(n), parse_time(a), parse_time(b)) for f, n, a, b in rows if f is not None}

    def report_events(self, trace: Trace, plan: Any = None) -> pd.DataFrame:
        """The rows a report reads: the lineage's calls, the calls of every session the plan names,
        every issuing event, every inline-policy put (where ``AWSRevokeOlderSessions`` shows) and
        the last event (where the evidence ends).
        """
        keys = {node.key for node in trace.walk()}
        if plan is not None:
            for rev in getattr(plan, "revocations", ()):
                for group in (rev.cuts, rev.survives, rev.expired):
                    keys.update(s.access_key_id for s in group)
        keys = {k for k in keys if k}
        names = ", ".join(f"'{n}'" for n in (*store.ISSUING_NAMES, "PutRolePolicy", "PutUserPolicy"))
        self._con.register("_keys", pa.table({"k": pa.array(sorted(keys), type=pa.string())}))
        try:
            frame = store.select_events(
                self._con,
                f'{KEY} IN (SELECT k FROM _keys) OR "eventName" IN ({names}) '
                'OR "eventTime" = (SELECT max("eventTime") FROM events)',  # where the evidence ends
            )
        finally:
            self._con.unregister("_keys")
        frame.attrs["load_report"] = self.load_report
        return frame


def _sessions_frame(table: pa.Table) -> pd.DataFrame:
    """The stored sessions table -> the frame ``ircreds.sessions`` returns (same dtypes)."""
    data: dict[str, list[Any]] = {}
    for name in SESSION_COLUMNS:
        values = table.column(name).to_pylist()
        if name == "issuing_event_ids":
            values = [tuple(v or ()) for v in values]
        data[name] = values
    frame = pd.DataFrame(data, columns=list(SESSION_COLUMNS))
    for name in ("issued_at", "expires_at", "first_used", "last_used"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["call_count"] = frame["call_count"].astype("int64")
    frame["observed_only"] = frame["observed_only"].astype(bool)
    frame["used_before_issued"] = frame["used_before_issued"].astype(bool)
    frame["mfa_authenticated"] = frame["mfa_authenticated"].astype("boolean")
    return frame
