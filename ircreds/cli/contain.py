"""``ircreds policy | plan | apply | rollback | audit | sandbox``: contain a leaked credential.

``plan --json`` prints the contract ``{"cutoff", "revocations": [{"target", "arn", "policy_name",
"policy", "cuts", "survives"}], "warnings", "uncovered", ...}`` with credentials named by access key
id. ``apply`` and ``rollback`` are dry runs unless ``--yes``. The clock is read through
:mod:`ircreds.clock`, the same default as the library: ``plan`` without ``--now`` judges at the real
clock and says so (``--as-of evidence-end`` plans as of the incident instead).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ircreds.cli._evidence import case_of
from ircreds.cli._io import echo, echo_json, table, warn
from ircreds.cli._write import check_file, check_folder, write_text
from ircreds.errors import PlanError
from ircreds.escape import DISPLAY_LIMIT, term
from ircreds.times import iso_z, parse_user_time

SHOWN_SURVIVORS = 10
_RECORD_DIR_HELP = (
    "where action records go (default: $IRCREDS_RECORD_DIR, else ~/.local/share/ircreds/actions; "
    "the path is printed)"
)


def _time(text: str) -> datetime:
    """``now`` (+30 s, like the console), or ISO 8601 with a zone (``2025-01-20T12:00:00Z``)."""
    if text.strip().lower() == "now":
        from ircreds.clock import utc_now

        return utc_now() + timedelta(seconds=30)
    return _instant(text)


def _now_arg(text: str) -> datetime:
    """``--now``: ``now`` (the real clock, no margin) or ISO 8601 with a zone."""
    if text.strip().lower() == "now":
        from ircreds.clock import utc_now

        return utc_now()
    return _instant(text)


def _instant(text: str) -> datetime:
    try:
        return parse_user_time(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_target(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--profile", help="an AWS profile (the account to change)")
    where.add_argument(
        "--endpoint-url", metavar="URL", help="a sandbox endpoint printed by `ircreds sandbox`"
    )


def register(subparsers: Any) -> None:
    """Add the containment subcommands."""
    p = subparsers.add_parser(
        "policy",
        help="print the cut-off deny (AWSRevokeOlderSessions) or a narrower deny",
        description="Print the policy document the IAM console's 'Revoke active sessions' attaches, for a cut-off.",
    )
    p.add_argument(
        "--cutoff", type=_time, required=True, metavar="T", help="ISO 8601 with zone, or 'now' (+30 s)"
    )
    narrow = p.add_mutually_exclusive_group()
    narrow.add_argument(
        "--session", metavar="USERID", help="deny one session instead: AROA…:session-name (aws:userid)"
    )
    narrow.add_argument(
        "--source-ip", nargs="+", metavar="CIDR", help="deny calls from these networks instead"
    )
    narrow.add_argument("--source-identity", metavar="VALUE", help="deny one source identity instead")
    p.set_defaults(func=run_policy)

    p = subparsers.add_parser(
        "plan",
        help="the containment plan for a leaked key: revocations, impact, warnings, uncovered",
        description=(
            "Trace the key and plan its containment: one cut-off deny per role or IAM user in its lineage, "
            "the sessions each cuts and spares, warnings, and what no session revocation reaches."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="CloudTrail files, folders or globs")
    p.add_argument("--key", required=True, help="the leaked access key id")
    p.add_argument("--cutoff", type=_time, metavar="T", help="the cut-off (default: recommended)")
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--now",
        type=_now_arg,
        metavar="T",
        help="judge the sessions at T (default: the real clock, as the library does; T for replaying an incident)",
    )
    when.add_argument(
        "--as-of",
        choices=("clock", "evidence-end"),
        help="judge at the real clock (default) or at the last event of the evidence (plan as of the incident)",
    )
    p.add_argument(
        "--account", type=Path, metavar="ACCOUNT.json", help="account.json, to check policy size limits"
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument(
        "--out", type=Path, metavar="PLAN.json", help="also write the plan for `ircreds apply` (a new file)"
    )
    p.add_argument("--force", action="store_true", help="with --out: replace an existing file")
    p.set_defaults(func=run_plan)

    p = subparsers.add_parser(
        "apply",
        help="apply a plan's denies (dry run unless --yes)",
        description="Show the before/after of every change; with --yes write them, read them back and record the action.",
    )
    p.add_argument("plan", type=Path, metavar="PLAN.json")
    p.add_argument("--yes", action="store_true", help="really change the account")
    p.add_argument("--target", nargs="+", metavar="NAME", help="only these roles/users of the plan")
    p.add_argument("--record-dir", type=Path, help=_RECORD_DIR_HELP)
    _add_target(p)
    p.set_defaults(func=run_apply)

    p = subparsers.add_parser(
        "rollback",
        help="undo an apply from its action record (dry run unless --yes)",
        description="Restore exactly the state recorded before an apply.",
    )
    p.add_argument("record", type=Path, metavar="RECORD.json")
    p.add_argument("--yes", action="store_true", help="really change the account")
    p.add_argument(
        "--force", action="store_true", help="roll back even if the policy changed since the apply"
    )
    p.add_argument("--record-dir", type=Path, help=_RECORD_DIR_HELP)
    _add_target(p)
    p.set_defaults(func=run_rollback)

    p = subparsers.add_parser(
        "audit",
        help="read-only review of roles: session durations, open trust, who can assume",
        description="List the guardrail gaps the revocation playbook names, without changing anything.",
    )
    p.add_argument("--role", nargs="+", metavar="NAME", help="the compromised roles (who can assume them)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_target(p)
    p.set_defaults(func=run_audit)

    p = subparsers.add_parser(
        "sandbox",
        help="run a local AWS (moto) seeded with a scenario's IAM, or the evidence's, until Ctrl-C",
        description="Start a moto server on 127.0.0.1 seeded from the scenario's account.json, or from the "
        "roles and users the evidence shows (--from-evidence); print its endpoint. Writes sandbox.json "
        "(what was known, what was assumed) into the record directory.",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--scenario", type=Path, metavar="DIR", help="scenario directory with account.json")
    source.add_argument(
        "--from-evidence",
        metavar="PATH",
        help="build the account from this evidence (any path `ircreds load` reads): every role and user it shows",
    )
    p.add_argument(
        "--account-id", help="with --from-evidence: the main account (default: the one with most events)"
    )
    p.add_argument(
        "--record-dir",
        type=Path,
        default=None,
        help="where sandbox.json is written, beside the action records (default: where apply writes them)",
    )
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.set_defaults(func=run_sandbox)


# ------------------------------------------------------------------------------------- commands


def run_policy(args: argparse.Namespace) -> int:
    """Print one policy document."""
    from ircreds.containment import policy

    if args.session:
        role_id, _, name = args.session.partition(":")
        doc = policy.deny_session_policy(policy.session_userid(role_id, name))
    elif args.source_ip:
        doc = policy.deny_source_ip_policy(args.source_ip)
    elif args.source_identity:
        doc = policy.deny_source_identity_policy(args.source_identity)
    else:
        doc = policy.cutoff_policy(args.cutoff)
    echo_json(doc)
    return 0


def _account_json(args: argparse.Namespace, case: Any = None) -> dict[str, Any] | None:
    roots = case.sources() if case is not None else args.paths
    candidates = [args.account] if args.account else [Path(p) / "account.json" for p in roots]
    for path in candidates:
        if path and path.is_file():
            try:
                return dict(json.loads(path.read_text()))
            except (OSError, ValueError) as err:
                raise PlanError(f"cannot read {path} ({err})") from None
    if args.account:
        raise PlanError(f"{args.account} does not exist")
    return None


def run_plan(args: argparse.Namespace) -> int:
    """Load, trace, plan; print it (JSON or readable) and optionally write it."""
    import ircreds
    from ircreds.clock import plan

    if args.out:  # before the load: a refused destination costs nothing
        check_file(args.out, force=args.force, inputs=args.paths)
    case = case_of(args.paths)
    if case is not None:
        with case:
            tr = case.trace(args.key)
            result = plan(
                tr,
                args.cutoff,
                now=args.now,
                as_of=args.as_of,
                events=case.evidence_end_events(),  # only for as_of="evidence-end"
                sessions=case.sessions(),
                account=_account_json(args, case),
            )
    else:
        events = ircreds.load(*args.paths)
        tr = ircreds.trace(events, args.key)
        result = plan(
            tr, args.cutoff, now=args.now, as_of=args.as_of, events=events, account=_account_json(args)
        )
    if args.out:
        write_text(args.out, result.to_json() + "\n", force=args.force)
    if args.json:
        echo_json(result.to_dict())
        return 0
    _print_plan(result)
    if args.out:
        echo(f"\nplan written to {args.out}; review it, then: ircreds apply {args.out} [--yes]")
    return 0


def _print_plan(p: Any) -> None:
    echo(f"containment plan for {p.key} (account {p.account_id})")
    echo(
        f"cut-off: {iso_z(p.cutoff) if p.cutoff else 'none'}  (recommended {iso_z(p.recommended_cutoff) if p.recommended_cutoff else '-'})"
    )
    source = {
        "clock": "the real clock; --now T or --as-of evidence-end to plan as of the incident",
        "evidence-end": "the last event of the evidence",
        "given": "--now",
    }.get(p.now_source or "", "not given")
    echo(f"now: {iso_z(p.now) if p.now else '-'}  ({source}); sessions are judged at now and at the cut-off")
    for rev in p.revocations:
        echo(
            f"\n{rev.target_kind} {term(rev.target)}: inline policy {term(rev.policy_name)} on {term(rev.arn)}"
        )
        rows = [
            (
                s.access_key_id,
                str(s.verdict),
                "suspicious" if s.suspicious else "legitimate",
                s.principal or "",
                iso_z(s.issued_at) if s.issued_at else "?",
                iso_z(s.expires_at) if s.expires_at else "?",
                {True: "yes", False: "no"}.get(s.live_at_now, "?"),
            )
            for s in (*rev.cuts, *rev.survives[:SHOWN_SURVIVORS])
        ]
        if rows:
            echo(table(rows, ("key", "verdict", "status", "principal", "issued", "expires", "live now")))
        else:
            echo("(no session of it is live at now: nothing to cut or spare)")
        if len(rev.survives) > SHOWN_SURVIVORS:
            echo(
                f"(and {len(rev.survives) - SHOWN_SURVIVORS} later session(s) that survive; --json lists them all)"
            )
        if rev.expired:
            echo(f"({len(rev.expired)} earlier session(s) have expired by now anyway)")
    if p.warnings:
        echo("\nwarnings:")
        for w in p.warnings:
            echo(f"  - [{w.code}] {term(w.message)}")
    if p.uncovered:
        echo("\nnot reached by any session revocation:")
        for u in p.uncovered:
            echo(f"  - [{u.kind}] {term(u.target, DISPLAY_LIMIT)}: {term(u.action)}")
    for d in p.deletion:
        who = ", ".join(f"{x.principal} ({x.sessions})" for x in d.dependents[:5])
        echo(
            f"\nlast resort, deleting {term(d.role_arn)} would break: {term(who) or 'nobody seen in the evidence'}"
        )


def _session_for(args: argparse.Namespace) -> Any:
    from ircreds import aws

    return aws.session(args.profile)


def _load_plan(path: Path) -> Any:
    from ircreds.containment import Plan
    from ircreds.containment.actions import digest_matches

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as err:
        raise PlanError(
            f"cannot read plan {path} ({err}); write one with `ircreds plan ... --out {path}`"
        ) from None
    if digest_matches(data) is False:
        warn(
            f"{path} was edited after ircreds wrote it (its SHA-256 no longer matches its content); "
            "review it: apply still refuses anything but ircreds' own cut-off deny"
        )
    try:
        return Plan.from_dict(data)
    except PlanError as err:
        raise PlanError(f"{path}: {err}") from None


def _load_record(path: Path) -> Any:
    from ircreds.containment.actions import ActionRecord

    record = ActionRecord.load(path)
    if record.digest_ok is False:
        warn(
            f"{path} was edited after ircreds wrote it (its SHA-256 no longer matches its content); "
            "review it: rollback still restores only ircreds' own policy, where the apply ran"
        )
    return record


def _print_record(record: Any, *, verb: str) -> None:
    if record.rehearsal:
        echo(
            f"REHEARSAL against {record.endpoint_url} (not AWS): nothing in a real account changes, "
            "and this record never counts as containment"
        )
    for c in record.changes:
        echo(f"{c.target_kind} {c.target}: {c.operation} {c.policy_name}")
    echo(record.diff())
    if record.dry_run:
        echo(
            f"\ndry run: nothing was changed in account {record.account_id} (as {record.who}); re-run with --yes to {verb}"
        )
    else:
        failed = [c.target for c in record.changes if c.readback_ok is False]
        echo(f"\nread-back: {'MISMATCH on ' + ', '.join(failed) if failed else 'every document is in place'}")
        echo(f"action record: {record.path}")


def _change_options(args: argparse.Namespace) -> dict[str, Any]:
    """What ``apply`` and ``rollback`` take alike: the time, dry run unless ``--yes``, where to record."""
    from ircreds.clock import utc_now

    if args.record_dir is not None:  # records are new files; never among the evidence
        check_folder(args.record_dir, flag="--record-dir", adds=True)
    return {
        "now": utc_now(),
        "dry_run": not args.yes,
        "confirm": args.yes,
        "record_dir": args.record_dir,
        "endpoint_url": args.endpoint_url,
    }


def run_apply(args: argparse.Namespace) -> int:
    """Dry-run or apply a plan file."""
    from ircreds import aws

    p = _load_plan(args.plan)
    options = _change_options(args)  # the record folder is checked before any AWS session
    record = aws.apply(p, _session_for(args), targets=args.target, **options)
    _print_record(record, verb="apply")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    """Dry-run or roll back an action record."""
    from ircreds import aws

    record_doc, options = _load_record(args.record), _change_options(args)
    record = aws.rollback(record_doc, _session_for(args), force=args.force, **options)
    _print_record(record, verb="roll back")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    """Print the read-only audit."""
    from ircreds import aws

    report = aws.audit(_session_for(args), roles=args.role, endpoint_url=args.endpoint_url)
    if args.json:
        echo_json(report.to_dict())
        return 0
    echo(f"audit of account {report.account_id}: {report.roles_checked} role(s)")
    echo(
        table(
            [(f.severity, f.code, f.target, f.message) for f in report.findings],
            ("severity", "finding", "role", "what to do"),
        )
    )
    for role, who in report.assumers.items():
        if args.role:
            echo(f"{role} can be assumed by: {', '.join(who) or 'nobody'}")
    for role, cutoff in report.cutoffs.items():
        echo(f"{role} already has a cut-off at {cutoff}")
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    """Run the sandbox until Ctrl-C (or SIGTERM)."""
    from ircreds.sandbox import start_sandbox

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if args.from_evidence:
        from ircreds.sandbox import account_from_evidence

        account = account_from_evidence(args.from_evidence, account_id=args.account_id)
    else:
        account = args.scenario
    if args.record_dir is None:
        from ircreds.aws import default_record_dir

        args.record_dir = default_record_dir()
    else:
        check_folder(args.record_dir, flag="--record-dir", adds=True)
    sb = start_sandbox(account, port=args.port, reuse=False, record_dir=args.record_dir)
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        key_id, secret = sb.credentials
        echo(f"sandbox for account {sb.account_id} at {sb.endpoint_url}")
        echo(
            f"seeded: {len(sb.seed.roles) if sb.seed else 0} role(s), {len(sb.seed.users) if sb.seed else 0} user(s)"
            + (f" in {1 + len(sb.account.get('linked_accounts') or ())} account(s)")
        )
        echo(f"what was known and what was assumed: {args.record_dir / 'sandbox.json'}")
        echo("use it from another shell (sandbox-only keys, valid for this server only):")
        echo(
            f"  export AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret} AWS_DEFAULT_REGION=us-east-1"
        )
        echo(f"  ircreds apply PLAN.json --endpoint-url {sb.endpoint_url}")
        echo("Ctrl-C stops it")
        sys.stdout.flush()
        threading.Event().wait()
    except KeyboardInterrupt:
        echo("sandbox stopped")
    finally:
        sb.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
