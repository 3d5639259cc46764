"""Ordinary traffic: the people, pipelines and services that use the account every day.

Each actor is a generator of records in time order: it signs in or assumes its role, makes
calls at its own rate, renews its credentials before they expire, and, when a cut-off
denies it, re-authenticates a little later like a real client would.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from ircreds.scenarios import cast as ua
from ircreds.scenarios.cast import Cast
from ircreds.scenarios.records import Cred
from ircreds.scenarios.world import World

Window = tuple[datetime, datetime]

_ERRORS: dict[str, tuple[str, str]] = {
    "GetObject": ("NoSuchKey", "The specified key does not exist."),
    "HeadObject": ("NoSuchKey", "The specified key does not exist."),
    "PutItem": ("ConditionalCheckFailedException", "The conditional request failed"),
    "GetItem": ("ResourceNotFoundException", "Requested resource not found"),
    "Query": (
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "Decrypt": ("ThrottlingException", "Rate exceeded"),
    "GenerateDataKey": ("ThrottlingException", "Rate exceeded"),
    "DescribeInstances": ("Client.RequestLimitExceeded", "Request limit exceeded."),
    "GetBucketPolicy": ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    "CreateLogStream": ("ResourceAlreadyExistsException", "The specified log stream already exists"),
}


@dataclass(kw_only=True)
class Actor:
    """One principal's routine: when it works, how it authenticates, what it calls."""

    name: str
    issue: Callable[[datetime, str], tuple[list[dict[str, Any]], Cred | None]]
    windows: list[Window]
    rate: float
    menu: Sequence[tuple[str, float]]
    regions: Sequence[str] = ("us-east-1",)
    region_weights: Sequence[float] | None = None
    ips: Sequence[str] = ("198.51.100.23",)
    agents: Callable[[str], str] = lambda name: ua.CLI_DEV
    renew_before: timedelta = timedelta(minutes=5)
    error_rate: float = 0.02
    invoked_by: str | None = None
    vpc_endpoint: tuple[str, str] | None = None  # (private IP, vpce id) for S3 and DynamoDB calls
    issued: list[Cred] = field(default_factory=list)


def _s3_key(rng: random.Random, prefix: str, t: datetime) -> str:
    return f"{prefix}/{t:%Y/%m/%d}/part-{rng.randrange(2000):05d}.parquet"


