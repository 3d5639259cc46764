"""``ircreds index PATH... --out CASE``: evidence of any size into a case store, in one streaming pass.

Every command that takes ``PATH...`` also takes a case store (told by its content): ``trace``,
``sessions`` and ``plan`` read only the lineage's rows from it; ``load`` prints its load report.
"""

from __future__ import annotations

import argparse
from typing import Any

from ircreds.cli._evidence import add_limit_options, limit_options
from ircreds.cli._io import echo, echo_json, table
from ircreds.cli._write import check_folder


def register(subparsers: Any) -> None:
    """Add the ``index`` subcommand."""
    p = subparsers.add_parser(
        "index",
        help="convert evidence of any size into an on-disk case store (resumable, incremental)",
        description=(
            "Read CloudTrail evidence (files, folders, globs; any format `ircreds load` reads) in one streaming "
            "pass with bounded memory into a case store: a folder of Parquet parts and a DuckDB catalog "
            "(load report, files with their SHA-256, issuing events, per-key index, sessions). Run it again "
            "with more paths to add them: files already indexed (same path, size and SHA-256) are not read "
            "again. Then pass CASE wherever a command takes PATH..."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="CloudTrail files, folders or globs")
    p.add_argument("--out", required=True, metavar="CASE", help="the case store folder (created or added to)")
    p.add_argument(
        "--force", action="store_true", help="create the case store in a folder that holds other files"
    )
    p.add_argument("--json", action="store_true", help="print the summary and load report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_limit_options(p)
    p.set_defaults(func=run_index)


class _Bar:
    """A tqdm bar over files, created on the first progress call."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, p: Any) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.files_total, unit="file", desc="indexing", leave=False, disable=None)
        self.bar.total = p.files_total
        self.bar.n = p.files_done
        self.bar.set_postfix_str(f"{p.bytes_done / 1e6:.0f}/{p.bytes_total / 1e6:.0f} MB", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_index(args: argparse.Namespace) -> int:
    """Index, then print what was read and the case's load report."""
    from ircreds.cli.load import print_report
    from ircreds.engines import index, is_case

    check_folder(args.out, force=args.force, own=is_case)  # a case store is added to; never evidence
    bar = _Bar(not args.no_progress and not args.json)
    try:
        summary = index(args.paths, args.out, progress=bar, **limit_options(args))
    finally:
        bar.close()
    if args.json:
        echo_json(
            {
                "case": summary.case,
                "files_seen": summary.files_seen,
                "files_new": summary.files_new,
                "files_changed": summary.files_changed,
                "files_unchanged": summary.files_unchanged,
                "load_report": summary.report,
            }
        )
        return 0
    rows = [
        ("case", summary.case),
        ("files seen", summary.files_seen),
        ("read now", summary.files_new),
        ("changed, read again", summary.files_changed),
        ("already indexed", summary.files_unchanged),
    ]
    echo(table(rows, ["index", ""]))
    echo()
    print_report(summary.report)
    return 0
