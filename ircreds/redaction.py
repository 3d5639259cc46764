"""Redaction of session tokens, secret keys and presigned-URL signatures: by key, by pair and by value.

One module, used by every loading path (the general path, the msgspec and DuckDB fast paths, frames
read back from parquet) and by the report. What is replaced by :data:`REDACTED`:

- **by key**: the value of any key whose name *ends* with ``session token``, ``security token`` or
  ``secret access key`` in any case and spelling (``sessionToken``, ``aws_session_token``,
  ``X-Amz-Security-Token``, ``AWS_SECRET_ACCESS_KEY``...), or is ``X-Amz-Signature``. JSON escapes
  (``"session\\u0054oken"``) are decoded before the key is read;
- **by name/value pair**: ``{"name": "AWS_SESSION_TOKEN", "value": ...}`` (CodeBuild, ECS and Batch
  environment variables; ``Name``/``Key`` and ``Value`` too);
- **in any string**: ``key=value`` / ``"key": "value"`` text for those keys (also JSON-escaped or
  HTML-escaped quotes), presigned-URL parameters (``X-Amz-Security-Token=``, ``X-Amz-Signature=``,
  SigV2 ``&Signature=``; ``X-Amz-Credential`` holds the access key id, not a secret, and is kept),
  a 40-character secret key after a secret key name, and **token-shaped values**: STS session tokens
  start with recognisable base64 (``IQoJb3JpZ2lu``, ``FwoGZXIvYXdz``, ``FQoGZXIvYXdz``, ``AQoDYXdz``,
  ``AQoEXAMPLE``...) and are long (at least 74 characters are required, more than any IAM or session
  name can hold, so an attacker cannot hide a session name by making it look like a token);
- strings that are JSON documents (even with leading whitespace) are parsed and redacted by key too.

Every function first runs a cheap test (:func:`might_hold_secret`, the :data:`HINT` pattern) that
is a superset of all the rules: a value that fails it is returned as it is, so the common record
costs one scan. :data:`HINT` is also valid RE2, for DuckDB and Arrow.

Kernel module: imports nothing from ircreds but :mod:`ircreds.schema`.

Example:
    >>> redact({"credentials": {"accessKeyId": "ASIAEXAMPLE", "sessionToken": "FwoG..."}})
    {'credentials': {'accessKeyId': 'ASIAEXAMPLE', 'sessionToken': '<redacted>'}}
    >>> redact([{"name": "AWS_SESSION_TOKEN", "value": "x"}, {"name": "STAGE", "value": "prod"}])
    [{'name': 'AWS_SESSION_TOKEN', 'value': '<redacted>'}, {'name': 'STAGE', 'value': 'prod'}]
    >>> scrub("GET /o?X-Amz-Credential=ASIAEXAMPLE%2F20250120&X-Amz-Signature=9f2c&X-Amz-Security-Token=abc")
    'GET /o?X-Amz-Credential=ASIAEXAMPLE%2F20250120&X-Amz-Signature=<redacted>&X-Amz-Security-Token=<redacted>'
    >>> redact_text("failed: " + "IQoJb3JpZ2luX2VjE" + "A" * 80 + " expired")
    'failed: <redacted> expired'
    >>> redact_text("role session IQoJb3JpZ2lu-is-a-name")  # short: a name, not a token
    'role session IQoJb3JpZ2lu-is-a-name'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

from ircreds.schema import REDACTED

__all__ = [
    "HINT",
    "REDACTED",
    "TOKEN_PREFIXES",
    "is_secret_name",
    "might_hold_secret",
    "redact",
    "redact_json_text",
    "redact_text",
    "scrub",
]

#: The start of STS session tokens seen in logs and in the AWS documentation (base64 of a version
#: byte, then ``\n\t origin``, ``\n\x06 er/aws`` or ``\n\x03 aws``). Any first character is matched.
TOKEN_PREFIXES = ("IQoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AQoDYXdz", "AQoEXAMPLE")

_SEP = r"[_\-. ]?"  # one optional separator: never a JSON-escaped character, so raw and decoded text agree
_NAMES = rf"(?:session|security){_SEP}token|secret{_SEP}access{_SEP}key|x-amz-signature"

#: A cheap test that every value redaction would change passes (a superset of all the rules).
#: ``\\u``: a JSON escape may spell a key (``session\\u0054oken``), so escaped text gets the full look.
HINT = rf"(?i:{_NAMES}|[?&;]signature=)|\\u|oJb3JpZ2lu|oGZXIvYXdz|oDYXdz|AQoEXAMPLE"
_HINT = re.compile(HINT)

_NAME = re.compile(rf"(?i)(?:{_NAMES})$")
_NAME_KEYS = ("name", "Name", "key", "Key", "NAME", "KEY")
_VALUE_KEYS = frozenset({"value", "Value", "VALUE"})

# a quote as it may be written around a key or a value: plain, JSON-escaped or HTML-escaped
_Q = r"""(?:\\*["']|&quot;|&#34;|&#x22;|&#39;|&#x27;)?"""
# a value: up to a quote, a space or a separator; never an already redacted one, a JSON literal or a number
_V = r"""(?!<redacted>|(?:null|true|false|-?[0-9][0-9.eE+-]*)(?![^\s"'\\,;&}<>\]]))[^\s"'\\,;&}<>\]]+"""
_KV = re.compile(rf"(?i)(?P<k>(?:{_NAMES}){_Q}\s*[:=]\s*{_Q}\s*)(?P<v>{_V})")
_KV_SPACE = re.compile(
    rf"(?i)(?P<k>secret{_SEP}access{_SEP}key{_Q}\s+{_Q})(?P<v>[A-Za-z0-9+/]{{40}})(?![A-Za-z0-9+/=])"
)
_SIGV2 = re.compile(rf"(?i)(?P<k>[?&;]signature=)(?P<v>{_V})")
_PAIR = rf"{_Q}\s*[:=]\s*{_Q}"
_NV = re.compile(
    rf"(?i)(?P<k>(?:name|key){_PAIR}[\w.\-]*?(?:{_NAMES}){_Q}\s*,\s*{_Q}value{_PAIR})(?P<v>{_V})"
)
_VN = re.compile(
    rf"(?i)(?P<k>value{_PAIR})(?P<v>{_V})(?={_Q}\s*,\s*{_Q}(?:name|key){_PAIR}[\w.\-]*?(?:{_NAMES}){_Q}\s*[,}}\]])"
)
# JSON escapes of the characters a name is made of (letters, digits, "_", "-"): decoding them never
# makes markup ("<", "&", quotes), so a rendered page stays safe; repr() doubles the backslash
_ASCII_ESCAPE = re.compile(r"\\+u00(3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa]|5[Ff]|2[Dd])")
_B64 = r"(?:[A-Za-z0-9+/]|%2[BbFf]|\\/)"
_TOKEN = re.compile(
    r"(?:(?<=%3D)|(?<=%3d)|(?<![A-Za-z0-9+]))"  # not mid-run; a "/" may precede one ("sts/IQoJ...")
    rf"(?:{_B64}[AQgw]o(?:Jb3JpZ2lu|GZXIvYXdz|DYXdz)|AQoEXAMPLE){_B64}{{64,}}(?:=|%3[Dd]){{0,2}}"
)


def might_hold_secret(text: str) -> bool:
    """The cheap test: False means no rule of this module can change ``text``.

    A few substring tests first (far cheaper than any regex: most text fails them all), then
    :data:`HINT` for the few that pass (``nextToken``, ``SignatureVersion``...).

    Example:
        >>> might_hold_secret('{"userName": "alice"}'), might_hold_secret('{"SessionToken": "x"}')
        (False, True)
        >>> might_hold_secret('{"maxResults": 50, "nextToken": "eyJ2IjoxfQ=="}')
        False
    """
    low = text.lower()
    if (
        "token" in low
        or "secret" in low
        or "signature" in low
        or "\\u" in text
        or "b3jpz2lu" in low
        or "zxivyxdz" in low
        or "odyxdz" in low
        or "aqoexample" in low
    ):
        return _HINT.search(text) is not None
    return False


def is_secret_name(name: str) -> bool:
    """True for a key or variable name whose value is a secret (it ends with a secret's name).

    Example:
        >>> [is_secret_name(n) for n in ("aws_session_token", "X-Amz-Security-Token", "sessionTokenTtl")]
        [True, True, False]
    """
    return _NAME.search(name) is not None


def _sub(match: re.Match[str]) -> str:
    return match["k"] + REDACTED


def scrub(text: str) -> str:
    """``text`` with every secret the patterns find replaced (for rendered text: HTML, Markdown, CSV).

    Unlike :func:`redact_text` it never parses JSON, so a rendered document keeps its layout.

    Example:
        >>> scrub('{"sessionToken": "EXAMPLE-SESSION-TOKEN-00ff", "accessKeyId": "ASIAEXAMPLE"}')
        '{"sessionToken": "<redacted>", "accessKeyId": "ASIAEXAMPLE"}'
        >>> scrub("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        'export AWS_SECRET_ACCESS_KEY=<redacted>'
    """
    if not might_hold_secret(text):
        return text
    if "\\u" in text:  # a name spelled with JSON escapes inside text ("session\\u0054oken"): decode them
        decoded = _ASCII_ESCAPE.sub(_unescape, text)
        if decoded != text:
            fixed = _scrub(decoded)
            if fixed != decoded:
                return fixed
    return _scrub(text)


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match[1], 16))


