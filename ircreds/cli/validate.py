"""``ircreds validate-logs PATH... [--public-keys FILE] [--json]``: prove the evidence with its digests.

Named after ``aws cloudtrail validate-logs``, but offline, on a copy of the files: every digest's
SHA256withRSA signature, the chain, every log file's SHA-256, and what that command does not report
(files no digest lists, empty digests for hours with files). Exit 0 only when everything is valid.
"""

from __future__ import annotations

import argparse
from typing import Any

from ircreds.cli._io import echo, echo_json, table


def register(subparsers: Any) -> None:
    """Add the ``validate-logs`` subcommand."""
    parser = subparsers.add_parser(
        "validate-logs",
        help="check CloudTrail digest signatures, the chain and every log file's hash (offline)",
        description=(
            "Validate CloudTrail log files against their signed digest files: SHA256withRSA signatures "
            "(public keys from public-keys.json beside the evidence or --public-keys), the digest chain, "
            "each log file's SHA-256, files missing or listed by no digest, gaps. Exit 1 unless all is valid."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="folder or file of the evidence")
    parser.add_argument(
        "--public-keys",
        action="append",
        metavar="FILE",
        help="CloudTrail's public keys (`aws cloudtrail list-public-keys` JSON output); repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate and print; 0 when valid, 1 otherwise."""
    from ircreds.integrity import validate_logs

    report = validate_logs(args.paths, public_keys=args.public_keys)
    if args.json:
        echo_json(report.to_dict())
        return 0 if report.ok else 1
    counts = report.counts
    echo(f"status: {report.status}")
    echo(
        table(
            [
                ("log files valid", counts["files_valid"]),
                ("log files modified", counts["files_modified"]),
                ("log files missing from the evidence", counts["files_missing"]),
                ("log files listed by no digest", counts["files_not_covered"]),
                ("digests", counts["digests"]),
                ("signatures valid", counts["signatures_valid"]),
                ("signatures invalid", counts["signatures_invalid"]),
                ("signatures unverifiable", counts["signatures_unverifiable"]),
                ("chain links broken", counts["links_broken"]),
                ("gaps in the chain", counts["gaps"]),
                ("empty digests for hours with files", counts["empty_digests_with_files"]),
            ],
            ["check", "count"],
        )
    )
    echo(f"public keys: {', '.join(report.key_sources) or 'none found'}")
    for line in report.problems:
        echo(f"- {line}")
    return 0 if report.ok else 1
