"""EDGE: CloudTrail files in S3 (``s3://bucket/prefix``), through boto3.

Keys are narrowed by CloudTrail's delivery layout before anything is downloaded:
``[prefix/]AWSLogs/[o-ID/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>``. ``accounts=`` and
``regions=`` filter on those parts; ``start=`` / ``end=`` (timezone-aware) select the delivery-day
folders from ``start``'s day to the day after ``end`` (the folders are *delivery* dates, so an event
near midnight can sit in the next day's folder). Events outside the window in the chosen files are
kept. Keys outside the layout cannot be narrowed and are always read. Digest keys
(``CloudTrail-Digest``) are skipped without being downloaded. Files download in parallel
(``workers=``, default 8) and in order, never far ahead of the parser: at most ``2 × workers`` files
and ``in_flight_bytes`` (default 256 MiB, at least one file) are downloaded but not yet parsed, so
memory stays bounded however many files a prefix holds.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ircreds.errors import SourceError
from ircreds.evidence.sources import Sink
from ircreds.evidence.sources._limits import limits_of
from ircreds.times import parse_time, require_aware

#: ``load()`` options this source takes.
OPTIONS = ("accounts", "regions", "start", "end", "session", "client", "workers", "in_flight_bytes")

#: Downloaded-but-not-parsed bytes allowed by default (listed sizes; one file always goes).
IN_FLIGHT_BYTES = 256 * 1024 * 1024

LAYOUT = re.compile(
    r"(?:^|/)AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/(?P<kind>CloudTrail(?:-Digest|-Insight)?)/"
    r"(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
)
_MAX_DAY_PREFIXES = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Object:
    """One listed object."""

    key: str
    size: int


def accepts(source: Any) -> bool:
    """An ``s3://`` URL.

    Example:
        >>> accepts("s3://trail-bucket/AWSLogs/"), accepts("AWSLogs/")
        (True, False)
    """
    return isinstance(source, str) and source.startswith("s3://")


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``.

    Example:
        >>> parse_url("s3://trail-bucket/AWSLogs/111122223333/")
        ('trail-bucket', 'AWSLogs/111122223333/')
    """
    if not url.startswith("s3://") or len(url) <= 5:
        raise SourceError(f"{url!r} is not an s3:// URL; write s3://bucket/prefix")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise SourceError(f"{url!r} names no bucket; write s3://bucket/prefix")
    return bucket, prefix


def _aware(value: Any, name: str) -> datetime | None:
    """A ``start=`` / ``end=`` option: an aware datetime, or a time text (ISO 8601); naive refused."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return require_aware(value, f"{name} (for example datetime(..., tzinfo=UTC))")
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(
            f"{name}={value!r} is not a time; pass a timezone-aware datetime or an ISO 8601 string"
        )
    return parsed


def _days(start: datetime | None, end: datetime | None) -> tuple[date | None, date | None]:
    first = start.date() if start else None
    last = (end + timedelta(days=1)).date() if end else None
    return first, last


def narrow_prefixes(prefix: str, accounts: Iterable[str] | None, regions: Iterable[str] | None,
                    first: date | None, last: date | None) -> list[str]:  # fmt: skip
    """The listing prefixes implied by the layout, so whole accounts, regions and days are never listed.

    Example:
        >>> narrow_prefixes("logs/AWSLogs/", ["111122223333"], ["us-east-1"], date(2025, 1, 20), date(2025, 1, 21))
        ['logs/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/20/', 'logs/AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/21/']
        >>> narrow_prefixes("logs/", ["111122223333"], None, None, None)
        ['logs/']
    """
    if not accounts or not (prefix.endswith("AWSLogs/") or re.search(r"AWSLogs/o-[a-z0-9]+/$", prefix)):
        return [prefix]
    out = []
    for account in sorted(set(accounts)):
        base = f"{prefix}{account}/CloudTrail/"
        if not regions:
            out.append(base)
            continue
        for region in sorted(set(regions)):
            if first and last and (last - first).days < _MAX_DAY_PREFIXES:
                day = first
                while day <= last:
                    out.append(f"{base}{region}/{day:%Y/%m/%d}/")
                    day += timedelta(days=1)
            else:
                out.append(f"{base}{region}/")
    return out


def select(key: str, accounts: set[str] | None, regions: set[str] | None, first: date | None,
           last: date | None) -> str | None:  # fmt: skip
    """Why a key is left out (``"digest"``, ``"filtered"``), or None to read it.

    Example:
        >>> k = "AWSLogs/111122223333/CloudTrail/us-east-1/2025/01/20/f.json.gz"
        >>> select(k, {"111122223333"}, {"eu-west-1"}, None, None)
        'filtered'
        >>> select(k.replace("CloudTrail/", "CloudTrail-Digest/"), None, None, None, None)
        'digest'
    """
    match = LAYOUT.search(key)
    if match is None:
        return None
    if match["kind"] == "CloudTrail-Digest":
        return "digest"
    if accounts and match["account"] not in accounts:
        return "filtered"
    if regions and match["region"] not in regions:
        return "filtered"
    day = date(int(match["y"]), int(match["m"]), int(match["d"]))
    if (first and day < first) or (last and day > last):
        return "filtered"
    return None


def _list(client: Any, bucket: str, prefix: str) -> list[S3Object]:
    paginator = client.get_paginator("list_objects_v2")
    out = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                out.append(S3Object(key=obj["Key"], size=int(obj.get("Size", 0))))
    return out


def _aws_errors() -> tuple[type[Exception], ...]:
    """Botocore's two error roots (imported when a source reads, not when the registry asks ``accepts``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _error_text(err: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "error")
        return f"{code}: {err.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    return str(err)