def _scrub(text: str) -> str:
    low = text.lower()
    if "value" in low:
        text = _VN.sub(_sub, _NV.sub(_sub, text))
    text = _KV.sub(_sub, text)
    if "secret" in low:
        text = _KV_SPACE.sub(_sub, text)
    if "signature=" in low:
        text = _SIGV2.sub(_sub, text)
    return _TOKEN.sub(REDACTED, text)


def redact_text(text: str) -> str:
    """A string with its secrets replaced; a string holding a JSON document is redacted as one.

    Example:
        >>> redact_text('  {"Credentials": {"SessionToken": "x"}}')
        '{"Credentials":{"SessionToken":"<redacted>"}}'
    """
    if not might_hold_secret(text):
        return text
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            inner = _loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            redacted = _redact(inner)
            if redacted != inner:
                return _dumps(redacted)
    return scrub(text)


def redact_json_text(text: str) -> str:
    """Compact JSON text of a JSON document's text, redacted (text that is not JSON: as a string).

    Example:
        >>> redact_json_text('{"policy": " {\\\\"session\\\\\\\\u0054oken\\\\": \\\\"x\\\\"}"}')
        '{"policy":"{\\\\"sessionToken\\\\":\\\\"<redacted>\\\\"}"}'
    """
    if not might_hold_secret(text):
        return text
    try:
        value = _loads(text)
    except (ValueError, RecursionError):
        return scrub(text)
    return _dumps(redact(value))


def redact(value: Any) -> Any:
    """A copy of ``value`` (parsed JSON: dicts, lists, strings...) with every secret replaced.

    Looks at every key, every name/value pair and every string (strings that are JSON documents
    are parsed). Tuples come back as lists. Values that hold no secret are returned as they are.

    Example:
        >>> redact({"environment": {"variables": {"AWS_SECRET_ACCESS_KEY": "k", "TABLE": "t"}}})
        {'environment': {'variables': {'AWS_SECRET_ACCESS_KEY': '<redacted>', 'TABLE': 't'}}}
    """
    return _redact(value)


def _secret_pair(value: Mapping[Any, Any]) -> bool:
    for key in _NAME_KEYS:
        name = value.get(key)
        if isinstance(name, str):
            return _NAME.search(name.strip()) is not None
    return False


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict | Mapping):
        pair = _secret_pair(value)
        out = {}
        for key, item in value.items():
            if isinstance(key, str):
                if item is not None and (_NAME.search(key) or (pair and key in _VALUE_KEYS)):
                    out[key] = REDACTED
                    continue
                key = redact_text(key)
            out[key] = _redact(item)
        return out
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def _loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
