"""``ircreds trace PATH... --key KEY`` and ``ircreds sessions PATH...``.

``--json`` output is a contract other tools rely on: ``trace`` prints ``Trace.to_dict()`` (times
ISO 8601 UTC with ``Z``); ``sessions`` prints a list of session rows.
"""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from typing import Any

from ircreds.cli import _athena
from ircreds.cli._evidence import case_of
from ircreds.cli._io import echo, echo_json, table
from ircreds.cli.hunt import add_sigma_option, hunt_for, print_rule_hits
from ircreds.escape import DISPLAY_LIMIT, term
from ircreds.times import iso_z


def register(subparsers: Any) -> None:
    """Add the ``trace`` and ``sessions`` subcommands."""
    p = subparsers.add_parser(
        "trace",
        help="trace a leaked key: its issuer, lineage, calls and findings",
        description=(
            "Load the evidence and trace one credential: the event that issued it and who called it (up to "
            "the user, identity or service at the root), every call it made, every credential it issued or "
            "minted (recursively) and the findings in that activity."
        ),
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="CloudTrail files, folders or globs, or one case store (ircreds index); none with --engine athena",
    )
    p.add_argument("--key", help="the leaked access key id (ASIA… or AKIA…)")
    p.add_argument("--role", metavar="ARN", help="with --session-name: trace a role session instead of a key")
    p.add_argument("--session-name", help="the role session name (with --role)")
    p.add_argument("--json", action="store_true", help="print the trace as one JSON object")
    _athena.add_options(p)
    add_sigma_option(p, "the lineage's calls (JSON: sigma_hits)")
    p.set_defaults(func=run_trace)

    s = subparsers.add_parser(
        "sessions",
        help="list every credential issued or seen in the evidence",
        description="List the sessions table: one row per credential issued or seen, with its issuer.",
    )
    s.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="CloudTrail files, folders or globs, or one case store (ircreds index); none with --engine athena",
    )
    s.add_argument("--role", metavar="ARN", help="only sessions of this role")
    s.add_argument(
        "--no-findings",
        action="store_true",
        help="skip the per-credential finding counts (faster on big trails)",
    )
    s.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    _athena.add_options(s)
    s.set_defaults(func=run_sessions)


def run_trace(args: argparse.Namespace) -> int:
    """Load, trace and print (a readable summary, or the JSON contract with --json)."""
    import ircreds

    if not args.key and not (args.role and args.session_name):
        raise ircreds.IrcredsError("trace needs --key KEY, or --role ARN with --session-name NAME")
    if args.engine == "athena":
        return _run_athena(args)
    if not args.paths:
        raise ircreds.IrcredsError("trace needs PATH... (evidence or a case store), or --engine athena")
    case = case_of(args.paths)
    if case is not None:
        with case:
            tr = case.trace(args.key, role_arn=args.role, session_name=args.session_name)
            hunted = hunt_for(args, case)  # the rules run in the store, in place
    else:
        events = ircreds.load(*args.paths)
        tr = ircreds.trace(events, args.key, role_arn=args.role, session_name=args.session_name)
        hunted = hunt_for(args, events)
    if args.json:
        doc = tr.to_dict()
        if hunted is not None:
            doc["sigma_hits"] = hunted.on_trace(tr)
        echo_json(doc)
        return 0
    _print_trace(tr)
    if hunted is not None:
        print_rule_hits(hunted.on_trace(tr))
    return 0


def _run_athena(args: argparse.Namespace) -> int:
    """The lineage's rows from the Athena table, hop by hop; then the same trace as on local evidence."""
    import ircreds
    from ircreds.engines import athena

    window = _athena.window(args)
    if not args.key:
        raise ircreds.IrcredsError("--engine athena traces a key: give --key")
    found = athena.trace_rows(
        _athena.client(args),
        args.key,
        window,
        **_athena.where(args),
    )
    tr = ircreds.trace(found.events, args.key)
    if args.json:
        echo_json(tr.to_dict())
    else:
        _print_trace(tr)
    _athena.report_cost(found.stats)
    return 0


