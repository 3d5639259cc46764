"""``ircreds scope PATH... --key K [--ip IP ...] [--user-agent UA ...] [--json]``.

From the alert's seeds to every credential the attacker holds (``ircreds.scope``), with one plan for
the whole scope (``ircreds.containment.plan_scope``). ``--json`` prints the contract
``{"seeds", "compromised", "legitimate", "attacker", "first_malicious_event_id",
"first_malicious_time", "timeline", "plan"}`` (add, never rename).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from ircreds.cli import _athena
from ircreds.cli._evidence import case_of, load_events
from ircreds.cli._io import echo, echo_json, iso_z, table
from ircreds.cli.hunt import add_sigma_option, hunt_for, print_rule_hits
from ircreds.clock import utc_now
from ircreds.escape import term
from ircreds.schema import concat_events


def _time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it as 2025-01-20T12:00:00Z")
    return value.astimezone(UTC)


def register(subparsers: Any) -> None:
    """Add the ``scope`` subcommand."""
    p = subparsers.add_parser(
        "scope",
        help="from one alert to every credential the attacker holds, with one plan for all",
        description=(
            "Expand from the alert (a key, IPs, user agents, principals) to a fixpoint: the lineage of every "
            "compromised credential, the attacker's addresses and clients (not the owners' baselines), and "
            "every other credential used from them. Each compromised credential says why; look-alikes that "
            "are legitimate are listed apart. The plan covers every role and user involved, in every account."
        ),
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="CloudTrail files, folders or globs, or one case store (ircreds index); none with --engine athena",
    )
    p.add_argument("--key", action="append", default=[], help="the alerted access key id (repeatable)")
    p.add_argument(
        "--ip", action="append", default=[], help="an attacker source IP from the alert (repeatable)"
    )
    p.add_argument(
        "--user-agent", action="append", default=[], help="an attacker user agent from the alert (repeatable)"
    )
    p.add_argument(
        "--principal",
        action="append",
        default=[],
        metavar="ARN",
        help="a compromised principal ARN (repeatable)",
    )
    p.add_argument(
        "--start",
        type=_time,
        metavar="T",
        help="ignore calls before T (ISO 8601 with zone); with --engine athena, its day is the first read",
    )
    p.add_argument(
        "--end",
        type=_time,
        metavar="T",
        help="ignore calls after T (ISO 8601 with zone); with --engine athena, its day is the last read",
    )
    p.add_argument("--cutoff", type=_time, metavar="T", help="the plan's cut-off (default: recommended)")
    p.add_argument("--now", type=_time, metavar="T", help="pretend it is T (replaying an old incident)")
    p.add_argument("--no-plan", action="store_true", help="skip the plan (its JSON field is null)")
    p.add_argument("--json", action="store_true", help="print the scope as one JSON object")
    p.add_argument("--no-validate", action="store_true", help="skip the digest validation of local evidence")
    add_sigma_option(
        p, "the scope's malicious calls, and seed the scope with the keys behind hits at --sigma-level"
    )
    _athena.add_options(p, days=False)
    p.set_defaults(func=run_scope)


def run_scope(args: argparse.Namespace) -> int:
    """Load, scope, plan and print."""
    import ircreds
    from ircreds.containment import plan_scope

    if not (args.key or args.ip or args.user_agent or args.principal or args.sigma):
        raise ircreds.IrcredsError(
            "scope needs a seed: --key K, --ip IP, --user-agent UA, --principal ARN or --sigma DIR"
        )
    seeds = {
        "key": args.key,
        "ips": args.ip,
        "user_agents": args.user_agent,
        "principals": args.principal,
        "start": args.start,
        "end": args.end,
    }
    if args.engine == "athena":
        return _run_athena(args, seeds)
    if not args.paths:
        raise ircreds.IrcredsError("scope needs PATH... (evidence or a case store), or --engine athena")
    case = None if args.sigma else case_of(args.paths)
    if case is not None:  # pushed down: the expansion reads only what it needs, traces read the lineage
        with case:
            sc = case.scope(**seeds)
            p = None
            if not args.no_plan and sc.compromised:
                p = plan_scope(
                    sc,
                    args.cutoff,
                    now=args.now or utc_now(),
                    # the malicious calls (resource grants to undo) and the evidence's last instant
                    events=concat_events(
                        [case.rows_with_ids(sc.malicious_event_ids), case.evidence_end_events()]
                    ),
                    sessions=case.sessions(),
                )
        hunted = None
    else:  # files (or --sigma, which hunts over the whole frame)
        events = load_events(args.paths)
        hunted = hunt_for(args, events)
        only_sigma = not (args.key or args.ip or args.user_agent or args.principal)
        if hunted is not None and only_sigma and not hunted.seed_keys(args.sigma_level):
            raise ircreds.IrcredsError(
                f"no Sigma rule at or above {args.sigma_level} matched a call signed by a key: no seed for the "
                "scope; give --key, --ip, --user-agent or --principal, or a lower --sigma-level"
            )
        sc = ircreds.scope(events, sigma=hunted, sigma_level=args.sigma_level, **seeds)
        p = None
        if not args.no_plan and sc.compromised:
            p = plan_scope(sc, args.cutoff, now=args.now or utc_now(), events=events)
    integrity = None if args.no_validate else _integrity(args.paths)
    if args.json:
        doc = sc.to_dict(p)
        if hunted is not None:
            doc["sigma_hits"] = hunted.on_events(sc.malicious_event_ids)
        doc["evidence_integrity"] = integrity
        echo_json(doc)
        return 0
    print_scope(sc, p)
    if hunted is not None:
        print_rule_hits(hunted.on_events(sc.malicious_event_ids))
    if integrity is not None:
        echo()
        echo(
            f"evidence: digest validation {integrity['status']}, {integrity['problems_total']} problem(s)"
            + ("" if integrity["ok"] else " (ircreds validate-logs lists them)")
        )
    return 0


def _run_athena(args: argparse.Namespace, seeds: dict[str, Any]) -> int:
    """The rows the scope needs from the Athena table, round by round; then the same scope as on local evidence."""
    import ircreds
    from ircreds.containment import plan_scope
    from ircreds.engines import athena

    if args.sigma:
        raise ircreds.IrcredsError("--sigma hunts local evidence or a case store, not --engine athena")
    if args.start is None or args.end is None:
        raise ircreds.IrcredsError(
            "--engine athena needs --start and --end: their days are the only partitions the queries read"
        )
    window = _athena.window(args, start=args.start.date().isoformat(), end=args.end.date().isoformat())
    found = athena.scope_rows(
        _athena.client(args),
        window,
        **_athena.where(args),
        keys=seeds["key"],
        ips=seeds["ips"],
        user_agents=seeds["user_agents"],
        principals=seeds["principals"],
    )
    sc = ircreds.scope(found.events, **seeds)
    p = None
    if not args.no_plan and sc.compromised:
        p = plan_scope(sc, args.cutoff, now=args.now or utc_now(), events=found.events)
    if args.json:
        doc = sc.to_dict(p)
        doc["athena"] = found.stats.to_dict()
        echo_json(doc)
    else:
        print_scope(sc, p)
    _athena.report_cost(found.stats)
    return 0


def _integrity(paths: list[str]) -> dict[str, Any] | None:
    """The evidence's digest validation (summary) when the paths are local files or folders."""
    from pathlib import Path

    from ircreds.integrity import validate_logs

    case = case_of(paths)
    if case is not None:  # a case store: the delivered files it was indexed from, where they still are
        with case:
            paths = case.sources()
    if (
        not paths
        or not all(Path(p).exists() for p in paths)
        or any(Path(p).suffix == ".parquet" for p in paths)
    ):
        return None
    return validate_logs(paths).summary()


