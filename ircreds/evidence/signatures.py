"""CloudTrail digest signatures: the signing string, SHA256withRSA checks, and the public keys.

CloudTrail signs each digest with the private key of its region (aws-facts §4.2, CT-CUSTVAL): the
string it signs is, joined by ``\\n``,

1. ``digestEndTime`` as the digest writes it (UTC, extended: ``2015-08-12T04:01:31Z``);
2. ``<digestS3Bucket>/<digestS3Object>``;
3. the hex SHA-256 of the *uncompressed* digest file;
4. ``previousDigestSignature`` (hex), or the text ``null`` for the first digest of a chain.

The signature (hex) is the digest object's ``x-amz-meta-signature`` S3 metadata, and the next digest
repeats it as its ``previousDigestSignature``. It is checked with the public key whose fingerprint
the digest names (``digestPublicKeyFingerprint``), from CloudTrail's ``ListPublicKeys``: ``Value`` is
the DER-encoded PKCS#1 ``RSAPublicKey`` (base64 in JSON).

RSA itself is the ``cryptography`` package's (OpenSSL): signature checking is no place for our own code.

Example:
    >>> doc = {"digestEndTime": "2025-01-20T11:00:00Z", "digestS3Bucket": "b",
    ...        "digestS3Object": "AWSLogs/d.json.gz", "previousDigestSignature": None}
    >>> signing_string(doc, "ab12").decode()
    '2025-01-20T11:00:00Z\\nb/AWSLogs/d.json.gz\\nab12\\nnull'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ircreds.errors import LogFormatError

log = logging.getLogger(__name__)

#: The one algorithm CloudTrail uses (``digestSignatureAlgorithm``, ``x-amz-meta-signature-algorithm``).
SIGNATURE_ALGORITHM = "SHA256withRSA"
#: The file a folder of evidence keeps CloudTrail's public keys in (``ListPublicKeys`` output).
PUBLIC_KEYS_FILE = "public-keys.json"
#: The custody manifest ``ircreds acquire`` writes (every object's S3 metadata, hence the signatures).
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class PublicKey:
    """One CloudTrail public key (a ``ListPublicKeys`` entry) and the file it came from."""

    fingerprint: str
    der: bytes
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("valid_from", "valid_until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, got {value!r}")

    def valid_at(self, when: datetime | None) -> bool:
        """True when ``when`` is inside the key's validity (or either is unknown)."""
        if when is None:
            return True
        if self.valid_from is not None and when < self.valid_from:
            return False
        return not (self.valid_until is not None and when > self.valid_until)

    def to_dict(self) -> dict[str, Any]:
        """The ``ListPublicKeys`` entry as the AWS CLI prints it (``Value`` base64, times ISO 8601)."""
        return {
            "Value": base64.b64encode(self.der).decode("ascii"),
            "ValidityStartTime": _iso(self.valid_from),
            "ValidityEndTime": _iso(self.valid_until),
            "Fingerprint": self.fingerprint,
        }


def signing_string(doc: Mapping[str, Any], digest_sha256: str) -> bytes:
    """The bytes CloudTrail signs for a digest (see the module docstring), UTF-8."""
    previous = doc.get("previousDigestSignature")
    if previous is None:
        previous = "null"  # what CloudTrail's (Java) signer writes for a chain start
    return (
        f"{doc.get('digestEndTime')}\n{doc.get('digestS3Bucket')}/{doc.get('digestS3Object')}\n"
        f"{digest_sha256}\n{previous}"
    ).encode()


def fingerprint(der: bytes) -> str:
    """Hex MD5 of a public key's DER bytes: the fingerprint form ircreds gives the keys it makes.

    CloudTrail's own fingerprints are 32 hex digits as well; ircreds never recomputes them, it
    matches the ``Fingerprint`` ``ListPublicKeys`` returned. This is used only for a key file entry
    that has none.

    Example:
        >>> fingerprint(b"abc")
        '900150983cd24fb0d6963f7d28e17f72'
    """
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def public_key_der(key: rsa.RSAPublicKey) -> bytes:
    """A public key as ``ListPublicKeys`` gives it: DER, PKCS#1 ``RSAPublicKey``."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def sign(private_key: rsa.RSAPrivateKey, data: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) signature of ``data``, hex: deterministic for a given key."""
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


