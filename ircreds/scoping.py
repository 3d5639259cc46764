"""Scope: from one alert (a key, an IP, a user agent, a principal) to every credential the attacker holds.

``scope(events, key=…)`` expands from the seeds to a fixpoint, one stated rule per step:

1. **lineage**: a credential issued or minted by a compromised credential with an attacker call (from the
   attacker's infrastructure, or by a credential the attacker made) is compromised (*attacker-made*: every
   call of it is the attacker's);
2. **infrastructure**: the public IP addresses and user agents of the compromised credentials' malicious
   calls are the attacker's, except the legitimate owner's baseline (the addresses its principal used before
   the compromise, the issuing call's address), AWS service addresses and VPC-endpoint traffic;
3. **pivot**: any other credential (role session, instance-profile session, user session token, long-term
   key) with a call from an attacker address that is not its own principal's baseline is compromised
   (*stolen*: only its calls from outside its owner's baseline are the attacker's). When the address was
   also the organisation's before the compromise (a shared egress), the call must also use a client the
   principal never used.

A credential's principal is the identity behind it: the IAM user, the SAML or OIDC subject, the instance or
function of a service-issued session; a chained session and a minted key belong to whoever made them.
Every other credential that shares a role, a principal or an address with the scope is listed as
legitimate, with why. The first malicious event is the earliest across the scope.

Pure: no clock, no I/O. The containment plan for the scope is ``ircreds.containment.plan_scope``.

Example:
    >>> import pandas as pd
    >>> empty = pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})
    >>> try:
    ...     scope(empty, key="ASIAIOSFODNN7EXAMPLE")
    ... except LookupError as err:
    ...     print(type(err).__name__)
    SessionNotFoundError
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ircreds.errors import SessionNotFoundError
from ircreds.escape import html_text
from ircreds.findings import is_public_ip
from ircreds.lineage import LineageIndex, keys_of_principals, lineage_index, principal_of_keys
from ircreds.model import Trace, iso_z

log = logging.getLogger(__name__)

#: A credential was issued or minted by the attacker: every call of it is malicious.
ATTACKER_MADE = "attacker-made"
#: A legitimate credential the attacker also used: only its calls from outside its owner's baseline are.
STOLEN = "stolen"
#: A seed the analyst named.
SEED = "seed"

_NEVER = np.datetime64("2262-01-01T00:00:00", "ns")


@dataclass(frozen=True, slots=True, kw_only=True)
class CompromisedCredential:
    """One credential in the attacker's hands, with why and when."""

    access_key_id: str
    principal_arn: str | None
    kind: str
    mode: str
    how: str
    linked_by_event_ids: tuple[str, ...] = ()
    first_malicious_event_id: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    account_id: str | None = None
    role_arn: str | None = None
    linked_from: str | None = None
    malicious_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (contract fields first, then additions)."""
        return {
            "access_key_id": self.access_key_id,
            "principal_arn": self.principal_arn,
            "kind": self.kind,
            "how": self.how,
            "linked_by_event_ids": list(self.linked_by_event_ids),
            "first_malicious_event_id": self.first_malicious_event_id,
            "first_seen": iso_z(self.first_seen),
            "last_seen": iso_z(self.last_seen),
            "mode": self.mode,
            "account_id": self.account_id,
            "role_arn": self.role_arn,
            "linked_from": self.linked_from,
            "malicious_calls": self.malicious_calls,
        }


_COMPROMISED_COLUMNS = (
    "access_key_id",
    "principal_arn",
    "kind",
    "how",
    "linked_by_event_ids",
    "first_malicious_event_id",
    "first_seen",
    "last_seen",
    "mode",
    "account_id",
    "role_arn",
    "linked_from",
    "malicious_calls",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LegitimateCredential:
    """A credential that shares a role, principal or address with the scope, judged legitimate."""

    access_key_id: str
    principal_arn: str | None
    why: str
    kind: str | None = None
    account_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "access_key_id": self.access_key_id,
            "principal_arn": self.principal_arn,
            "why": self.why,
            "kind": self.kind,
            "account_id": self.account_id,
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Scope:
    """Every credential the attacker holds, the attacker's infrastructure and the legitimate look-alikes."""

    seeds: dict[str, Any]
    compromised: tuple[CompromisedCredential, ...]
    legitimate: tuple[LegitimateCredential, ...]
    attacker_ips: tuple[str, ...]
    attacker_user_agents: tuple[str, ...]
    first_malicious_event_id: str | None
    first_malicious_time: datetime | None
    timeline: pd.DataFrame
    traces: tuple[Trace, ...] = ()
    malicious_event_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def keys(self) -> tuple[str, ...]:
        """The compromised access key ids, in the order they were found."""
        return tuple(c.access_key_id for c in self.compromised)

    @property
    def accounts(self) -> tuple[str, ...]:
        """The accounts the compromised credentials live in."""
        return tuple(sorted({c.account_id for c in self.compromised if c.account_id}))

    def credential(self, key: str) -> CompromisedCredential:
        """The compromised credential with access key id ``key``."""
        for c in self.compromised:
            if c.access_key_id == key:
                return c
        raise KeyError(f"{key} is not in the scope; compromised: {', '.join(self.keys)}")

    def trace(self) -> Trace:
        """One lineage of every compromised credential (the first is the root; the others hang below it).

        The plan walks it: ``ircreds.containment.plan_scope`` builds the plan for the whole scope.
        """
        if not self.traces:
            raise ValueError("the scope holds no traced credential")
        first, *others = self.traces
        return replace(first, children=first.children + tuple(others))

    def compromised_frame(self) -> pd.DataFrame:
        """The compromised credentials as a frame (one row each, the JSON fields as columns)."""
        return pd.DataFrame([c.to_dict() for c in self.compromised], columns=list(_COMPROMISED_COLUMNS))

    def legitimate_frame(self) -> pd.DataFrame:
        """The legitimate look-alikes as a frame (``access_key_id``, ``principal_arn``, ``why``, …)."""
        return pd.DataFrame(
            [c.to_dict() for c in self.legitimate],
            columns=["access_key_id", "principal_arn", "why", "kind", "account_id"],
        )

    def to_dict(self, plan: Any = None) -> dict[str, Any]:
        """The JSON contract of ``ircreds scope --json`` (``plan``: a Plan, or its dict, or None)."""
        plan_doc = plan.to_dict() if hasattr(plan, "to_dict") else plan
        return {
            "seeds": self.seeds,
            "compromised": [c.to_dict() for c in self.compromised],
            "legitimate": [c.to_dict() for c in self.legitimate],
            "attacker": {"ips": list(self.attacker_ips), "user_agents": list(self.attacker_user_agents)},
            "first_malicious_event_id": self.first_malicious_event_id,
            "first_malicious_time": iso_z(self.first_malicious_time),
            "timeline": _timeline_records(self.timeline),
            "plan": plan_doc,
        }

    def verdict(self) -> str:
        """One sentence: how many credentials, principals and accounts, and since when."""
        if not self.compromised:
            return "No credential in the evidence is in the attacker's hands."
        principals = {c.principal_arn or c.access_key_id for c in self.compromised}
        accounts = self.accounts
        return (
            f"The attacker holds {_plural(len(self.compromised), 'credential')} of "
            f"{_plural(len(principals), 'principal')} in {_plural(len(accounts), 'account')} "
            f"({', '.join(accounts) or 'unknown'}), used from {_plural(len(self.attacker_ips), 'address', 'es')}; "
            f"first malicious event {self.first_malicious_event_id} at {iso_z(self.first_malicious_time)}."
        )

    def _repr_html_(self) -> str:
        from ircreds.display import table

        rows = [
            [c.access_key_id, c.principal_arn or "", c.kind, c.mode, iso_z(c.first_seen) or "", c.how]
            for c in self.compromised
        ]
        infra = ", ".join(html_text(ip) for ip in self.attacker_ips) or "none"
        agents = "".join(f"<li><code>{html_text(a)}</code></li>" for a in self.attacker_user_agents)
        return (
            f"<div class='ircreds-scope'><p><strong>{html_text(self.verdict())}</strong></p>"
            + table(rows, ["key", "principal", "kind", "mode", "first malicious", "how"])
            + f"<p>Attacker addresses: {infra}</p><p>Attacker user agents:</p><ul>{agents}</ul>"
            f"<p>{len(self.legitimate)} legitimate credentials share a role, principal or address "
            "with the scope (<code>scope.legitimate</code>).</p></div>"
        )

    def __repr__(self) -> str:
        return f"Scope({self.verdict()})"