def print_scope(sc: Any, p: Any = None) -> None:
    """The readable scope: verdict, compromised credentials, infrastructure, look-alikes, timeline, plan."""
    from ircreds.containment import revocations_by_account

    echo(term(sc.verdict()))
    echo()
    rows = [
        (
            c.access_key_id,
            c.kind,
            c.mode,
            term(c.principal_arn or ""),
            iso_z(c.first_seen) if c.first_seen else "",
            term(c.how),
        )
        for c in sc.compromised
    ]
    echo(table(rows, ("access_key_id", "kind", "mode", "principal", "first malicious", "how")))
    echo()
    echo(f"attacker addresses: {', '.join(sc.attacker_ips) or 'none'}")
    for agent in sc.attacker_user_agents:
        echo(f"attacker client: {term(agent)}")
    echo()
    echo(f"{len(sc.legitimate)} legitimate credential(s) share a role, principal or address with the scope:")
    for c in sc.legitimate[:10]:
        echo(f"  {c.access_key_id}  {term(c.principal_arn or '')}: {term(c.why)}")
    if len(sc.legitimate) > 10:
        echo(f"  … and {len(sc.legitimate) - 10} more (--json lists them all)")
    echo()
    echo("timeline:")
    for row in sc.timeline.to_dict("records"):
        when = iso_z(row["time"].to_pydatetime())
        echo(f"  {when}  {row['access_key_id']}  {term(row['what'])}  ({term(str(row['event_id']))})")
    if p is None:
        return
    echo()
    echo(f"plan: cut-off {iso_z(p.cutoff) if p.cutoff else 'none'}")
    for account, revs in revocations_by_account(p).items():
        echo(f"  account {account}: " + ", ".join(f"{r.target_kind} {r.target}" for r in revs))
    for u in p.uncovered:
        echo(f"  not reached by a deny: [{u.kind}] {term(u.target)}: {term(u.action)}")