def run_sessions(args: argparse.Namespace) -> int:
    """Load and list the sessions table."""
    import ircreds
    from ircreds.scoping import credentials_overview

    stats = None
    if args.engine == "athena":
        frame, stats = _athena_sessions(args)
        args.no_findings = True
    elif not args.paths:
        raise ircreds.IrcredsError("sessions needs PATH... (evidence or a case store), or --engine athena")
    elif (case := case_of(args.paths)) is not None:  # a case store: the same table, computed in the store
        with case:
            frame = case.credentials_overview(findings=not args.no_findings)
    else:
        frame = credentials_overview(ircreds.load(*args.paths), findings=not args.no_findings)
    if args.role:
        frame = frame.loc[(frame["role_arn"] == args.role).fillna(False)]
    rows = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    if args.json:
        echo_json(rows)
        if stats is not None:
            _athena.report_cost(stats)
        return 0
    headers = (
        "access_key_id",
        "kind",
        "role / principal",
        "session",
        "issued_at",
        "issuer",
        "parent",
        "calls",
        "account",
        "source IPs",
        "findings (high)",
    )
    body = [
        (
            r["access_key_id"],
            r["kind"] + (" (calls only)" if r["observed_only"] else ""),
            _short(r["role_arn"] or r["principal_arn"]),
            r["session_name"] or "",
            r["issued_at"] or "",
            r["issuer_name"] or r["issuer_arn"] or "",
            r["parent_key"] or "",
            r["call_count"],
            r["account_id"] or "",
            _ips(r["source_ips"]),
            "" if args.no_findings else f"{r['findings']} ({r['high_findings']})",
        )
        for r in rows
    ]
    echo(table(body, headers))
    echo(f"{len(rows)} credential(s)")
    if stats is not None:
        echo("findings are not counted with --engine athena: trace a credential for its findings")
        _athena.report_cost(stats)
    return 0


def _athena_sessions(args: argparse.Namespace) -> tuple[Any, Any]:
    """The sessions table from the Athena table (three grouped queries; no calls come back)."""
    import pandas as pd

    from ircreds.engines import athena

    found = athena.sessions(
        _athena.client(args),
        _athena.window(args),
        **_athena.where(args),
    )
    frame = found.sessions
    frame["findings"] = pd.Series(0, index=frame.index, dtype="int64")  # as --no-findings
    frame["high_findings"] = pd.Series(0, index=frame.index, dtype="int64")
    return frame, found.stats


def _plain(value: Any) -> Any:
    """A sessions-table cell as JSON: ISO times with Z, tuples as lists, missing as null."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso_z(value) if value == value else None  # NaT != NaT
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return value


def _ips(ips: list[str] | None, limit: int = 3) -> str:
    ips = list(ips or [])
    return ", ".join(term(ip) for ip in ips[:limit]) + (f" +{len(ips) - limit}" if len(ips) > limit else "")


def _short(arn: str | None) -> str:
    if not arn:
        return ""
    return arn.split(":", 5)[-1] if arn.startswith("arn:") else arn


def _t(value: Any) -> str:
    """An attacker-written field for one terminal line: controls (and line feeds) escaped, cut to length."""
    return term("" if value is None else value, DISPLAY_LIMIT)


def _print_trace(tr: Any, indent: str = "") -> None:
    s = tr.session
    if not indent:
        echo(f"root: {tr.root.type} {_t(tr.root.name)} {_t(tr.root.arn)}".rstrip())
    what = _short(s.role_arn or s.principal_arn)
    echo(f"{indent}{_t(tr.key)}  {s.kind}  {_t(what)}  session={_t(s.session_name or '-')}")
    pad = indent + "  "
    issuer = s.issuer
    if s.observed_only:
        echo(
            f"{pad}issued: outside the evidence (sessionContext says {iso_z(s.issued_at) if s.issued_at else '?'})"
        )
    else:
        echo(f"{pad}issued: {iso_z(s.issued_at) if s.issued_at else '?'} by event {_t(s.issuing_event_id)}")
    echo(
        f"{pad}issuer: {_t(issuer.type or '?')} {_t(issuer.name or issuer.arn)} "
        f"key={_t(issuer.access_key_id or '-')} ip={_t(issuer.source_ip or '-')}"
    )
    if s.expires_at:
        echo(f"{pad}expires: {iso_z(s.expires_at)}")
    sm = tr.summary
    if sm.count:
        echo(f"{pad}calls: {sm.count} from {iso_z(sm.first)} to {iso_z(sm.last)}, {sm.error_count} errors")
        for ip, first in sm.source_ips:
            new = "  NEW (issuer never used it)" if ip in sm.new_source_ips else ""
            echo(f"{pad}  ip {_t(ip)} first at {iso_z(first)}{new}")
        echo(f"{pad}  regions: {_t(', '.join(sm.regions))}")
    else:
        echo(f"{pad}calls: none in the evidence")
    for f in tr.findings:
        echo(f"{pad}[{str(f.severity).upper()}] {f.id}: {term(f.summary, 4 * DISPLAY_LIMIT)}")
    for child in tr.children:
        _print_trace(child, indent + "    ")
