"""``ircreds load PATH... [--json] [--save events.parquet] [--strict]``: load evidence, print the load report."""

from __future__ import annotations

import argparse
from typing import Any

from ircreds.cli._evidence import add_limit_options, case_of, limit_options
from ircreds.cli._io import echo, echo_json, table
from ircreds.cli._write import check_file, writing
from ircreds.errors import SourceError


def register(subparsers: Any) -> None:
    """Add the ``load`` subcommand."""
    parser = subparsers.add_parser(
        "load",
        help="load CloudTrail evidence and print the load report",
        description=(
            "Load CloudTrail evidence (files, folders, globs, s3:// URLs, saved .parquet frames; formats "
            "detected by content) into one events frame and print the load report."
        ),
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="file, folder, glob, s3://bucket/prefix or .parquet"
    )
    parser.add_argument("--json", action="store_true", help="print the load report as JSON")
    parser.add_argument(
        "--save", metavar="EVENTS.parquet", help="write the events frame to a new parquet file"
    )
    parser.add_argument(
        "--force", action="store_true", help="with --save: replace an existing file (never evidence)"
    )
    parser.add_argument("--strict", action="store_true", help="stop at the first bad file or record")
    parser.add_argument("--accounts", nargs="+", metavar="ID", help="s3: only these account ids")
    parser.add_argument("--regions", nargs="+", metavar="REGION", help="s3: only these regions")
    parser.add_argument("--start", metavar="TIME", help="s3: first delivery day (ISO 8601, UTC if no offset)")
    parser.add_argument("--end", metavar="TIME", help="s3: last delivery day (ISO 8601, UTC if no offset)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip the digest validation of local files (faster)"
    )
    add_limit_options(parser)
    parser.set_defaults(func=run)


class _Bar:
    """A tqdm bar on stderr that appears only for loads of more than a few files."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, p: Any) -> None:
        if self.bar is None:
            if p.files_total <= 3:
                return
            from tqdm import tqdm

            self.bar = tqdm(total=p.files_total, unit="file", desc="loading", leave=False, disable=None)
        self.bar.total = p.files_total
        self.bar.n = p.files_done
        self.bar.set_postfix_str(f"{p.bytes_done / 1e6:.0f}/{p.bytes_total / 1e6:.0f} MB", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    """Load, optionally save, and print the report."""
    import ircreds
    from ircreds.evidence.loader import save

    options = {k: getattr(args, k) for k in ("accounts", "regions", "start", "end") if getattr(args, k)}
    if args.save:  # before the load: a refused destination costs nothing
        check_file(args.save, force=args.force, flag="--save", inputs=args.paths)
    case = case_of(args.paths)
    if case is not None and limit_options(args):
        case.close()
        raise SourceError(
            "--max-record-bytes/--max-decompressed-bytes apply when evidence is read: give them to `ircreds index`"
        )
    if case is not None:
        with case:
            df = case.events() if args.save else None
            report = {**case.load_report, "caveats": list(case.load_report.get("caveats", []))}
            if not args.no_validate:  # the files the case was indexed from, as a load of them validates
                from ircreds.evidence.loader import add_integrity

                add_integrity(report, case.sources())
    else:
        bar = _Bar()
        try:
            df = ircreds.load(
                *args.paths,
                strict=args.strict,
                progress=None if args.no_progress else bar,
                validate=not args.no_validate,
                **options,
                **limit_options(args),
            )
        finally:
            bar.close()
        report = df.attrs["load_report"]
    if args.save and df is not None:
        with writing(args.save, flag="--save"):
            saved = save(df, args.save, overwrite=args.force)
        report = {**report, "saved": str(saved)}
    if args.json:
        echo_json(report)
    else:
        print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    """The human form of the load report."""
    span = report["time_range"]
    rows = [
        ("files read", report["files_read"]),
        ("files skipped", len(report["files_skipped"])),
        ("records read", report["records_read"]),
        ("events", report["events"]),
        ("duplicates dropped", report["duplicates"]),
        ("rejects", len(report["rejects"])),
        ("eventID collisions", len(report["id_collisions"])),
        ("time range", f"{span['start']} .. {span['end']}" if span else "-"),
        ("accounts", ", ".join(report["accounts"]) or "-"),
        ("regions", ", ".join(report["regions"]) or "-"),
        ("formats", ", ".join(f"{k} {v}" for k, v in report["formats"].items()) or "-"),
    ]
    if report.get("integrity"):
        integrity = report["integrity"]
        rows.append(("digest validation", f"{integrity['status']} ({integrity['problems_total']} problems)"))
    if report.get("saved"):
        rows.append(("saved", report["saved"]))
    echo(table(rows, ["load report", ""]))
    if report["files_skipped"]:
        reasons: dict[str, int] = {}
        for skipped in report["files_skipped"]:
            reasons[skipped["reason"]] = reasons.get(skipped["reason"], 0) + 1
        echo()
        echo(table(sorted(reasons.items(), key=lambda kv: -kv[1]), ["files skipped because", "files"]))
        odd = [s for s in report["files_skipped"] if s["reason"] != "digest"]
        if odd:
            echo()
            echo(table([(s["file"], s["reason"]) for s in odd[:20]], ["skipped file", "reason"]))
            if len(odd) > 20:
                echo(f"... and {len(odd) - 20} more (see --json)")
    if report["rejects"]:
        echo()
        rejects = report["rejects"][:20]
        echo(table([(r["file"], "-" if r["record"] is None else r["record"], r["reason"]) for r in rejects],
                   ["rejected", "record", "reason"]))  # fmt: skip
        if len(report["rejects"]) > 20:
            echo(f"... and {len(report['rejects']) - 20} more (see --json)")
    for caveat in report["caveats"]:
        echo(f"note: {caveat}")