def load_into(
    sink: Sink,
    url: str,
    *,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
    session: Any = None,
    client: Any = None,
    workers: int = 8,
    in_flight_bytes: int = IN_FLIGHT_BYTES,
) -> None:
    """List, narrow, download in parallel (bounded ahead of the parser) and hand each file to the sink.

    Raises:
        SourceError: when the bucket cannot be listed, or nothing is left to read.
    """
    bucket, prefix = parse_url(url)
    start_at, end_at = _aware(start, "start"), _aware(end, "end")
    first, last = _days(start_at, end_at)
    account_set = {str(a) for a in accounts} if accounts else None
    region_set = set(regions) if regions else None
    if client is None:
        import boto3

        client = (session or boto3.Session()).client("s3")
    aws_errors = _aws_errors()
    listed: list[S3Object] = []
    try:
        for narrowed in narrow_prefixes(prefix, account_set, region_set, first, last):
            listed.extend(_list(client, bucket, narrowed))
    except aws_errors as err:
        raise SourceError(
            f"cannot list s3://{bucket}/{prefix} ({_error_text(err)}); check the bucket name, the "
            "region and that your credentials allow s3:ListBucket"
        ) from None
    wanted: list[S3Object] = []
    for obj in listed:
        why = select(obj.key, account_set, region_set, first, last)
        if why == "digest":
            sink.skip(f"s3://{bucket}/{obj.key}", "digest")
        elif why is None:
            wanted.append(obj)
    if not wanted:
        raise SourceError(
            f"no CloudTrail files under s3://{bucket}/{prefix}"
            + (
                " with the accounts/regions/start/end given"
                if account_set or region_set or first or last
                else ""
            )
            + "; check the prefix (it usually ends with AWSLogs/)"
        )
    sink.expect(len(wanted), sum(o.size for o in wanted))

    limits = limits_of(sink)

    def fetch(obj: S3Object) -> tuple[S3Object, bytes | None, str | None]:
        if obj.size > limits.max_decompressed_bytes:  # never downloaded
            return obj, None, limits.file_reason()
        chunks, total = [], 0
        try:
            body = client.get_object(Bucket=bucket, Key=obj.key)["Body"]
            stream = body.iter_chunks(1 << 20) if hasattr(body, "iter_chunks") else [body.read()]
            for chunk in stream:  # streamed: never more than the cap in memory
                total += len(chunk)
                if total > limits.max_decompressed_bytes:
                    getattr(body, "close", lambda: None)()
                    return obj, None, limits.file_reason()
                chunks.append(chunk)
        except aws_errors as err:
            return obj, None, f"cannot download ({_error_text(err)}); check s3:GetObject and kms:Decrypt"
        return obj, b"".join(chunks), None

    workers = max(1, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for obj, data, error in bounded_map(pool, fetch, wanted, 2 * workers, in_flight_bytes):
            name = f"s3://{bucket}/{obj.key}"
            if data is None:
                sink.unreadable(name, error or "cannot download")
            else:
                sink.add_bytes(name, data)
            sink.advance(obj.size)
    sink.describe(
        {
            "input": url,
            "kind": "s3",
            "files": len(wanted),
            "filters": {
                "accounts": sorted(account_set) if account_set else None,
                "regions": sorted(region_set) if region_set else None,
                "start": start_at.isoformat() if start_at else None,
                "end": end_at.isoformat() if end_at else None,
            },
        }
    )


def bounded_map(
    pool: ThreadPoolExecutor,
    fn: Callable[[S3Object], Any],
    objects: list[S3Object],
    max_files: int,
    max_bytes: int,
) -> Iterator[Any]:
    """``pool.map(fn, objects)`` in order, with at most ``max_files`` files and ``max_bytes`` (listed
    sizes) submitted but not yet consumed; one file is always in flight, however big.
    """
    pending: deque[tuple[int, Future[Any]]] = deque()
    queued = 0
    todo = iter(objects)
    nxt = next(todo, None)
    while nxt is not None or pending:
        while nxt is not None and (
            not pending or (len(pending) < max_files and queued + nxt.size <= max_bytes)
        ):
            pending.append((nxt.size, pool.submit(fn, nxt)))
            queued += nxt.size
            nxt = next(todo, None)
        size, future = pending.popleft()
        queued -= size
        yield future.result()


def aws_errors() -> tuple[type[Exception], ...]:
    """Botocore's error roots, for modules that take a client and must not import botocore themselves."""
    return _aws_errors()


def error_text(err: Exception) -> str:
    """``Code: Message`` of an AWS error (any exception: its text)."""
    return _error_text(err)


def make_session(profile: str | None = None) -> Any:
    """A boto3 session for ``profile`` (the default credentials chain when None)."""
    import boto3

    try:
        return boto3.Session(profile_name=profile) if profile else boto3.Session()
    except _aws_errors() as err:
        raise SourceError(f"cannot open AWS profile {profile!r} ({err}); check ~/.aws/config") from None
