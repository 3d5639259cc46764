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

from ircreds.errors import SourceError
from ircreds.evidence.sources import Sink
from ircreds.evidence.sources.s3 import _aware, _aws_errors, _error_text

#: ``load()`` options this source takes.
OPTIONS = ("regions", "start", "end", "session", "client", "lookup")

#: What the load report's ``caveats`` repeat when the event history was read.
LOOKUP_CAVEAT = (
    "LookupEvents (CloudTrail event history) covers only the last 90 days, only management events "
    "(no S3 object-level or other data events), and one region per call"
)
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


def accepts(source: Any) -> bool:
    """A boto3 CloudTrail client (anything with a callable ``lookup_events``)."""
    return callable(getattr(source, "lookup_events", None))


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
    if session is None:
        import boto3

        session = boto3.Session()
    names = list(regions) if regions else [session.region_name or "us-east-1"]
    return [session.client("cloudtrail", region_name=name) for name in names]


def load_into(
    sink: Sink,
    client: Any = None,
    *,
    regions: Iterable[str] | None = None,
    start: Any = None,
    end: Any = None,
    session: Any = None,
    lookup: Any = None,
) -> None:
    """Page through ``lookup_events`` for each region and hand the events to the sink.

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
    aws_errors = _aws_errors()
    for each in _clients(client, session, regions):
        region = _region(each)
        name = f"cloudtrail:lookup_events/{region}"
        index = 0
        try:
            for page in each.get_paginator("lookup_events").paginate(**params):
                events = page.get("Events", [])
                sink.add_items(name, enumerate(events, index))
                index += len(events)
        except aws_errors as err:
            raise SourceError(
                f"CloudTrail LookupEvents failed in {region} ({_error_text(err)}); check that your "
                "credentials allow cloudtrail:LookupEvents in that region"
            ) from None
        sink.advance(0)
        sink.count_format("lookup_api", file=False)
        sink.describe(
            {"input": name, "kind": "lookup_api", "events": index, "lookup": params["LookupAttributes"]}
        )
    sink.caveat(LOOKUP_CAVEAT)
