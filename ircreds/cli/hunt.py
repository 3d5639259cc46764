"""``ircreds hunt PATH... --sigma DIR [--level medium] [--json]``: run Sigma rules over the evidence.

``--json`` prints :meth:`ircreds.hunting.Hunt.to_dict` (a contract: add, never rename). The exit code
is 1 when a rule at or above ``--level`` matched, so a script can alert on it; 0 otherwise.
Every hit names its rule's author and source (the attribution SigmaHQ's licence, DRL 1.1, asks for).
"""

from __future__ import annotations

import argparse
from typing import Any

from ircreds.cli._evidence import case_of
from ircreds.cli._io import echo, echo_json, iso_z, table

LEVELS = ("informational", "low", "medium", "high", "critical")


def register(subparsers: Any) -> None:
    """Add the ``hunt`` subcommand."""
    p = subparsers.add_parser(
        "hunt",
        help="run Sigma rules (e.g. SigmaHQ's CloudTrail rules) over the evidence",
        description=(
            "Load the evidence and run every Sigma rule found under --sigma over it, in one pass. Lists each "
            "rule that matched (level, events, keys, first and last time, the rule's author and source) and "
            "every rule that could not be converted or run, with the reason. Exit code 1 when a rule at or "
            "above --level matched."
        ),
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="CloudTrail files, folders or globs, or a case store"
    )
    p.add_argument(
        "--sigma",
        action="append",
        required=True,
        metavar="DIR",
        help="a Sigma rule file or folder (recursive); repeat for more",
    )
    p.add_argument("--level", choices=LEVELS, default="medium", help="alert threshold for the exit code")
    p.add_argument(
        "--source-url", metavar="URL", help="base URL of the rules' upstream, for attribution links"
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run_hunt)


def run_hunt(args: argparse.Namespace) -> int:
    """Load, hunt, print; exit 1 when a rule at or above the level matched."""
    import ircreds
    from ircreds.hunting.rules import rule_files

    rule_files(args.sigma)  # a wrong --sigma path fails before the evidence is read
    case = case_of(args.paths)
    if case is not None:  # a case store: the rules run in it, in place
        with case:
            result = ircreds.hunt(case, args.sigma, level=args.level, source_url=args.source_url)
    else:
        events = ircreds.load(*args.paths)
        result = ircreds.hunt(events, args.sigma, level=args.level, source_url=args.source_url)
    if args.json:
        echo_json(result.to_dict())
    else:
        print_hunt(result)
    return 1 if result.alerts else 0


def print_hunt(result: Any) -> None:
    """The readable summary: hits (most severe first), attribution, rules that did not run."""
    echo(
        f"{result.rules_loaded} Sigma rules read, {result.rules_run} run, "
        f"{len(result.rules_unsupported)} not supported; {len(result.hits)} matched "
        f"({len(result.alerts)} at or above {result.level})"
    )
    if result.hits:
        rows = [
            (
                h.level,
                _clean(h.title),
                h.count,
                _keys(h.access_key_ids),
                iso_z(h.first_seen) if h.first_seen else "",
                iso_z(h.last_seen) if h.last_seen else "",
            )
            for h in result.hits
        ]
        echo()
        echo(table(rows, ("level", "rule", "events", "keys", "first", "last")))
        echo()
        echo("Rules (author, source):")
        for h in result.hits:
            tags = ", ".join(h.attack)
            echo(f"  {_clean(h.title)} [{h.rule_id}]" + (f" ({tags})" if tags else ""))
            echo(f"    by {_clean(h.author or 'unknown author')}: {_clean(h.source)}")
    if result.rules_unsupported:
        echo()
        echo("Not run:")
        for u in result.rules_unsupported:
            echo(f"  {_clean(u.path)}: {_clean(u.reason)}")


def _keys(keys: tuple[str, ...]) -> str:
    shown = ", ".join(keys[:3])
    return shown + (f" (+{len(keys) - 3})" if len(keys) > 3 else "")


def _clean(text: str) -> str:
    """One printable line (rule files and evidence are not trusted to be terminal-safe)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(str(text).split()))


# -- used by trace, scope and report: ``--sigma DIR`` joins the rule hits to their output ---------------
def add_sigma_option(parser: Any, what: str) -> None:
    """Add ``--sigma DIR`` (repeatable) and ``--sigma-level`` to another command."""
    parser.add_argument(
        "--sigma",
        action="append",
        default=[],
        metavar="DIR",
        help=f"Sigma rules (file or folder, repeatable): show their hits on {what}",
    )
    parser.add_argument(
        "--sigma-level",
        choices=LEVELS,
        default="high",
        help="with --sigma: the level that counts (default high)",
    )


def hunt_for(args: argparse.Namespace, events: Any) -> Any:
    """The :class:`ircreds.hunting.Hunt` of ``--sigma`` over ``events``, or None without ``--sigma``."""
    if not getattr(args, "sigma", None):
        return None
    import ircreds

    return ircreds.hunt(events, args.sigma, level=args.sigma_level)


def print_rule_hits(entries: list[dict[str, Any]]) -> None:
    """Rule hits on a trace's or a scope's calls (``Hunt.on_events``), with attribution."""
    echo()
    echo(f"Sigma rule hits on these calls: {len(entries)}")
    for e in entries:
        tags = ", ".join(e["tags"])
        echo(f"  {e['event_id']}  [{e['level']}] {_clean(e['title'])}" + (f" ({tags})" if tags else ""))
        echo(f"    by {_clean(e['author'] or 'unknown author')}: {_clean(e['source'])}")
