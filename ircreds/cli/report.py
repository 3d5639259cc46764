"""``ircreds report PATH... --key K --out FILE``: the post-incident report from the evidence.

The format follows the extension of ``--out``: ``.html`` (one self-contained file) or ``.md``
(Markdown with the figures as PNG beside it). Both write the indicators appendix beside the report
as ``<stem>-indicators.csv`` and ``<stem>-indicators.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

from ircreds.cli._evidence import case_of
from ircreds.cli._io import echo
from ircreds.cli._write import check_file, writing
from ircreds.cli.hunt import add_sigma_option, hunt_for
from ircreds.clock import utc_now
from ircreds.errors import IrcredsError, PolicyError, SourceError
from ircreds.times import parse_user_time

log = logging.getLogger(__name__)

_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write the post-incident report (HTML or Markdown) for a leaked key",
        description=(
            "Load the evidence, trace the key, build the containment plan, check the evidence files "
            "(SHA-256, CloudTrail digests) and write the report. The format follows --out's extension."
        ),
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="CloudTrail files or folders (S3 delivery layout)"
    )
    p.add_argument("--key", required=True, help="the leaked access key id (ASIA… or AKIA…)")
    p.add_argument("--cutoff", help="cut-off time for the plan, ISO 8601 UTC (e.g. 2025-01-20T12:00:00Z)")
    p.add_argument(
        "--actions",
        action="append",
        default=[],
        metavar="RECORD.json",
        help="action record written by `ircreds apply` (repeatable)",
    )
    p.add_argument("--detected-at", help="when the leak was detected, ISO 8601 UTC (for the time to detect)")
    p.add_argument("--now", help="describe the state at this time instead of the current time (ISO 8601 UTC)")
    p.add_argument("--no-figures", action="store_true", help="skip the timeline and lineage figures")
    p.add_argument(
        "--scope",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show every credential the attacker holds (ircreds scope) and plan for all of them (default on)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="report file: .html or .md (a new file)")
    p.add_argument("--force", action="store_true", help="replace an existing report and its files beside it")
    add_sigma_option(p, "the lineage's calls, beside the findings")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the report; print where it went."""
    import ircreds
    from ircreds.evidence import integrity
    from ircreds.report import render
    from ircreds.report.containment import denies_in_logs
    from ircreds.report.layout import holds

    out = Path(args.out)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise IrcredsError(f"--out {out} has no report extension; end it with .html or .md")
    now = _time(args.now, "--now") or utc_now()
    cutoff = _time(args.cutoff, "--cutoff")
    detected = _time(args.detected_at, "--detected-at")
    actions = [_read_json(p) for p in args.actions]
    # before the load: the report file itself (its files beside it are checked once they are known)
    check_file(out, force=args.force, inputs=args.paths)

    case = case_of(args.paths)
    if case is not None:  # only the rows the report reads: lineage, planned sessions, issuing, policy puts
        with case:
            trace = case.trace(args.key)
            sessions = case.sessions()
            events = case.report_events(trace, case.plan(trace, cutoff, now=now))
            local = case.files()
            ranges = case.file_ranges()
            hunted = hunt_for(args, case)  # the rules run over the whole store, in place
    else:
        sessions = ranges = None
        events = ircreds.load(*args.paths)
        trace = ircreds.trace(events, args.key)
        local = [p for p in args.paths if "://" not in p]  # s3:// evidence is not on this disk to hash
        hunted = hunt_for(args, events)
    denies = denies_in_logs(events)
    if cutoff is None:  # describe the cut-off the responder applied, when the logs show one
        cutoff = min((_time(d["cutoff"], "cutoff in the logs") for d in denies if d["cutoff"]), default=None)
    # a case store hands over only the lineage's rows: the scope needs the whole trail
    scope = ircreds.scope(events, key=args.key) if args.scope and case is None else None
    plan = _scope_plan(scope, cutoff=cutoff, now=now, events=events) if scope is not None else None
    if plan is None:
        plan = _plan(trace, cutoff=cutoff, now=now, events=events, sessions=sessions)
    # the proof (verify of the denies the logs show by now) is computed by render itself
    checked = integrity.check(local, events=events, ranges=ranges) if local else None
    report = render(
        trace,
        plan=plan,
        actions=actions or None,
        events=events,
        fmt=fmt,
        command=_command(args),
        now=now,
        integrity=checked if checked is not None else False,
        detected_at=detected,
        figures=not args.no_figures,
        stem=out.stem,
        hunt=hunted,
        scope=scope,
    )
    for path, blob in list(report.contents(out).items())[1:]:  # the appendix, evidence manifest, figures
        if not holds(path, blob):  # a file that already holds these bytes (the .md's, the .html's) stays
            check_file(path, force=args.force, inputs=args.paths)
    with writing(out):
        written = report.save(out, overwrite=args.force)
    summary = report.data["summary"]
    echo(f"report: {written[0]}")
    for path in written[1:]:
        echo(f"  beside it: {path}")
    echo(
        f"{trace.key}: {summary['credentials']} credential(s), {summary['calls']} call(s), "
        f"{len(report.data['findings'])} finding(s); "
        + (
            f"evidence {checked.status} ({checked.counts['files']} files, {checked.counts['digests']} digests)"
            if checked is not None
            else "evidence read remotely: files not hashed (download them to check the digests)"
        )
    )
    return 0


def _plan(trace: Any, *, cutoff: datetime | None, now: datetime, events: Any, sessions: Any = None) -> Any:
    try:
        from ircreds.containment import plan
    except ImportError as err:
        log.warning("containment plan skipped: ircreds.containment is not available (%s)", err)
        return None
    return plan(trace, cutoff=cutoff, now=now, events=events, sessions=sessions)


def _scope_plan(scope: Any, *, cutoff: datetime | None, now: datetime, events: Any) -> Any:
    """One plan for every credential of the scope (None when the scope is only the leaked key)."""
    if len(scope.compromised) <= 1:
        return None
    from ircreds.containment import plan_scope

    return plan_scope(scope, cutoff, now=now, events=events)


def _time(text: str | None, flag: str) -> datetime | None:
    """Parse an ISO 8601 time with a zone (``Z`` or an offset) into UTC; refuse naive times."""
    if not text:
        return None
    try:
        return parse_user_time(text)
    except ValueError as err:
        raise PolicyError(f"{flag} {err}") from None


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceError(
            f"action record {path} does not exist; pass the JSON file `ircreds apply` wrote"
        ) from None
    except ValueError as err:
        raise SourceError(
            f"action record {path} is not JSON ({err}); pass the file `ircreds apply` wrote"
        ) from None


def _command(args: argparse.Namespace) -> str:
    parts = ["ircreds", "report", *args.paths, "--key", args.key]
    for flag, value in (("--cutoff", args.cutoff), ("--detected-at", args.detected_at), ("--now", args.now)):
        if value:
            parts += [flag, value]
    for record in args.actions:
        parts += ["--actions", record]
    if args.no_figures:
        parts.append("--no-figures")
    parts += ["--out", args.out]
    if getattr(args, "force", False):
        parts.append("--force")
    return shlex.join(parts)
