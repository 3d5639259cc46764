"""``ircreds athena ddl``: the CloudTrail table for Athena, partition projection included, in one statement."""

from __future__ import annotations

import argparse
from typing import Any

from ircreds.cli._io import echo


def register(subparsers: Any) -> None:
    """Add the ``athena`` command group (``ddl``)."""
    p = subparsers.add_parser(
        "athena",
        help="Amazon Athena: the CloudTrail table's DDL (trace with `ircreds trace --engine athena`)",
        description="Amazon Athena helpers for tracing where an organisation's trail lives.",
    )
    sub = p.add_subparsers(dest="athena_command", metavar="SUBCOMMAND")
    d = sub.add_parser(
        "ddl",
        help="print the CREATE EXTERNAL TABLE for the trail's bucket, with partition projection",
        description=(
            "Print the CloudTrail table AWS documents for Athena, partitioned by account, region and day with "
            "partition projection (no MSCK REPAIR, no partitions to add). Run it once in the Athena console or "
            "with `aws athena start-query-execution`."
        ),
    )
    d.add_argument("--bucket", required=True, help="the trail's S3 bucket")
    d.add_argument("--accounts", required=True, help="comma-separated account ids")
    d.add_argument("--regions", required=True, help="comma-separated regions")
    d.add_argument("--start", default="2020/01/01", help="first day of the projection range, yyyy/MM/dd")
    d.add_argument("--table", default="cloudtrail_logs_pp", help="table name (default cloudtrail_logs_pp)")
    d.add_argument("--prefix", default="", help="the trail's S3 key prefix, if any")
    d.add_argument("--organization", help="an organisation trail's id (o-...)")
    d.set_defaults(func=run_ddl)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def run_ddl(args: argparse.Namespace) -> int:
    """Print the DDL."""
    from ircreds.engines.athena import ddl

    echo(
        ddl(
            args.bucket,
            _list(args.accounts),
            _list(args.regions),
            start=args.start,
            table=args.table,
            prefix=args.prefix,
            organization=args.organization,
        ).rstrip()
    )
    return 0
