"""Trace one credential: its issuer up to the root, every call, every credential it spawned.

``trace(events, key)`` walks the lineage index of ``ircreds.lineage`` (built once per frame):
up through the issuers' keys to the IAM user, SAML/OIDC identity, root user or AWS service at
the top, and down through chained sessions and minted keys, recursively. Each node carries its
calls (a frame), a summary and, when detectors are passed in, its findings (the tracer imports
no detector: ``ircreds.trace`` passes the kit's, from ``ircreds.findings``).

Example:
    >>> import pandas as pd
    >>> empty = pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})
    >>> try:
    ...     trace(empty, "ASIAIOSFODNN7EXAMPLE")
    ... except LookupError as err:
    ...     print(type(err).__name__)
    SessionNotFoundError
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from ircreds.addresses import is_public_ip
from ircreds.errors import SessionNotFoundError
from ircreds.lineage import LineageIndex, lineage_index
from ircreds.model import (
    CallSummary,
    Credential,
    CredentialKind,
    Evidence,
    Finding,
    Issuer,
    Root,
    RootType,
    Trace,
    iso_z,
)
from ircreds.times import parse_time

log = logging.getLogger(__name__)

# Sessions deeper than this are cut (role juggling can make long chains; cycles are cut anyway).
MAX_DEPTH = 32
# At most this many sibling sessions of a role are read for the peer-IP baseline.
PEER_LIMIT = 500
#: What the tracer runs on each node when asked: a node in, its findings out.
Detectors = Callable[[Trace], Iterable[Finding]]
# A workload uses credentials it was just handed within this long: its first call's address is its own.
_DELIVERY = timedelta(minutes=10)


def trace(
    events: pd.DataFrame,
    key: str | None = None,
    *,
    role_arn: str | None = None,
    session_name: str | None = None,
    detectors: Detectors | None = None,
) -> Trace:
    """Trace a credential by key (``ASIA…``/``AKIA…``) or by role ARN and session name.

    This is the trace stage alone: ``ircreds.trace`` (:func:`ircreds.findings.trace`) is this
    with the kit's detectors passed in.

    Args:
        events: the events frame of ``ircreds.load``.
        key: the leaked access key id.
        role_arn: with ``session_name``, the session to trace when the key is not known.
        session_name: the role session name (with ``role_arn``).
        detectors: run on every node of the lineage, their findings kept on it (none by default:
            the tracer knows no detector; ``ircreds.findings.run_findings`` is the kit's).

    Raises:
        SessionNotFoundError: the credential is not in the evidence; the message says what the
            evidence covers and what to load next.
        ValueError: neither a key nor a role ARN and session name were given.
    """
    return trace_indexed(
        events, lineage_index(events), key, role_arn=role_arn, session_name=session_name, detectors=detectors
    )


def trace_indexed(
    events: pd.DataFrame,
    index: LineageIndex,
    key: str | None = None,
    *,
    role_arn: str | None = None,
    session_name: str | None = None,
    detectors: Detectors | None = None,
) -> Trace:
    """:func:`trace` over a lineage index built elsewhere (the case store builds one per lineage).

    ``index.calls_by_key`` holds positions in ``events``; keys whose calls are not in ``events``
    need their ``(source IPs, user agents)`` in ``index.extra["history_by_key"]``, or a callable
    ``index.extra["history_source"]`` that returns them for a set of keys.
    """
    if key is None:
        if not (role_arn and session_name):
            raise ValueError("trace needs key=... or both role_arn=... and session_name=...")
        key = _key_for_session(index, role_arn, session_name)
    key = key.strip()
    if key not in index.rows_by_key:
        raise SessionNotFoundError(_not_found_message(index, key))
    evidence = Evidence(
        start=index.start,
        end=index.end,
        accounts=index.accounts,
        regions=index.regions,
        event_count=index.events_len,
        data_event_count=index.data_event_count,
    )
    builder = _Builder(_view(events, index), index, evidence)
    root = builder.root_of(key)
    builder.prefetch(builder.lineage_keys(key))
    node = builder.node(key, root, depth=0, seen=set())
    if detectors is not None:
        node = _with_findings(node, detectors)
    return node


def _view(events: pd.DataFrame, index: LineageIndex) -> pd.DataFrame:
    """The frame without its attrs (pandas deep-copies attrs on every take), made once per frame."""
    view = index.extra.get("events_view")
    if view is None:
        view = events.copy(deep=False)
        view.attrs = {}
        index.extra["events_view"] = view
    return view


def _with_findings(node: Trace, run: Detectors) -> Trace:
    children = tuple(_with_findings(child, run) for child in node.children)
    node = replace(node, children=children)
    return replace(node, findings=tuple(run(node)))


def session_key(index: LineageIndex, role_arn: str, session_name: str) -> str:
    """The key of a role session (the first issued when several match), as :func:`trace` picks it.

    Raises:
        SessionNotFoundError: no session of that role has that name.
    """
    return _key_for_session(index, role_arn, session_name)


def _key_for_session(index: LineageIndex, role_arn: str, session_name: str) -> str:
    s = index.sessions
    mask = (s["session_name"] == session_name) & (
        (s["role_arn"] == role_arn)
        | s["principal_arn"].astype("string").str.endswith(f"/{session_name}")
        & s["principal_arn"].astype("string").str.contains(f"/{role_arn.rsplit('/', 1)[-1]}/", regex=False)
    )
    hits = s.loc[mask.fillna(False)]
    if hits.empty:
        raise SessionNotFoundError(_not_found_message(index, f"{role_arn} session {session_name!r}"))
    if len(hits) > 1:
        log.warning(
            "%d credentials match %s session %r; tracing the first issued (%s). Others: %s",
            len(hits),
            role_arn,
            session_name,
            hits["access_key_id"].iloc[0],
            ", ".join(hits["access_key_id"].iloc[1:].tolist()),
        )
    return str(hits["access_key_id"].iloc[0])


def _not_found_message(index: LineageIndex, what: str) -> str:
    if not index.events_len:
        return f"no credential {what} in the evidence: it holds no events; load CloudTrail logs first"
    accounts = ", ".join(index.accounts) or "no account ids"
    regions = ", ".join(index.regions[:8]) + (" …" if len(index.regions) > 8 else "")
    return (
        f"no credential {what} in {index.events_len:,} events spanning {iso_z(index.start)}–{iso_z(index.end)} "
        f"(accounts {accounts}; regions {regions or 'none'}); neither an issuing event nor a call uses it: "
        "load logs from earlier or later days, the other regions and the account that owns the role or user, "
        "or check the key for typos"
    )


class _Builder:
    def __init__(self, events: pd.DataFrame, index: LineageIndex, evidence: Evidence) -> None:
        self.events = events
        self.index = index
        self.evidence = evidence
        rows = index.extra.get("session_rows")
        if rows is None:  # the sessions table as plain dicts, once per frame
            rows = index.extra["session_rows"] = index.sessions.to_dict("records")
        self.rows = rows

    def row(self, key: str) -> dict[str, Any] | None:
        positions = self.index.rows_by_key.get(key)
        if not positions:
            return None
        return self.rows[positions[0]]

    def credential(self, key: str) -> Credential:
        row = self.row(key)
        assert row is not None
        return _credential(row)

    def root_of(self, key: str) -> Root:
        seen: set[str] = set()
        current = key
        row = self.row(current)
        while row is not None:
            seen.add(current)
            parent = _s(row.get("parent_key"))
            if parent and parent not in seen and self.row(parent) is not None:
                current = parent
                row = self.row(current)
                continue
            return _root_from_row(row)
        return Root(type=RootType.UNKNOWN)

    def prefetch(self, keys: list[str]) -> None:
        """Take every call of the lineage in one go; each node's calls are then a cheap slice."""
        self.spans: dict[str, tuple[int, int]] = {}
        start = 0
        for k in keys:
            idx = self.index.calls_by_key.get(k)
            if idx is not None and k not in self.spans:
                self.spans[k] = (start, start + len(idx))
                start += len(idx)
        if self.spans:
            taken = np.concatenate([self.index.calls_by_key[k] for k in self.spans])
            self.lineage_calls = self.events.iloc[taken].reset_index(drop=True)
        else:
            self.lineage_calls = self.events.iloc[0:0]

    def calls(self, key: str) -> pd.DataFrame:
        span = getattr(self, "spans", {}).get(key)
        if span is None:
            idx = self.index.calls_by_key.get(key)
            if idx is None:
                return self.events.iloc[0:0].copy()
            return self.events.iloc[idx].reset_index(drop=True)
        # a slice (no copy); its index counts from the slice's place in the lineage
        return self.lineage_calls.iloc[span[0] : span[1]]

    def lineage_keys(self, key: str) -> list[str]:
        """The keys of the lineage below ``key``, depth-first, as node() will visit them."""
        out: list[str] = []

        def visit(k: str, depth: int, seen: frozenset[str]) -> None:
            out.append(k)
            if depth >= MAX_DEPTH:
                return
            for child in self.index.children_by_key.get(k, ()):
                if child not in seen and child in self.index.rows_by_key:
                    visit(child, depth + 1, seen | {child})

        visit(key, 0, frozenset({key}))
        return out

    def key_history(self, key: str) -> tuple[frozenset[str], frozenset[str]]:
        """The source IPs and user agents of one key's calls, computed once per frame."""
        cache = self.index.extra.setdefault("history_by_key", {})
        hit = cache.get(key)
        if hit is None:
            idx = self.index.calls_by_key.get(key)
            fetch = self.index.extra.get("history_source")
            if idx is None and fetch is not None:  # a key whose calls are elsewhere (a case store)
                hit = cache[key] = fetch({key})[key]
                return hit
            found = []
            for name in ("sourceIPAddress", "userAgent"):
                values: frozenset[str] = frozenset()
                if idx is not None and name in self.index.codes:
                    codes, uniques = self.index.codes[name]
                    values = frozenset(uniques[c] for c in np.unique(codes[idx]) if c >= 0)
                found.append(values)
            hit = cache[key] = (found[0], found[1])
        return hit

    def issuer_history(self, cred: Credential) -> tuple[set[str], set[str]]:
        ips: set[str] = set()
        agents: set[str] = set()
        if cred.issuer.source_ip:
            ips.add(cred.issuer.source_ip)
        if cred.issuer.user_agent:
            agents.add(cred.issuer.user_agent)
        key = cred.issuer.access_key_id
        if key and key != cred.access_key_id:
            key_ips, key_agents = self.key_history(key)
            ips |= key_ips
            agents |= key_agents
        return ips, agents

    def principal_history(self, cred: Credential) -> tuple[set[str], set[str]]:
        """IPs and user agents of the principal's other credentials issued (or first used) before this one.

        The principal is the user, federated subject, instance or function behind the credential
        (``ircreds.lineage.principal_of_keys``): its earlier credentials are its habits before this one.
        """
        from ircreds.lineage import keys_of_principals, principal_of_keys

        principal = principal_of_keys(self.index).get(cred.access_key_id)
        start = cred.issued_at or cred.first_used
        if principal is None or start is None:
            return set(), set()
        starts = self.index.extra.get("start_by_key")
        if starts is None:
            starts = {}
            s = self.index.sessions
            for k, issued, first in zip(s["access_key_id"], s["issued_at"], s["first_used"], strict=True):
                value = issued if not pd.isna(issued) else first
                if not pd.isna(value):
                    starts.setdefault(k, value)
            self.index.extra["start_by_key"] = starts
        ips: set[str] = set()
        agents: set[str] = set()
        for k in keys_of_principals(self.index).get(principal, [])[:PEER_LIMIT]:
            began = starts.get(k)
            if k == cred.access_key_id or began is None or began >= start:
                continue
            key_ips, key_agents = self.key_history(k)
            ips |= key_ips
            agents |= key_agents
        return ips, agents

    def peer_ips(self, cred: Credential) -> tuple[str, ...]:
        """Source IPs of the other credentials of the same role (a baseline for workload credentials)."""
        if not cred.role_arn:
            return ()
        by_role = self.index.extra.get("keys_by_role")
        if by_role is None:
            s = self.index.sessions
            by_role = {}
            for k, r in zip(s["access_key_id"], s["role_arn"], strict=True):
                if isinstance(r, str):
                    by_role.setdefault(r, []).append(k)
            self.index.extra["keys_by_role"] = by_role
        counts_by_role = self.index.extra.setdefault("ip_counts_by_role", {})
        hit = counts_by_role.get(cred.role_arn)
        if hit is None:
            # how many of the role's sessions used each IP (the first PEER_LIMIT sessions)
            counted = by_role.get(cred.role_arn, [])[:PEER_LIMIT]
            counts: dict[str, int] = {}
            for k in counted:
                for ip in self.key_history(k)[0]:
                    counts[ip] = counts.get(ip, 0) + 1
            hit = counts_by_role[cred.role_arn] = (counts, frozenset(counted))
        counts, counted_keys = hit
        own = self.key_history(cred.access_key_id)[0] if cred.access_key_id in counted_keys else frozenset()
        return tuple(sorted(ip for ip, n in counts.items() if n > (1 if ip in own else 0)))

    def summary(
        self,
        key: str,
        issuer_ips: set[str],
        issuer_agents: set[str],
        cred: Credential,
        principal: tuple[set[str], set[str]] = (set(), set()),
    ) -> CallSummary:
        idx = self.index.calls_by_key.get(key)
        issuer_agents = {_ua(a) for a in issuer_agents}
        principal_ips, principal_agents = principal[0], {_ua(a) for a in principal[1]}
        if idx is None or not len(idx) or self.index.times_ns is None:
            return CallSummary(
                issuer_source_ips=tuple(sorted(issuer_ips)),
                issuer_user_agents=tuple(sorted(issuer_agents)),
                principal_source_ips=tuple(sorted(principal_ips)),
                principal_user_agents=tuple(sorted(principal_agents)),
            )
        times = self.index.times_ns[idx]
        ips = [
            (ip, parse_time(pd.Timestamp(times[pos], tz="UTC")))
            for ip, pos in _uniques(self.index, "sourceIPAddress", idx)
        ]
        # S3 writes user agents inside brackets ("[aws-cli/2 ...]"): compare and list them without.
        agents = tuple(dict.fromkeys(_ua(a) for a, _ in _uniques(self.index, "userAgent", idx)))
        regions = tuple(sorted(v for v, _ in _uniques(self.index, "awsRegion", idx)))
        services = tuple(sorted(v for v, _ in _uniques(self.index, "eventSource", idx)))
        errors = int(self.index.errors[idx].sum()) if self.index.errors is not None else 0
        # the baseline: the issuer's own addresses and clients, and the principal's earlier credentials'
        known_ips = issuer_ips | principal_ips
        known_agents = issuer_agents | principal_agents
        have_history = bool(known_ips) and cred.kind not in (CredentialKind.SERVICE,)
        new_ips = tuple(ip for ip, _ in ips if have_history and ip not in known_ips and not _internal(ip))
        new_agents = tuple(a for a in agents if known_agents and a not in known_agents and not _internal(a))
        return CallSummary(
            count=len(idx),
            first=parse_time(pd.Timestamp(times.min(), tz="UTC")),
            last=parse_time(pd.Timestamp(times.max(), tz="UTC")),
            source_ips=tuple(ips),
            user_agents=agents,
            regions=regions,
            services=services,
            error_count=errors,
            issuer_source_ips=tuple(sorted(issuer_ips)),
            issuer_user_agents=tuple(sorted(issuer_agents)),
            new_source_ips=new_ips,
            new_user_agents=new_agents,
            principal_source_ips=tuple(sorted(principal_ips)),
            principal_user_agents=tuple(sorted(principal_agents)),
        )

    def node(self, key: str, root: Root, *, depth: int, seen: set[str]) -> Trace:
        seen = seen | {key}
        cred = self.credential(key)
        calls = self.calls(key)
        summary = self.summary(key, *self.issuer_history(cred), cred, self.principal_history(cred))
        peers = self.peer_ips(cred)
        summary = replace(summary, peer_source_ips=peers)
        if peers and _workload(cred):
            # A service-issued session has no human history: its baseline is the role's other sessions,
            # the instance's (or function's) earlier ones, and where it first called from right after
            # delivery (IMDS hands the credentials to the instance, which uses them within minutes).
            own = set(peers) | set(summary.principal_source_ips)
            first = summary.source_ips[0] if summary.source_ips else None
            if first and cred.issued_at and summary.first and summary.first - cred.issued_at <= _DELIVERY:
                own.add(first[0])
            new = tuple(ip for ip, _ in summary.source_ips if is_public_ip(ip) and ip not in own)
            summary = replace(summary, new_source_ips=new)
        children: list[Trace] = []
        if depth < MAX_DEPTH:
            for child in self.index.children_by_key.get(key, ()):
                if child in seen or self.row(child) is None:
                    continue
                children.append(self.node(child, root, depth=depth + 1, seen=seen))
        else:
            log.warning("lineage of %s deeper than %d; not following further", key, MAX_DEPTH)
        return Trace(
            key=key,
            session=cred,
            root=root,
            calls=calls,
            children=tuple(children),
            summary=summary,
            evidence=self.evidence,
            depth=depth,
        )


def _uniques(index: LineageIndex, name: str, idx: np.ndarray) -> list[tuple[str, int]]:
    """(value, first position in idx) for each distinct non-null value of column ``name``."""
    if name not in index.codes:
        return []
    codes, uniques = index.codes[name]
    sub = codes[idx]
    values, first = np.unique(sub, return_index=True)
    return sorted(
        ((uniques[v], int(f)) for v, f in zip(values, first, strict=True) if v >= 0), key=lambda p: p[1]
    )


def _s(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    return str(value) or None


def _credential(row: dict[str, Any]) -> Credential:
    mfa = row.get("mfa_authenticated")
    return Credential(
        access_key_id=str(row["access_key_id"]),
        kind=CredentialKind(row["kind"]),
        role_arn=_s(row.get("role_arn")),
        session_name=_s(row.get("session_name")),
        principal_id=_s(row.get("principal_id")),
        principal_arn=_s(row.get("principal_arn")),
        account_id=_s(row.get("account_id")),
        issued_at=parse_time(row.get("issued_at")),
        expires_at=parse_time(row.get("expires_at")),
        issuing_event_ids=tuple(row.get("issuing_event_ids") or ()),
        issuer=Issuer(
            type=_s(row.get("issuer_type")),
            arn=_s(row.get("issuer_arn")),
            name=_s(row.get("issuer_name")),
            access_key_id=_s(row.get("issuer_access_key_id")),
            source_ip=_s(row.get("issuer_source_ip")),
            user_agent=_s(row.get("issuer_user_agent")),
        ),
        parent_key=_s(row.get("parent_key")),
        source_identity=_s(row.get("source_identity")),
        mfa_authenticated=None if mfa is None or mfa is pd.NA else bool(mfa),
        observed_only=bool(row.get("observed_only")),
        first_used=parse_time(row.get("first_used")),
        last_used=parse_time(row.get("last_used")),
        call_count=int(row.get("call_count") or 0),
    )


_ROOT_TYPES = {t.value: t for t in RootType}


def _root_from_row(row: dict[str, Any]) -> Root:
    """The top of a lineage from the topmost credential row: its issuer, or the principal itself."""
    itype = _s(row.get("issuer_type"))
    arn = _s(row.get("issuer_arn"))
    name = _s(row.get("issuer_name"))
    if itype == "AssumedRole":  # a session whose own issuer is outside the evidence
        return Root(type=RootType.ROLE, arn=arn, name=name)
    if itype in (None, "Unknown"):
        return Root(type=RootType.UNKNOWN, arn=arn or _s(row.get("principal_arn")), name=name)
    return Root(type=_ROOT_TYPES.get(itype, RootType.UNKNOWN), arn=arn, name=name)


def _workload(cred: Credential) -> bool:
    """EC2, Lambda, ECS… sessions: issued by an AWS service, or an instance-id session name."""
    if cred.kind == CredentialKind.SERVICE:
        return True
    return bool(cred.role_arn and cred.session_name and re.match(r"^i-[0-9a-f]{8,17}$", cred.session_name))


def _ua(agent: str) -> str:
    return agent[1:-1] if agent.startswith("[") and agent.endswith("]") else agent


def _internal(value: str) -> bool:
    """AWS-internal sources are not attacker indicators (console, services)."""
    return value == "AWS Internal" or value.endswith(".amazonaws.com")