def verify(key: PublicKey, signature_hex: str, data: bytes) -> str | None:
    """None when ``signature_hex`` is a valid SHA256withRSA signature of ``data``, else why not."""
    try:
        signature = binascii.unhexlify(signature_hex.strip())
    except (binascii.Error, ValueError, AttributeError):
        return "the signature is not hex"
    try:
        public = serialization.load_der_public_key(key.der)
    except ValueError:
        return f"the public key with fingerprint {key.fingerprint} ({key.source}) is not an RSA key"
    if not isinstance(public, rsa.RSAPublicKey):
        return f"the public key with fingerprint {key.fingerprint} ({key.source}) is not an RSA key"
    try:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return f"SHA256withRSA signature does not verify with the public key {key.fingerprint}"
    return None


# ------------------------------------------------------------------------------------------- key files


def public_keys_document(keys: Iterable[PublicKey]) -> dict[str, Any]:
    """A ``ListPublicKeys``-shaped document (``{"PublicKeyList": [...]}``), what :func:`read_public_keys` reads."""
    return {"PublicKeyList": [k.to_dict() for k in sorted(keys, key=lambda k: k.fingerprint)]}


def read_public_keys(path: str | os.PathLike[str]) -> tuple[PublicKey, ...]:
    """The keys in a ``ListPublicKeys`` output file (AWS CLI ``list-public-keys`` JSON, or ircreds').

    ``Value`` is base64 DER; ``ValidityStartTime`` / ``ValidityEndTime`` ISO 8601 or epoch seconds.

    Raises:
        LogFormatError: the file is not such a document (one sentence naming the file and the entry).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise LogFormatError(f"{path}: cannot read the public keys ({err})") from None
    entries = doc.get("PublicKeyList") if isinstance(doc, Mapping) else doc
    if not isinstance(entries, list):
        raise LogFormatError(f"{path}: not a ListPublicKeys document (no PublicKeyList list)")
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or "Value" not in entry:
            raise LogFormatError(f"{path}: PublicKeyList[{i}] has no Value")
        value = entry["Value"]
        try:
            der = value if isinstance(value, bytes) else base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise LogFormatError(f"{path}: PublicKeyList[{i}].Value is not base64") from None
        out.append(
            PublicKey(
                fingerprint=str(entry.get("Fingerprint") or fingerprint(der)).lower(),
                der=der,
                valid_from=_time(entry.get("ValidityStartTime")),
                valid_until=_time(entry.get("ValidityEndTime")),
                source=str(path),
            )
        )
    return tuple(out)


def keys_from_api(
    entries: Sequence[Mapping[str, Any]], source: str = "ListPublicKeys"
) -> tuple[PublicKey, ...]:
    """The keys of a boto3 ``list_public_keys`` response's ``PublicKeyList`` (``Value`` bytes, datetimes)."""
    out = []
    for entry in entries:
        value = entry["Value"]
        der = bytes(value) if isinstance(value, bytes | bytearray) else base64.b64decode(str(value))
        out.append(
            PublicKey(
                fingerprint=str(entry.get("Fingerprint") or fingerprint(der)).lower(),
                der=der,
                valid_from=_time(entry.get("ValidityStartTime")),
                valid_until=_time(entry.get("ValidityEndTime")),
                source=source,
            )
        )
    return tuple(out)


def read_manifest_signatures(path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """``{s3 key: (signature hex, algorithm)}`` from a custody manifest's S3 metadata (``files[].metadata``).

    Keys are the S3 object keys (without bucket); a manifest that cannot be read gives ``{}`` with a warning.
    """
    try:
        doc = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as err:
        log.warning("cannot read manifest %s: %s", path, err)
        return {}
    out: dict[str, tuple[str, str]] = {}
    for entry in doc.get("files") or () if isinstance(doc, Mapping) else ():
        if not isinstance(entry, Mapping):
            continue
        meta = entry.get("metadata") or {}
        if isinstance(meta, Mapping) and meta.get("signature") and entry.get("s3_key"):
            out[str(entry["s3_key"])] = (
                str(meta["signature"]),
                str(meta.get("signature-algorithm") or ""),
            )
    return out


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