def call_args(
    world: World, c: Cast, name: str, t: datetime, region: str, bucket: str | None = None
) -> dict[str, Any]:
    """Request parameters / resources for calls that name a resource (buckets, tables, keys)."""
    rng = world.rng
    acct = c.account
    if name in ("GetObject", "PutObject", "HeadObject"):
        bucket = bucket or rng.choice((c.data_bucket, c.assets_bucket, c.artifacts_bucket))
        key = _s3_key(rng, rng.choice(("raw/orders", "curated/sales", "static/img", "builds")), t)
        out = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key}
        if name == "PutObject":
            out["x-amz-server-side-encryption"] = "aws:kms"
        return {
            "params": out,
            "resource_arn": f"arn:aws:s3:::{bucket}/{key}",
            "resources": [
                {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
            ],
        }
    if name in ("ListObjects", "GetBucketLocation", "GetBucketAcl", "GetBucketPolicy"):
        bucket = bucket or rng.choice((c.data_bucket, c.assets_bucket, c.artifacts_bucket))
        params: dict[str, Any] = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
        params.update(_BUCKET_SUBRESOURCE[name])
        return {
            "params": params,
            "resource_arn": f"arn:aws:s3:::{bucket}",
            "resources": [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
        }
    if name in ("GetItem", "PutItem", "Query", "DescribeTable"):
        table = rng.choice(("orders", "sessions", "inventory"))
        arn = f"arn:aws:dynamodb:{region}:{acct}:table/{table}"
        p: dict[str, Any] = {"tableName": table}
        if name != "DescribeTable":
            p["key"] = {"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"} if name != "Query" else None
        return {
            "params": p,
            "resource_arn": arn,
            "resources": [{"accountId": acct, "type": "AWS::DynamoDB::Table", "ARN": arn}],
        }
    if name in ("Decrypt", "GenerateDataKey", "DescribeKey"):
        key = f"arn:aws:kms:{region}:{acct}:key/{world.ids.uuid()[:8]}-1111-4222-8333-{acct[:12]}"
        p = (
            {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
            if name == "Decrypt"
            else {"keyId": key, "keySpec": "AES_256"}
        )
        if name == "DescribeKey":
            p = {"keyId": "alias/aws/s3"}
        return {
            "params": p,
            "resource_arn": key,
            "resources": [{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key}],
        }
    if name in ("GetTables", "GetDatabases"):
        return {
            "params": {"databaseName": "sales_curated"}
            if name == "GetTables"
            else {"resourceShareType": "ALL"}
        }
    if name == "SendMessage":
        q = f"https://sqs.{region}.amazonaws.com/{acct}/orders-events"
        return {"params": {"queueUrl": q, "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}}
    if name == "CreateLogStream":
        return {
            "params": {
                "logGroupName": "/aws/lambda/orders-processor",
                "logStreamName": f"{t:%Y/%m/%d}/[$LATEST]{world.ids.hex(32)}",
            }
        }
    if name == "PutMetricData":
        return {"params": {"namespace": "WebApp", "metricData": [{"metricName": "Latency"}]}}
    if name in ("GetUser", "ListAccessKeys"):
        return {"params": {"userName": rng.choice(tuple(world.users))}}
    if name in ("GetRole", "ListAttachedRolePolicies", "ListRolePolicies"):
        return {"params": {"roleName": rng.choice(tuple(world.roles))}}
    return {}


def run(actor: Actor, world: World, c: Cast) -> Iterator[dict[str, Any]]:
    """Generate ``actor``'s records in time order (windows may overlap, e.g. CI runs)."""
    gens = [_window(actor, world, c, start, end) for start, end in actor.windows]
    if len(gens) == 1:
        return gens[0]
    return heapq.merge(*gens, key=lambda r: r["eventTime"])


def _window(actor: Actor, world: World, c: Cast, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    rng = world.rng
    names = [m[0] for m in actor.menu]
    cum = list(accumulate(m[1] for m in actor.menu))
    regions = list(actor.regions)
    rcum = list(accumulate(actor.region_weights or [1] * len(regions)))
    per_second = actor.rate / 3600.0
    cred: Cred | None = None
    ip = rng.choice(actor.ips)
    t = start
    while True:
        step = timedelta(seconds=rng.expovariate(per_second))
        cut = world.cut_time(cred) if cred is not None else None
        if cut is not None and t < cut < t + step:
            # a busy client notices the cut-off within a minute or two
            step = cut - t + timedelta(seconds=rng.randint(5, 100))
        t = t + step
        if t >= end:
            break
        if cred is None or (cred.expires_at is not None and t >= cred.expires_at - actor.renew_before):
            t = t.replace(microsecond=0)  # credentials are issued on whole seconds, as CloudTrail logs them
            records, cred = actor.issue(t, ip)
            yield from records
            if cred is None:
                break
            actor.issued.append(cred)
            t = max(t, cred.issued_at or t) + timedelta(seconds=rng.randint(1, 4))
            if t >= end:
                break
        name = names[bisect(cum, rng.random() * cum[-1])]
        region = regions[bisect(rcum, rng.random() * rcum[-1])] if name not in _GLOBAL else "us-east-1"
        args = call_args(world, c, name, t, region)
        error: Any = None
        if rng.random() < actor.error_rate:
            error = _ERRORS.get(name, "denied") if rng.random() < 0.6 else "denied"
        identity = {**cred.identity, "invokedBy": actor.invoked_by} if actor.invoked_by else None
        src_ip, extra = actor.invoked_by or ip, None
        if actor.vpc_endpoint and name in _VPCE_CALLS:
            src_ip, extra = actor.vpc_endpoint[0], {"vpcEndpointId": actor.vpc_endpoint[1]}
        rec = world.call(
            cred,
            t,
            name,
            region=region,
            ip=src_ip,
            extra=extra,
            ua=actor.invoked_by or actor.agents(name),
            error=error,
            identity=identity,
            **args,
        )
        yield rec
        if world.denied_by_cutoff(cred, t) and name != "GetCallerIdentity":
            # the client sees AccessDenied, drops its cached credentials and signs in again
            t = t + timedelta(seconds=rng.randint(20, 240))
            cred = None


_BUCKET_SUBRESOURCE: dict[str, dict[str, str]] = {
    "ListObjects": {"list-type": "2", "prefix": "", "encoding-type": "url"},
    "GetBucketLocation": {"location": ""},
    "GetBucketAcl": {"acl": ""},
    "GetBucketPolicy": {"policy": ""},
}
_VPCE_CALLS = {"GetObject", "PutObject", "HeadObject", "ListObjects", "GetItem", "PutItem", "Query"}
_GLOBAL = {
    "ListUsers",
    "ListRoles",
    "GetUser",
    "GetRole",
    "ListAttachedRolePolicies",
    "ListRolePolicies",
    "GetAccountAuthorizationDetails",
    "ListAccessKeys",
    "GetCallerIdentity",
    "ListBuckets",
}


def daily(
    c: Cast,
    rng: random.Random,
    start_h: float,
    end_h: float,
    *,
    weekdays: bool = True,
    jitter_min: int = 40,
    skip: Sequence[datetime] = (),
) -> list[Window]:
    """Working-hours windows, one per day of the scenario (weekdays only unless told)."""
    out = []
    for d in range(c.days):
        day = c.start + timedelta(days=d)
        if (weekdays and day.weekday() >= 5) or any(day.date() == s.date() for s in skip):
            continue
        s = day + timedelta(hours=start_h, minutes=rng.randint(0, jitter_min), seconds=rng.randrange(60))
        e = day + timedelta(hours=end_h, minutes=rng.randint(0, jitter_min))
        out.append((s, e))
    return out


def console_agent(name: str) -> str:
    """The user agent a console page sends for ``name``."""
    if name in ("ListBuckets", "GetBucketLocation", "GetBucketAcl", "GetBucketPolicy", "ListObjects"):
        return ua.S3_CONSOLE
    if name.startswith("Describe") and name not in ("DescribeTable", "DescribeKey", "DescribeLogGroups"):
        return "console.ec2.amazonaws.com"
    return "AWS Internal"
