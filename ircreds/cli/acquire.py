"""``ircreds acquire s3://bucket/prefix --start T --end T --out DIR``: copy evidence out of S3 with custody."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from ircreds.cli._io import echo, echo_json, warn
from ircreds.cli._write import check_folder
from ircreds.clock import utc_now


def register(subparsers: Any) -> None:
    """Add the ``acquire`` subcommand."""
    parser = subparsers.add_parser(
        "acquire",
        help="copy a trail's log and digest files from S3 with their signatures and a custody manifest",
        description=(
            "Copy the CloudTrail log and digest files of a window from S3 (layout kept), keeping each "
            "digest's x-amz-meta-signature, versions and ETags in manifest.json (who, when, SHA-256 of "
            "every file), and CloudTrail's public keys in public-keys.json. Resumable; never overwrites. "
            "Then: ircreds validate-logs DIR."
        ),
    )
    parser.add_argument("url", metavar="s3://bucket/prefix", help="the trail's bucket and prefix")
    parser.add_argument("--accounts", nargs="+", metavar="ID", help="only these account ids")
    parser.add_argument("--regions", nargs="+", metavar="REGION", help="only these regions")
    parser.add_argument(
        "--start", required=True, metavar="TIME", help="first delivery time (ISO 8601, UTC if no offset)"
    )
    parser.add_argument(
        "--end", required=True, metavar="TIME", help="last delivery time (ISO 8601, UTC if no offset)"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder to copy into (resumes if it holds a manifest)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="copy into a folder that holds other files (never other evidence)",
    )
    parser.add_argument("--profile", metavar="P", help="AWS profile (default credentials chain otherwise)")
    parser.add_argument("--endpoint-url", metavar="URL", help="S3/STS/CloudTrail endpoint (e.g. the sandbox)")
    parser.add_argument("--workers", type=int, default=4, metavar="N", help="parallel copies (default 4)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _time(text: str, name: str) -> datetime:
    from ircreds.errors import SourceError

    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"--{name} {text!r} is not an ISO 8601 time (e.g. 2025-01-20T09:00:00Z)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def run(args: argparse.Namespace) -> int:
    """Acquire; 0 when every file was copied or already present, 1 when something was not."""
    from ircreds import __version__
    from ircreds.aws import session
    from ircreds.evidence.acquisition import acquire
    from ircreds.evidence.signatures import MANIFEST_FILE

    # a new or empty folder, or this command's own earlier copy (resumed): never other evidence
    check_folder(args.out, force=args.force, own=lambda folder: (folder / MANIFEST_FILE).is_file())
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.no_progress:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="file", desc="acquiring", leave=False, disable=None)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        result = acquire(
            args.url,
            args.out,
            start=_time(args.start, "start"),
            end=_time(args.end, "end"),
            now=utc_now(),
            session=session(args.profile),
            accounts=args.accounts,
            regions=args.regions,
            endpoint_url=args.endpoint_url,
            workers=args.workers,
            progress=progress,
            tool_version=__version__,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        echo_json(result.to_dict())
    else:
        echo(
            f"copied {result.copied} file(s) ({result.bytes_copied} bytes), {result.already_present} already present"
        )
        echo(f"acquired by {result.caller_arn}; manifest {result.manifest}")
        echo(f"public keys: {len(result.public_keys)}")
        for line in result.problems:
            warn(line)
        echo(f"next: ircreds validate-logs {args.out}")
    return 1 if result.problems else 0
