"""EDGE: a live account's CloudTrail event history, through boto3 ``lookup_events``.

Limits (AWS's, repeated in the load report's ``caveats``): the last 90 days only, management
events only (no S3 object-level or other data events), one region per call, at most one lookup
attribute per call, about 2 requests per second per account and region.

``evidence.file`` is ``cloudtrail:lookup_events/<region>`` and ``evidence.line`` the event's
position in that region's results (newest first, as AWS returns them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ircreds.errors import SourceError
from ircreds.evidence.sources.s3 import _aware, _error_text

OPTIONS = ("regions", "start", "end", "session", "client", "lookup")
ATTRIBUTES = (
    "AccessKeyId",
    "EventId",
    "EventName",
    "EventSource",
    "ReadOnly",
    "ResourceName",
    "ResourceType",
    "Username",
)


def lookup_attributes(lookup: Any) -> list[dict[str, str]]:
    """``lookup=`` as the API wants it: ``{"AccessKeyId": "ASIA..."}`` -> ``[{"AttributeKey": ..., ...}]``.

    ``True`` (or an empty mapping) means no attribute: the whole history.

    Example:
        >>> lookup_attributes({"AccessKeyId": "ASIAIOSFODNN7EXAMPLE"})
        [{'AttributeKey': 'AccessKeyId', 'AttributeValue': 'ASIAIOSFODNN7EXAMPLE'}]
    """
    if lookup is None or lookup is True or (isinstance(lookup, Mapping) and not lookup):
        return []
    if not isinstance(lookup, Mapping):
        raise ValueError('lookup= takes a mapping such as {"AccessKeyId": "ASIA..."} or True')
    if len(lookup) > 1:
        raise ValueError(
            "LookupEvents takes one lookup attribute per call; pass one, e.g. {'AccessKeyId': ...}"
        )
    ((key, value),) = lookup.items()
    if key not in ATTRIBUTES:
        raise ValueError(f"unknown lookup attribute {key!r}; valid: {', '.join(ATTRIBUTES)}")
    return [{"AttributeKey": key, "AttributeValue": str(value)}]


def _region(client: Any) -> str:
    return getattr(getattr(client, "meta", None), "region_name", None) or "unknown-region"


def _clients(client: Any, session: Any, regions: Iterable[str] | None) -> list[Any]:
    if client is not None:
        return [client]
    session = session or boto3.Session()
    names = list(regions) if regions else [session.region_name or "us-east-1"]
    return [session.client("cloudtrail", region_name=name) for name in names]


def load_into(
    collector: Any,
    client: Any = None,
    *,
    regions: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
    session: Any = None,
    lookup: Any = None,
) -> None:
    """Page through ``lookup_events`` for each region and hand the events to the collector.

    Raises:
        SourceError: when the API refuses (access denied, throttling that outlasts retries...).
    """
    params: dict[str, Any] = {"LookupAttributes": lookup_attributes(lookup)}
    start_at: datetime | None = _aware(start, "start")
    end_at: datetime | None = _aware(end, "end")
    if start_at:
        params["StartTime"] = start_at
    if end_at:
        params["EndTime"] = end_at
    for each in _clients(client, session, regions):
        region = _region(each)
        name = f"cloudtrail:lookup_events/{region}"
        index = 0
        try:
            for page in each.get_paginator("lookup_events").paginate(**params):
                events = page.get("Events", [])
                collector.add_items(name, enumerate(events, index))
                index += len(events)
        except (ClientError, BotoCoreError) as err:
            raise SourceError(
                f"CloudTrail LookupEvents failed in {region} ({_error_text(err)}); check that your "
                "credentials allow cloudtrail:LookupEvents in that region"
            ) from None
        collector.advance(0)
        collector.formats["lookup_api"] = collector.formats.get("lookup_api", 0) + 1
        collector.sources.append(
            {"input": name, "kind": "lookup_api", "events": index, "lookup": params["LookupAttributes"]}
        )
