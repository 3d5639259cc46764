"""CloudTrail record builders: one function per issuing path, one for ordinary calls.

Shapes follow ``docs/aws-facts.md`` §1–§4: identity types, ``sessionContext``, text
``expiration`` dates in UTC, error records, data events. Every builder takes its time and
randomness from the caller (a seeded :class:`Ids`), so output is reproducible.

Example:
    >>> from datetime import UTC, datetime
    >>> expiration_text(datetime(2025, 1, 20, 21, 14, 27, tzinfo=UTC))
    'Jan 20, 2025, 9:14:27 PM'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ircreds.errors import ScenarioError
from ircreds.times import iso_z

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TOKEN_PREFIX = "EXAMPLE-SESSION-TOKEN-"


def iso(t: datetime) -> str:
    """CloudTrail's ``eventTime`` form: ``2025-01-20T09:14:27Z``."""
    if t.tzinfo is None:
        raise ScenarioError(f"naive datetime {t!r} in a scenario; pass tz-aware UTC times")
    return iso_z(t)


def expiration_text(t: datetime) -> str:
    """The locale-style text date STS writes in ``credentials.expiration`` (UTC)."""
    t = t.astimezone(UTC)
    hour = t.hour % 12 or 12
    return f"{_MONTHS[t.month - 1]} {t.day}, {t.year}, {hour}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


class Ids:
    """Seeded identifiers: event ids, request ids, key ids, unique ids, fake tokens.

    Example:
        >>> ids = Ids(random.Random(1))
        >>> ids.key("ASIA")[:4], len(ids.key("ASIA")), len(ids.unique("AROA"))
        ('ASIA', 20, 21)
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._seen: set[str] = set()

    def uuid(self) -> str:
        """A version-4 style UUID drawn from the seeded generator."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _unique(self, make: Any) -> str:
        while True:
            value = make()
            if value not in self._seen:
                self._seen.add(value)
                return value

    def key(self, prefix: str) -> str:
        """An access key id (``ASIA…``/``AKIA…``), 20 characters, never repeated."""
        return self._unique(lambda: prefix + "".join(self.rng.choices(_B32, k=16)))

    def unique(self, prefix: str) -> str:
        """A unique principal id (``AROA…``, ``AIDA…``), 21 characters."""
        return self._unique(lambda: prefix + "".join(self.rng.choices(_B32, k=17)))

    def s3_request_id(self) -> str:
        """S3's 16-character request id."""
        return "".join(self.rng.choices(_ALNUM, k=16))

    def hex(self, n: int) -> str:
        """``n`` hex digits."""
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def token(self) -> str:
        """An obviously fake session token (redaction still has something to find)."""
        return TOKEN_PREFIX + self.hex(64)

    def instance_id(self) -> str:
        """An EC2 instance id."""
        return "i-0" + self.hex(16)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Cred:
    """Something that signs requests: its key id, the ``userIdentity`` its calls carry, its life.

    ``role_arn`` / ``user_arn`` say which cut-off policies can reach it; ``temporary`` is False
    for long-term ``AKIA`` keys, which ``aws:TokenIssueTime`` never matches.
    """

    key_id: str
    identity: dict[str, Any]
    kind: str
    label: str
    account: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    role_arn: str | None = None
    user_arn: str | None = None
    temporary: bool = True
    console: bool = False
    issuing_event_id: str | None = None
    parent_key_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def iam_user_identity(account: str, name: str, user_id: str, key_id: str) -> dict[str, Any]:
    """``userIdentity`` of an IAM user signing with a key."""
    return {
        "type": "IAMUser",
        "principalId": user_id,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": key_id,
        "userName": name,
    }


def _attributes(created: datetime, mfa: bool) -> dict[str, str]:
    return {"creationDate": iso(created), "mfaAuthenticated": "true" if mfa else "false"}


def role_session_identity(
    *,
    account: str,
    role_name: str,
    role_id: str,
    session_name: str,
    key_id: str,
    created: datetime,
    mfa: bool = False,
    web_id: dict[str, Any] | None = None,
    ec2_delivery: str | None = None,
    source_identity: str | None = None,
    in_scope_of: dict[str, str] | None = None,
    role_arn: str | None = None,
) -> dict[str, Any]:
    """``userIdentity`` of a call made with a role session (``AssumedRole``)."""
    ctx: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "principalId": role_id,
            "arn": role_arn or f"arn:aws:iam::{account}:role/{role_name}",
            "accountId": account,
            "userName": role_name,
        },
        "webIdFederationData": web_id or {},
        "attributes": _attributes(created, mfa),
    }
    if source_identity:
        ctx["sourceIdentity"] = source_identity
    if ec2_delivery:
        ctx["ec2RoleDelivery"] = ec2_delivery
    ident: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session_name}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}",
        "accountId": account,
        "accessKeyId": key_id,
        "sessionContext": ctx,
    }
    if in_scope_of:
        ident["inScopeOf"] = in_scope_of
    return ident


def tls(host: str) -> dict[str, str]:
    """The ``tlsDetails`` block of a call to ``host``."""
    return {
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": host,
    }


def base_record(
    ids: Ids,
    *,
    identity: dict[str, Any],
    t: datetime,
    source: str,
    name: str,
    region: str,
    ip: str,
    ua: str,
    params: Any,
    response: Any,
    recipient: str,
    read_only: bool | None,
    error: tuple[str, str] | None = None,
    resources: list[dict[str, str]] | None = None,
    additional: dict[str, Any] | None = None,
    data_event: bool = False,
    event_type: str = "AwsApiCall",
    shared_event_id: str | None = None,
    request_id: str | None = None,
    host: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One CloudTrail record, keys in the order CloudTrail writes them."""
    rec: dict[str, Any] = {
        "eventVersion": "1.10" if data_event else "1.08",
        "userIdentity": identity,
        "eventTime": iso(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
    }
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    rec["requestParameters"] = params
    rec["responseElements"] = None if error else response
    if additional is not None:
        rec["additionalEventData"] = additional
    rec["requestID"] = request_id or (ids.s3_request_id() if source == "s3.amazonaws.com" else ids.uuid())
    rec["eventID"] = ids.uuid()
    if read_only is not None:
        rec["readOnly"] = read_only
    if resources:
        rec["resources"] = resources
    rec["eventType"] = event_type
    rec["managementEvent"] = not data_event
    rec["recipientAccountId"] = recipient
    if shared_event_id:
        rec["sharedEventID"] = shared_event_id
    rec["eventCategory"] = "Data" if data_event else "Management"
    if host:
        rec["tlsDetails"] = tls(host)
    if extra:
        rec.update(extra)
    return rec


def sts_host(region: str) -> str:
    """The STS endpoint a regional call goes to (global endpoint events land in us-east-1)."""
    return "sts.amazonaws.com" if region == "us-east-1" else f"sts.{region}.amazonaws.com"


def credentials_block(ids: Ids, key_id: str, expires: datetime) -> dict[str, str]:
    """``responseElements.credentials`` with a fake token and the text expiration."""
    return {"accessKeyId": key_id, "sessionToken": ids.token(), "expiration": expiration_text(expires)}


def role_resource(account: str, role_arn: str) -> list[dict[str, str]]:
    """``resources`` of an AssumeRole* record."""
    return [{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}]