def _plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{suffix}"


def _timeline_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append(
            {k: (iso_z(v.to_pydatetime()) if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
        )
    return out


# ---------------------------------------------------------------------------------------------------


def pivot(
    events: pd.DataFrame,
    *,
    ip: str | Iterable[str] | None = None,
    user_agent: str | Iterable[str] | None = None,
    key: str | Iterable[str] | None = None,
    principal: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """The events matching every criterion given (each one value or several, any of which matches).

    ``user_agent`` matches with or without S3's brackets; ``principal`` matches ``userIdentity.arn``, the
    session issuer's ARN, the user name, or the principal behind the signing key (the user, federated
    subject or instance, as ``scope`` sees it).

    Example:
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"eventTime": pd.to_datetime(["2025-01-20T11:02:13Z"] * 2, utc=True),
        ...                       "sourceIPAddress": ["203.0.113.45", "198.51.100.23"]})
        >>> len(pivot(frame, ip="203.0.113.45"))
        1
    """

    def many(value: str | Iterable[str] | None) -> list[str] | None:
        if value is None:
            return None
        return [value] if isinstance(value, str) else [str(v) for v in value]

    mask = pd.Series(True, index=events.index)

    def column(name: str) -> pd.Series:
        if name in events.columns:
            return events[name].astype("string")
        return pd.Series(pd.NA, index=events.index, dtype="string")

    ips, agents, keys, principals = many(ip), many(user_agent), many(key), many(principal)
    if ips is not None:
        mask &= column("sourceIPAddress").isin(ips).fillna(False)
    if agents is not None:
        wanted = {_ua(a) for a in agents}
        mask &= column("userAgent").str.strip("[]").isin(sorted(wanted)).fillna(False)
    if keys is not None:
        mask &= column("userIdentity.accessKeyId").isin(keys).fillna(False)
    if principals is not None:
        hit = pd.Series(False, index=events.index)
        for name in (
            "userIdentity.arn",
            "userIdentity.sessionContext.sessionIssuer.arn",
            "userIdentity.userName",
        ):
            hit |= column(name).isin(principals).fillna(False)
        if len(events) and "userIdentity.accessKeyId" in events.columns:
            owners = principal_of_keys(lineage_index(events))
            theirs = [k for k, p in owners.items() if p in principals]
            hit |= column("userIdentity.accessKeyId").isin(theirs).fillna(False)
        mask &= hit
    return events.loc[mask.to_numpy(dtype=bool)]


def credentials_overview(events: pd.DataFrame, *, findings: bool = True) -> pd.DataFrame:
    """The sessions table plus, per credential, its source IPs and (``findings``) how many findings fire on it.

    Adds ``source_ips`` (a tuple, first used first), ``findings`` (count) and ``high_findings`` (high or
    critical) to :func:`ircreds.sessions`' columns (``account_id`` is already there).

    Example:
        >>> import pandas as pd
        >>> credentials_overview(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})).columns[-3:].tolist()
        ['source_ips', 'findings', 'high_findings']
    """
    from ircreds.model import Severity

    index = lineage_index(events)
    frame = index.sessions.copy()
    codes, values = index.codes.get("sourceIPAddress", (np.zeros(0, dtype=np.int64), []))
    ips_col, counts, highs = [], [], []
    for k in frame["access_key_id"].astype(str):
        idx = index.calls_by_key.get(k)
        if idx is None or not len(codes):
            ips_col.append(())
        else:
            order = dict.fromkeys(int(c) for c in codes[idx] if c >= 0)
            ips_col.append(tuple(values[c] for c in order))
        n = high = 0
        if findings and idx is not None and len(idx):
            from ircreds.findings import run_findings
            from ircreds.tracer import trace

            for f in run_findings(trace(events, k)):
                n += 1
                high += int(f.severity >= Severity.HIGH)
        counts.append(n)
        highs.append(high)
    frame["source_ips"] = pd.Series(ips_col, index=frame.index, dtype=object)
    frame["findings"] = pd.Series(counts, index=frame.index, dtype="int64")
    frame["high_findings"] = pd.Series(highs, index=frame.index, dtype="int64")
    return frame


def scope(
    events: pd.DataFrame,
    key: str | Iterable[str] | None = None,
    *,
    ips: Iterable[str] = (),
    user_agents: Iterable[str] = (),
    principals: Iterable[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    findings: bool = False,
    sigma: Any = None,
    sigma_level: str = "high",
    tracer: Callable[[str, bool], Trace] | None = None,
) -> Scope:
    """Every credential the attacker holds, expanded from the seeds to a fixpoint.

    Args:
        events: the events frame of ``ircreds.load``.
        key: the alerted access key id (or several).
        ips: attacker source IPs known from the alert (GuardDuty, a WAF, a SIEM).
        user_agents: attacker user agents known from the alert.
        principals: principal ARNs (an IAM user, an assumed-role session ARN) known to be compromised.
        start: ignore calls before this time (timezone-aware).
        end: ignore calls after this time (timezone-aware).
        findings: run the findings on every compromised credential's trace (slower).
        sigma: a :class:`ircreds.hunting.Hunt` of the same events: the keys that signed calls its rules
            at or above ``sigma_level`` matched are seeds too.
        sigma_level: the Sigma level that makes a hit a seed (default ``high``).
        tracer: ``tracer(key, findings)`` traces one compromised credential for :attr:`Scope.traces`
            (default: :func:`ircreds.trace` over ``events``). A case store passes its own, which reads
            the lineage's full rows while ``events`` need only hold what the expansion reads.

    Raises:
        SessionNotFoundError: a seed key is not in the evidence.
        ValueError: no seed was given, or a naive time.
    """
    keys = [key] if isinstance(key, str) else list(key or ())
    keys = [k.strip() for k in keys if k and k.strip()]
    if sigma is not None:  # community detections as seeds (the hunt's keys, most severe rules first)
        keys += [k for k in sigma.seed_keys(sigma_level) if k not in keys]
    ips, user_agents, principals = list(ips), list(user_agents), list(principals)
    if not (keys or ips or user_agents or principals):
        raise ValueError("scope needs at least one seed: key=, ips=, user_agents= or principals=")
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    index = lineage_index(events)
    for k in keys:
        if k not in index.rows_by_key:
            raise SessionNotFoundError(
                f"no credential {k} in {index.events_len:,} events spanning {iso_z(index.start)}–{iso_z(index.end)} "
                f"(accounts {', '.join(index.accounts) or 'none'}); neither an issuing event nor a call uses it: "
                "load logs from other days, regions or accounts, or check the key for typos"
            )
    expander = _Expander(events, index, start, end, tracer)
    return expander.run(keys, ips, user_agents, principals, findings=findings)


class _Expander:
    def __init__(
        self,
        events: pd.DataFrame,
        index: LineageIndex,
        start: datetime | None,
        end: datetime | None,
        tracer: Callable[[str, bool], Trace] | None = None,
    ):
        self.events = events
        self.tracer = tracer
        self.index = index
        self.rows: dict[str, dict[str, Any]] = {}
        for row in index.sessions.to_dict("records"):
            self.rows.setdefault(str(row["access_key_id"]), row)
        n = index.events_len
        self.times = index.times_ns if index.times_ns is not None else np.zeros(0, dtype="datetime64[ns]")
        self.ip_codes, self.ip_values = index.codes.get("sourceIPAddress", (np.full(n, -1), []))
        ua_codes, ua_values = index.codes.get("userAgent", (np.full(n, -1), []))
        # S3 writes user agents inside brackets ("[aws-cli/2 ...]"): one client, one code
        plain = [_ua(v) for v in ua_values]
        self.ua_values = list(dict.fromkeys(plain))
        remap = np.array([self.ua_values.index(v) for v in plain] + [-1], dtype=np.int64)
        self.ua_codes = remap[ua_codes] if len(ua_codes) else ua_codes
        self.event_ids = _Strings(events, "eventID")
        self.has_vpce = _present(events, "vpcEndpointId")
        self.window = np.ones(n, dtype=bool)
        if start is not None:
            self.window &= self.times >= np.datetime64(
                pd.Timestamp(start).tz_convert("UTC").tz_localize(None)
            )
        if end is not None:
            self.window &= self.times <= np.datetime64(pd.Timestamp(end).tz_convert("UTC").tz_localize(None))
        # which IP codes are "external" (a public address, not an AWS service name, no VPC endpoint)
        self.external_ip = np.array([is_public_ip(v) for v in self.ip_values], dtype=bool)
        self.principal = principal_of_keys(index)
        self.keys_of_principal = keys_of_principals(index)
        self._keys_by_ip: dict[int, list[str]] | None = None
        self._keys_by_ua: dict[int, list[str]] | None = None
        self._baselines: dict[tuple[str, np.datetime64], tuple[set[int], set[int]]] = {}

    # -- calls -------------------------------------------------------------------------------------
    def calls(self, key: str) -> np.ndarray:
        idx = self.index.calls_by_key.get(key)
        if idx is None:
            return np.zeros(0, dtype=np.int64)
        return idx[self.window[idx]]

    def keys_by_ip(self) -> dict[int, list[tuple[str, np.datetime64]]]:
        """For each IP code, the keys that used it and when each first did."""
        if self._keys_by_ip is None:
            self._keys_by_ip, self._keys_by_ua = {}, {}
            for k, idx in self.index.calls_by_key.items():
                codes = self.ip_codes[idx]
                order = np.argsort(codes, kind="stable")
                uniq, starts = np.unique(codes[order], return_index=True)
                firsts = np.minimum.reduceat(self.times[idx][order], starts) if len(idx) else []
                for c, t in zip(uniq, firsts, strict=True):
                    self._keys_by_ip.setdefault(int(c), []).append((k, t))
                for c in np.unique(self.ua_codes[idx]):
                    self._keys_by_ua.setdefault(int(c), []).append(k)
        return self._keys_by_ip

    def keys_by_ua(self) -> dict[int, list[str]]:
        self.keys_by_ip()
        assert self._keys_by_ua is not None
        return self._keys_by_ua

    def baseline(self, principal: str, before: np.datetime64) -> tuple[set[int], set[int]]:
        """IP and user-agent codes the principal used before ``before`` (its calls and its issuing calls)."""
        memo = self._baselines.get((principal, before))
        if memo is None:
            memo = self._baseline(principal, before)
            self._baselines[(principal, before)] = memo
        return set(memo[0]), set(memo[1])

    def _baseline(self, principal: str, before: np.datetime64) -> tuple[set[int], set[int]]:
        keys = self.keys_of_principal.get(principal, ())
        ips: set[int] = set()
        uas: set[int] = set()
        parts = [self.calls(k) for k in keys]
        if parts:
            idx = np.concatenate(parts)
            early = idx[self.times[idx] < before] if len(idx) else idx
            ips.update(int(c) for c in np.unique(self.ip_codes[early]) if c >= 0)
            uas.update(int(c) for c in np.unique(self.ua_codes[early]) if c >= 0)
        for k in keys:
            row = self.rows.get(k) or {}
            issued = row.get("issued_at")
            if issued is not None and not pd.isna(issued) and np.datetime64(_naive(issued)) < before:
                ip = self.ip_code(_s(row.get("issuer_source_ip")))
                if ip is not None:
                    ips.add(ip)
        return ips, uas

    def ip_code(self, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return self.ip_values.index(value)
        except ValueError:
            return None

    def owner_ips(self, key: str, t0: np.datetime64, first_before: np.datetime64 | None = None) -> set[int]:
        """The addresses the credential's rightful owner uses: its principal's baseline before ``t0``,
        the issuing call's address, and (for a principal with no history) the address of its first call.
        """
        principal = self.principal.get(key, key)
        ips, _ = self.baseline(principal, t0)
        row = self.rows.get(key) or {}
        issuer_ip = self.ip_code(_s(row.get("issuer_source_ip")))
        if issuer_ip is not None:
            ips.add(issuer_ip)
        idx = self.calls(key)
        if len(idx) and not any(self.external_ip[c] for c in ips if c >= 0):
            first = int(idx[np.argmin(self.times[idx])])
            if self.times[first] < (t0 if first_before is None else first_before):
                ips.add(int(self.ip_codes[first]))
        return ips

    def malicious_positions(self, key: str, mode: str, owner: set[int], attacker_ips: set[int]) -> np.ndarray:
        idx = self.calls(key)
        if mode == ATTACKER_MADE or not len(idx):
            return idx
        codes = self.ip_codes[idx]
        external = np.where(codes >= 0, self.external_ip[np.maximum(codes, 0)], False)
        no_vpce = ~self.has_vpce[idx]
        not_owner = ~np.isin(codes, list(owner)) if owner else np.ones(len(idx), dtype=bool)
        from_attacker = np.isin(codes, list(attacker_ips)) if attacker_ips else np.zeros(len(idx), dtype=bool)
        return idx[(external & no_vpce & not_owner) | (from_attacker & not_owner)]

    # -- the fixpoint ------------------------------------------------------------------------------
    def run(
        self, keys: list[str], ips: list[str], uas: list[str], principals: list[str], *, findings: bool
    ) -> Scope:
        found: dict[str, dict[str, Any]] = {}
        attacker_ips: set[int] = {c for c in (self.ip_code(ip) for ip in ips) if c is not None}
        attacker_uas: set[int] = {c for c in (self._ua_code(ua) for ua in uas) if c is not None}
        for k in keys:
            found[k] = {
                "mode": STOLEN,
                "how": f"{k} is the alerted credential (seed)",
                "linked": (),
                "from": None,
            }
        for p in principals:
            for k, row in self.rows.items():
                if p in (_s(row.get("principal_arn")), self.principal.get(k)) and k not in found:
                    found[k] = {
                        "mode": STOLEN,
                        "how": f"a credential of {p}, named as a seed",
                        "linked": (),
                        "from": None,
                    }
        t0 = _NEVER
        malicious: dict[str, np.ndarray] = {}
        for _round in range(64):
            before = (len(found), len(attacker_ips), len(attacker_uas), t0)
            for k, info in list(found.items()):
                # the owner's baseline ends where the attacker starts; before any is known, at the issue
                bound = t0 if t0 != _NEVER else self._own_start(k)
                owner = set() if info["mode"] == ATTACKER_MADE else self.owner_ips(k, bound, t0)
                info["owner"] = {c for c in owner if c not in attacker_ips or self._owner_client_at(k, c)}
                malicious[k] = self.malicious_positions(k, info["mode"], info["owner"], attacker_ips)
            times = [self.times[m].min() for m in malicious.values() if len(m)]
            t0 = min([t0, *times])
            # 2. infrastructure
            for pos in malicious.values():
                for c in np.unique(self.ip_codes[pos]):
                    if c >= 0 and self.external_ip[c]:
                        attacker_ips.add(int(c))
                for c in np.unique(self.ua_codes[pos]):
                    if c >= 0:
                        attacker_uas.add(int(c))
            # 1. lineage: children the attacker made
            for k in list(found):
                for child in self.index.children_by_key.get(k, ()):
                    if child not in self.rows or (child in found and found[child]["mode"] != STOLEN):
                        continue
                    if child in keys or (child in found and found[child].get("from") is None):
                        continue
                    why = self._made_by_attacker(child, k, found[k], malicious[k], attacker_ips)
                    if why is not None:
                        found[child] = {"mode": ATTACKER_MADE, "how": why[0], "linked": why[1], "from": k}
            # 3. pivot on the attacker's addresses (and on the seed user agents)
            by_ip = self.keys_by_ip()
            for c in sorted(attacker_ips):
                users = by_ip.get(c, ())
                shared = any(k not in found and t < t0 for k, t in users)
                for k, _t in users:
                    if k not in found:
                        hit = self._pivot(k, c, shared, found)
                        if hit is not None:
                            found[k] = hit
            for c in sorted(self._seed_uas(uas)):
                for k in self.keys_by_ua().get(c, ()):
                    if k not in found:
                        hit = self._pivot_ua(k, c, t0)
                        if hit is not None:
                            found[k] = hit
            if (len(found), len(attacker_ips), len(attacker_uas), t0) == before:
                break
        return self._result(
            keys, ips, uas, principals, found, malicious, attacker_ips, attacker_uas, t0, findings
        )

    def _own_clients(self, key: str, ip: int) -> set[int]:
        """The user agents the credential's principal uses: those of its calls from its other addresses,
        or, when it never calls from elsewhere, the one of its first call from ``ip`` (the owner came first).
        """
        principal = self.principal.get(key, key)
        elsewhere: set[int] = set()
        first: tuple[np.datetime64, int] | None = None
        for k in self.keys_of_principal.get(principal, ()):
            pos = self.calls(k)
            at = self.ip_codes[pos] == ip
            elsewhere.update(int(c) for c in np.unique(self.ua_codes[pos[~at]]))
            here = pos[at]
            if len(here):
                i = int(here[np.argmin(self.times[here])])
                if first is None or self.times[i] < first[0]:
                    first = (self.times[i], int(self.ua_codes[i]))
        if elsewhere or first is None:
            return elsewhere
        return {first[1]}

    def _owner_client_at(self, key: str, ip: int) -> bool:
        """Did the credential's principal use ``ip`` with its own client (a shared address, not the attacker's)?"""
        principal = self.principal.get(key, key)
        own = self._own_clients(key, ip)
        for k in self.keys_of_principal.get(principal, ()):
            pos = self.calls(k)
            if np.isin(self.ua_codes[pos[self.ip_codes[pos] == ip]], list(own)).any():
                return True
        return False

    def _own_start(self, key: str) -> np.datetime64:
        row = self.rows.get(key) or {}
        for name in ("issued_at", "first_used"):
            value = row.get(name)
            if value is not None and not pd.isna(value):
                return np.datetime64(_naive(value))
        return _NEVER

    def _ua_code(self, value: str) -> int | None:
        try:
            return self.ua_values.index(_ua(value))
        except ValueError:
            return None

    def _seed_uas(self, uas: list[str]) -> set[int]:
        return {c for c in (self._ua_code(u) for u in uas) if c is not None}

    def _made_by_attacker(
        self, child: str, parent: str, info: dict[str, Any], parent_bad: np.ndarray, attacker_ips: set[int]
    ) -> tuple[str, tuple[str, ...]] | None:
        row = self.rows[child]
        issuing = tuple(str(e) for e in (row.get("issuing_event_ids") or ()))
        kind = _s(row.get("kind")) or "credential"
        if info["mode"] == ATTACKER_MADE:
            return f"{kind} issued by {parent}, a credential the attacker made", issuing
        bad_ids = {self.event_ids[i] for i in parent_bad}
        if any(e in bad_ids for e in issuing):
            return f"{kind} issued by {parent} in a malicious call", issuing
        ip = self.ip_code(_s(row.get("issuer_source_ip")))
        if ip is not None and ip in attacker_ips and ip not in info.get("owner", set()):
            return f"{kind} issued by {parent} from attacker address {self.ip_values[ip]}", issuing
        return None

    def _pivot(self, key: str, ip: int, shared: bool, found: dict[str, Any]) -> dict[str, Any] | None:
        """``key`` used attacker address ``ip``: compromised unless that is its owner's place and client.

        An address nobody outside the scope used before the compromise is the attacker's alone. One the
        organisation also used (a shared egress, a CI pool) links a credential only through a call with a
        client its principal never used from its other addresses.
        """
        idx = self.calls(key)
        sel = idx[self.ip_codes[idx] == ip]
        if not len(sel):
            return None
        row = self.rows.get(key) or {}
        if self.ip_code(_s(row.get("issuer_source_ip"))) == ip:
            shared = True  # the credential was issued from there: the owner was there too
        if shared:
            own_uas = self._own_clients(key, ip)
            sel = sel[~np.isin(self.ua_codes[sel], list(own_uas))]
            if not len(sel):
                return None
        first = int(sel[np.argmin(self.times[sel])])
        src = self._first_user_of(ip, found)
        when = iso_z(pd.Timestamp(self.times[first], tz="UTC").to_pydatetime())
        how = f"used from {self.ip_values[ip]} at {when}, an address the attacker used with {src}"
        if shared:
            how += f" (with a client its owner never used: {self.ua_values[self.ua_codes[first]]})"
        return {"mode": STOLEN, "how": how, "linked": (self.event_ids[first],), "from": src}

    def _pivot_ua(self, key: str, ua: int, t0: np.datetime64) -> dict[str, Any] | None:
        idx = self.calls(key)
        sel = idx[self.ua_codes[idx] == ua]
        owner = self.owner_ips(key, t0)
        sel = sel[~np.isin(self.ip_codes[sel], list(owner))] if owner else sel
        if not len(sel):
            return None
        first = int(sel[np.argmin(self.times[sel])])
        when = iso_z(pd.Timestamp(self.times[first], tz="UTC").to_pydatetime())
        how = f"used the attacker's user agent (a seed) from {self.ip_values[self.ip_codes[first]]} at {when}"
        return {"mode": STOLEN, "how": how, "linked": (self.event_ids[first],), "from": None}

    def _first_user_of(self, ip: int, found: dict[str, Any]) -> str | None:
        best: tuple[np.datetime64, str] | None = None
        for k in found:
            idx = self.calls(k)
            sel = idx[self.ip_codes[idx] == ip]
            if len(sel):
                t = self.times[sel].min()
                if best is None or t < best[0]:
                    best = (t, k)
        return best[1] if best else None

    # -- the result --------------------------------------------------------------------------------
    def _result(
        self,
        keys: list[str],
        ips: list[str],
        uas: list[str],
        principals: list[str],
        found: dict[str, dict[str, Any]],
        malicious: dict[str, np.ndarray],
        attacker_ips: set[int],
        attacker_uas: set[int],
        t0: np.datetime64,
        findings: bool,
    ) -> Scope:
        compromised: list[CompromisedCredential] = []
        events_rows: list[dict[str, Any]] = []
        all_bad: set[str] = set()
        for k, info in found.items():
            row = self.rows.get(k) or {}
            pos = malicious.get(k, np.zeros(0, dtype=np.int64))
            pos = pos[np.argsort(self.times[pos], kind="stable")]
            first = int(pos[0]) if len(pos) else None
            all_bad.update(self.event_ids[i] for i in pos if self.event_ids[i])
            mode = SEED if k in keys else info["mode"]
            compromised.append(
                CompromisedCredential(
                    access_key_id=k,
                    principal_arn=_s(row.get("principal_arn")),
                    kind=_s(row.get("kind")) or "Observed",
                    mode=info["mode"] if mode != SEED else STOLEN,
                    how=info["how"],
                    linked_by_event_ids=tuple(e for e in info["linked"] if e),
                    first_malicious_event_id=self.event_ids[first] if first is not None else None,
                    first_seen=_dt(self.times[first]) if first is not None else None,
                    last_seen=_dt(self.times[pos[-1]]) if len(pos) else None,
                    account_id=_s(row.get("account_id")),
                    role_arn=_s(row.get("role_arn")),
                    linked_from=info.get("from"),
                    malicious_calls=len(pos),
                )
            )
            for label, p, ids in (
                ("issued", None, tuple(str(e) for e in (row.get("issuing_event_ids") or ()))),
                ("first malicious call", first, ()),
                ("last malicious call", int(pos[-1]) if len(pos) > 1 else None, ()),
            ):
                if label == "issued" and info["mode"] == ATTACKER_MADE and ids and _s(row.get("issued_at")):
                    events_rows.append(
                        {
                            "time": pd.Timestamp(row["issued_at"]),
                            "event_id": ids[0],
                            "access_key_id": k,
                            "what": f"issued: {info['how']}",
                            "source_ip": _s(row.get("issuer_source_ip")),
                        }
                    )
                elif p is not None:
                    events_rows.append(
                        {
                            "time": pd.Timestamp(self.times[p], tz="UTC"),
                            "event_id": self.event_ids[p],
                            "access_key_id": k,
                            "what": label + ("" if label != "first malicious call" else f" ({info['how']})"),
                            "source_ip": self.ip_values[self.ip_codes[p]] if self.ip_codes[p] >= 0 else None,
                        }
                    )
        compromised.sort(key=lambda c: (c.first_seen is None, iso_z(c.first_seen) or ""))
        firsts = [c for c in compromised if c.first_seen is not None]
        first_c = min(firsts, key=lambda c: c.first_seen) if firsts else None  # type: ignore[arg-type,return-value]
        timeline = pd.DataFrame(
            events_rows, columns=["time", "event_id", "access_key_id", "what", "source_ip"]
        )
        if len(timeline):
            timeline = timeline.sort_values("time", kind="stable", ignore_index=True)
        traces = self._traces(found, findings, all_bad)
        return Scope(
            seeds={"keys": keys, "ips": ips, "user_agents": uas, "principals": principals},
            compromised=tuple(compromised),
            legitimate=tuple(sorted(self._legitimate(found, attacker_ips, t0), key=_legit_order)),
            attacker_ips=tuple(sorted(self.ip_values[c] for c in attacker_ips)),
            attacker_user_agents=tuple(sorted(self.ua_values[c] for c in attacker_uas)),
            first_malicious_event_id=first_c.first_malicious_event_id if first_c else None,
            first_malicious_time=first_c.first_seen if first_c else None,
            timeline=timeline,
            traces=traces,
            malicious_event_ids=frozenset(all_bad),
        )

    def _traces(self, found: dict[str, Any], findings: bool, bad: set[str]) -> tuple[Trace, ...]:
        from ircreds.findings import trace

        tops = [
            k
            for k, info in found.items()
            if not (info.get("from") in found and info["mode"] == ATTACKER_MADE)
        ]
        out = []
        for k in tops:
            try:
                t = (
                    trace(self.events, k, findings=findings)
                    if self.tracer is None
                    else self.tracer(k, findings)
                )
            except SessionNotFoundError:  # pragma: no cover - every found key has a row
                continue
            stolen = {k for k, info in found.items() if info["mode"] != ATTACKER_MADE}
            out.append(_prune(t, set(found), stolen, bad))
        return tuple(out)

    def _legitimate(
        self, found: dict[str, Any], attacker_ips: set[int], t0: np.datetime64
    ) -> Iterator[LegitimateCredential]:
        roles = {_s((self.rows.get(k) or {}).get("role_arn")) for k in found} - {None}
        principals = {self.principal.get(k) for k in found if found[k]["mode"] != ATTACKER_MADE}
        upstream = {_s((self.rows.get(k) or {}).get("parent_key")) for k in found} - {None}
        by_ip = self.keys_by_ip()
        shared_ip: dict[str, int] = {}
        for c in attacker_ips:
            for k, _t in by_ip.get(c, ()):
                shared_ip.setdefault(k, c)
        seen: set[str] = set()
        for k, row in self.rows.items():
            if k in found or k in seen:
                continue
            reasons = []
            if k in upstream:
                reasons.append(
                    "issued a compromised credential before the compromise (the upstream identity)"
                )
            if k in shared_ip:
                ip = self.ip_values[shared_ip[k]]
                reasons.append(f"used {ip}, but from its own principal's usual address or client")
            role = _s(row.get("role_arn"))
            if role in roles:
                reasons.append(f"a session of {role.rsplit('/', 1)[-1]} issued to its usual owner")
            if self.principal.get(k) in principals:
                reasons.append("another credential of a compromised principal")
            if not reasons:
                continue
            seen.add(k)
            owner = self.owner_ips(k, t0)
            places = ", ".join(sorted(self.ip_values[c] for c in owner if c >= 0)[:4]) or "AWS addresses"
            why = (
                "; ".join(reasons) + f"; no call from attacker infrastructure outside its baseline ({places})"
            )
            yield LegitimateCredential(
                access_key_id=k,
                principal_arn=_s(row.get("principal_arn")),
                why=why,
                kind=_s(row.get("kind")),
                account_id=_s(row.get("account_id")),
            )


def _legit_order(c: LegitimateCredential) -> int:
    """The upstream identity first, then look-alikes on the attacker's addresses, then the rest."""
    for rank, word in enumerate(("upstream", "used ", "compromised principal")):
        if word in c.why:
            return rank
    return 3


def _ua(agent: str) -> str:
    return agent[1:-1] if agent.startswith("[") and agent.endswith("]") else agent


def _prune(node: Trace, keep: set[str], stolen: set[str], bad: set[str]) -> Trace:
    """The lineage with only the compromised credentials; a stolen one keeps only the attacker's calls."""
    children = tuple(_prune(c, keep, stolen, bad) for c in node.children if c.key in keep)
    calls = node.calls
    if node.key in stolen and "eventID" in calls.columns:
        calls = calls.loc[calls["eventID"].isin(sorted(bad)).to_numpy(dtype=bool)].reset_index(drop=True)
    return replace(node, children=children, calls=calls)


class _Strings:
    """A string column read by position on demand (``None`` for missing or empty), never copied whole."""

    def __init__(self, events: pd.DataFrame, name: str) -> None:
        self._values = events[name] if name in events.columns else None

    def __getitem__(self, pos: int | np.integer) -> str | None:
        if self._values is None:
            return None
        v = self._values.iat[int(pos)]
        return v if isinstance(v, str) and v else None


def _present(events: pd.DataFrame, name: str) -> np.ndarray:
    """Which rows hold a non-empty string in the column (all False when it is missing)."""
    if name not in events.columns:
        return np.zeros(len(events), dtype=bool)
    text = events[name].astype("string")
    return (text.notna() & (text != "")).fillna(False).to_numpy(dtype=bool)


def _s(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value) or None


def _naive(value: Any) -> Any:
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


def _dt(value: np.datetime64) -> datetime:
    return pd.Timestamp(value, tz="UTC").to_pydatetime()
