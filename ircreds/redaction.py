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
  ``AQoEXAMPLE``...) and are long (at least 72 characters are required, more than any IAM or session
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
import string
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
#: ``\\u00``: a JSON escape may spell a key (``session\\u0054oken``), so escaped text gets the full look.
HINT = rf"(?i:{_NAMES}|[?&;]signature=)|\\u00|oJb3JpZ2lu|oGZXIvYXdz|oDYXdz|AQoEXAMPLE"

_NAME = re.compile(rf"(?i)(?:{_NAMES})$")
_NAME_KEYS = ("name", "Name", "key", "Key", "NAME", "KEY")
_VALUE_KEYS = frozenset({"value", "Value", "VALUE"})
_SEPS = "_-. "
_TOKEN_CORES = ("oJb3JpZ2lu", "oGZXIvYXdz", "oDYXdz", "AQoEXAMPLE")

# Text is scanned from where a secret's name is (found with str.find, fast on long text such as a
# rendered page); these patterns are then matched at that place only.
# a quote as it may be written around a key or a value: plain, JSON-escaped or HTML-escaped
_Q = r"""(?:\\*["']|&quot;|&#34;|&#x22;|&#39;|&#x27;)?"""
# a value: up to a quote, a space or a separator; never an already redacted one, a JSON literal or a number
_V = r"""(?!<redacted>|(?:null|true|false|-?[0-9][0-9.eE+-]*)(?![^\s"'\\,;&}<>\]]))[^\s"'\\,;&}<>\]]+"""
_PAIR = rf"{_Q}\s*[:=]\s*{_Q}"
_AFTER_KEY = re.compile(rf"(?i){_PAIR}\s*(?P<v>{_V})")  # sessionToken=V, "sessionToken": "V"
_AFTER_KEY_SPACE = re.compile(rf"{_Q}\s+{_Q}(?P<v>[A-Za-z0-9+/]{{40}})(?![A-Za-z0-9+/=])")  # secret key V
_AFTER_NAME = re.compile(
    rf"(?i){_Q}\s*,\s*{_Q}value{_PAIR}(?P<v>{_V})"
)  # "name": "AWS_SESSION_TOKEN", "value": "V"
_BEFORE_NAME = re.compile(rf"(?i)(?:name|key){_PAIR}[\w.\-]*$")  # "name": "AWS_ before SESSION_TOKEN
_NAME_END = re.compile(rf"{_Q}\s*[,}}\]]")
_VALUE_BEFORE_NAME = re.compile(rf"(?i)value{_PAIR}(?P<v>{_V}){_Q}\s*,\s*{_Q}(?:name|key){_PAIR}[\w.\-]*$")
_AFTER_SIGV2 = re.compile(rf"(?i)(?P<v>{_V})")  # ?Signature=V (SigV2 presigned URLs)
# JSON escapes of the characters a name is made of (letters, digits, "_", "-"): decoding them never
# makes markup ("<", "&", quotes), so a rendered page stays safe; repr() doubles the backslash
_ASCII_ESCAPE = re.compile(r"\\+u00(3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa]|5[Ff]|2[Dd])")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_B64 = r"(?:[A-Za-z0-9+/]|%2[BbFf]|\\/)"
_TOKEN = re.compile(
    r"(?:(?<=%3D)|(?<=%3d)|(?<![A-Za-z0-9+]))"  # not mid-run; a "/" may precede one ("sts/IQoJ...")
    rf"(?:{_B64}[AQgw]o(?:Jb3JpZ2lu|GZXIvYXdz|DYXdz)|AQoEXAMPLE){_B64}{{64,}}(?:=|%3[Dd]){{0,2}}"
)


def might_hold_secret(text: str) -> bool:
    """The cheap test (what :data:`HINT` finds): False means no rule of this module can change ``text``.

    Substring tests only (far cheaper than a regex; most text fails them all); the few texts that
    hold ``token``, ``secret`` or ``signature`` get a look at the words around it.

    Example:
        >>> might_hold_secret('{"userName": "alice"}'), might_hold_secret('{"SessionToken": "x"}')
        (False, True)
        >>> might_hold_secret('{"maxResults": 50, "nextToken": "eyJ2IjoxfQ=="}')
        False
    """
    if "\\u00" in text:
        return True
    if ("YXdz" in text or "b3JpZ2lu" in text or "AQoEXAMPLE" in text) and any(
        c in text for c in _TOKEN_CORES
    ):
        return True
    low = text.lower()
    if "token" in low or "secret" in low or "signature" in low:
        return bool(_name_spans(low)) or _sigv2_at(low, 0) >= 0
    return False


def _before(low: str, end: int, word: str) -> int:
    """Where ``word`` starts when it ends at ``end`` (one separator allowed between), else -1."""
    start = end - len(word)
    if start >= 0 and low.startswith(word, start):
        return start
    if start >= 1 and low[end - 1] in _SEPS and low.startswith(word, start - 1):
        return start - 1
    return -1


def _after(low: str, pos: int, word: str) -> int:
    """Where ``word`` ends when it starts at ``pos`` (one separator allowed before), else -1."""
    if low.startswith(word, pos):
        return pos + len(word)
    if pos < len(low) and low[pos] in _SEPS and low.startswith(word, pos + 1):
        return pos + 1 + len(word)
    return -1


def _name_spans(low: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every secret's name in lower-cased text (session/security token, ...)."""
    spans = []
    i = low.find("token")
    while i >= 0:
        start = _before(low, i, "session")
        if start < 0:
            start = _before(low, i, "security")
        if start >= 0:
            spans.append((start, i + 5))
        i = low.find("token", i + 1)
    i = low.find("secret")
    while i >= 0:
        j = _after(low, i + 6, "access")
        end = _after(low, j, "key") if j >= 0 else -1
        if end >= 0:
            spans.append((i, end))
        i = low.find("secret", i + 1)
    i = low.find("x-amz-signature")
    while i >= 0:
        spans.append((i, i + 15))
        i = low.find("x-amz-signature", i + 1)
    return spans


def _sigv2_at(low: str, pos: int) -> int:
    """Where the value of the next ``?Signature=`` / ``&Signature=`` at or after ``pos`` starts, else -1."""
    i = low.find("signature=", pos)
    while i >= 0:
        if i > 0 and low[i - 1] in "?&;":
            return i + 10
        i = low.find("signature=", i + 1)
    return -1


def is_secret_name(name: str) -> bool:
    """True for a key or variable name whose value is a secret (it ends with a secret's name).

    Example:
        >>> [is_secret_name(n) for n in ("aws_session_token", "X-Amz-Security-Token", "sessionTokenTtl")]
        [True, True, False]
    """
    return _NAME.search(name) is not None


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
    if "\\u00" in text:  # a name spelled with JSON escapes inside text ("session\\u0054oken"): decode them
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
    if len(low) != len(text):  # a character whose lower case is longer ("İ"): keep positions aligned
        low = text.translate(_ASCII_LOWER)
    spans: list[tuple[int, int]] = []
    for start, end in _name_spans(low):
        found = _AFTER_KEY.match(text, end)  # the name is a key: sessionToken=V
        if found is None and low.startswith("secret", start):
            found = _AFTER_KEY_SPACE.match(text, end)
        if found is None and _BEFORE_NAME.search(text, max(0, start - 256), start):  # a pair's name
            found = _AFTER_NAME.match(text, end)
            if found is None and _NAME_END.match(text, end):
                found = _VALUE_BEFORE_NAME.search(text, max(0, start - 8192 - 256), start)
        if found is not None:
            spans.append(found.span("v"))
    i = _sigv2_at(low, 0)
    while i >= 0:
        found = _AFTER_SIGV2.match(text, i)
        if found is not None:
            spans.append(found.span("v"))
        i = _sigv2_at(low, i)
    if any(core in text for core in _TOKEN_CORES):
        spans.extend(m.span() for m in _TOKEN.finditer(text))
    if not spans:
        return text
    spans.sort()
    out, last = [], 0
    for start, end in spans:
        if start < last:  # overlaps the previous one (a token that is also a key's value)
            if end > last:
                last = end
            continue
        out += (text[last:start], REDACTED)
        last = end
    out.append(text[last:])
    return "".join(out)


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
