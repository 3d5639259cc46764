"""The ``--engine athena`` options shared by ``trace`` and ``scope``: where the table is, which partitions."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_options(p: argparse.ArgumentParser, *, days: bool = True) -> None:
    """Add the ``--engine`` group (local evidence by default, or the Athena table).

    ``days=False``: the command has its own ``--start``/``--end`` times, whose days are the window.
    """
    a = p.add_argument_group("where the logs live (--engine athena)")
    a.add_argument(
        "--engine", choices=("local", "athena"), default="local", help="local evidence (default) or Athena"
    )
    a.add_argument("--database", help="Athena database holding the CloudTrail table")
    a.add_argument("--table", help="the CloudTrail table (see `ircreds athena ddl`)")
    if days:
        a.add_argument("--start", help="first day to read, YYYY-MM-DD (a partition predicate)")
        a.add_argument("--end", help="last day to read, YYYY-MM-DD (a partition predicate)")
    a.add_argument("--accounts", help="comma-separated account ids to read (partition predicate)")
    a.add_argument("--regions", help="comma-separated regions to read (partition predicate)")
    a.add_argument("--workgroup", help="Athena workgroup")
    a.add_argument("--output-location", help="s3:// URL for query results (unless the workgroup sets one)")
    a.add_argument("--profile", help="AWS profile")
    a.add_argument("--aws-region", help="the region Athena runs in")
    a.add_argument("--endpoint-url", help="an Athena endpoint (a sandbox)")


def window(args: argparse.Namespace, start: str | None = None, end: str | None = None) -> Any:
    """The partitions every query reads (``--start``/``--end`` days, ``--accounts``, ``--regions``).

    Raises:
        IrcredsError: a missing option or a day that is not YYYY-MM-DD.
    """
    from ircreds.engines import queries
    from ircreds.errors import IrcredsError
    from ircreds.times import parse_user_day

    first, last = start if start is not None else args.start, end if end is not None else args.end
    values = {"database": args.database, "table": args.table, "start": first, "end": last}
    values |= {"accounts": args.accounts, "regions": args.regions}
    missing = [f"--{n}" for n, v in values.items() if not v]
    if missing:
        raise IrcredsError(
            f"--engine athena needs {', '.join(missing)}: every query reads only those partitions"
        )
    try:
        day_one, day_last = parse_user_day(first), parse_user_day(last)
    except ValueError as err:
        raise IrcredsError(f"--start/--end: {err}") from None
    return queries.Window(
        start=day_one,
        end=day_last,
        accounts=tuple(v.strip() for v in args.accounts.split(",") if v.strip()),
        regions=tuple(v.strip() for v in args.regions.split(",") if v.strip()),
    )


def where(args: argparse.Namespace) -> dict[str, Any]:
    """The table and workgroup options, as the ``ircreds.engines.athena`` functions take them."""
    return {
        "database": args.database,
        "table": args.table,
        "workgroup": args.workgroup,
        "output": args.output_location,
    }


def client(args: argparse.Namespace) -> Any:
    """The boto3 Athena client the options name."""
    from ircreds.engines import athena

    return athena.client(profile=args.profile, region=args.aws_region, endpoint_url=args.endpoint_url)


def report_cost(stats: Any) -> None:
    """One line on stderr: queries run, bytes scanned, what they cost (stdout stays the answer)."""
    cost = stats.to_dict()
    sys.stderr.write(
        f"athena: {cost['queries']} queries, {cost['bytes_scanned'] / 1e6:.1f} MB scanned, "
        f"about ${cost['cost_usd']:.4f}\n"
    )
