"""The DuckDB path for S3 delivery files: many files parsed by DuckDB's JSON reader into one Arrow table.

It gives exactly the frame of the general path (:mod:`ircreds.evidence.sources._normalize`), or declines a
file, which then goes through the general path (not the msgspec one, whose raw JSON text keeps
escapes such as ``\\u00e9`` that the general path decodes). Correctness never depends on this
module: it only keeps a file when every check below holds for every record of it.

How a batch of files is read:

1. Python reads and gunzips each file (isal) and keeps the ones that start like a compact
   ``{"Records":[`` document.
2. DuckDB, per file, infers the merged JSON structure of its records (``json_structure``): every
   top-level and ``userIdentity`` key must be one a column holds (so ``extra`` only ever holds the
   known top-level fields, which SQL can rebuild in the general path's order), and every string
   column must hold only strings. An extra field that is JSON ``null`` somewhere (which SQL cannot
   tell from a missing one) declines the file too.
3. DuckDB extracts the columns (``from_json`` with a fixed structure, ``unnest``), compact JSON text
   for the nested fields (yyjson writes the same compact text as orjson, key order kept), and flags
   records it cannot be sure of (a nested field held as a JSON string, an odd flag value, an odd
   issued credential).
4. Python parses the times with Arrow (the general path's own parser) and declines files with
   any odd ``eventTime``; the few text ``expiration`` dates go through the general parser. JSON text
   whose numbers or escapes yyjson writes differently from orjson declines its file; JSON text that
   may hold a secret (:data:`ircreds.redaction.HINT`, tested by RE2 in the query) is redone by
   :func:`ircreds.evidence.sources._normalize.json_text` (redaction), and the free-text columns
   (user agent, error code and message) are redacted once per distinct value.
5. Batches run side by side on worker threads (DuckDB scans a one-row-per-file Arrow table on a
   single thread). A batch that DuckDB fully takes, with no other file between its first and last,
   comes back sorted by time as one table (only when every repeated ``eventID`` in it has one
   time, so ties, re-deliveries and collisions keep file order); otherwise one slice per file.

Known limit (not detected): a JSON object with a repeated key (never seen in CloudTrail) keeps
both copies in the JSON text, and a repeated column key gives its first value, where the general
path keeps the last.

Example:
    >>> import gzip, os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> doc = b'{"Records":[{"eventTime":"2025-01-20T09:14:27Z","eventName":"ListUsers","eventID":"a"}]}'
    >>> with open(os.path.join(folder, "f.json.gz"), "wb") as fh:
    ...     _ = fh.write(gzip.compress(doc))
    >>> [o] = read_paths([os.path.join(folder, "f.json.gz")], workers=1)
    >>> o.kind, o.records_read, o.table.column("eventName").to_pylist()
    ('cloudtrail_s3', 1, ['ListUsers'])
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ircreds.evidence.sources import _reader
from ircreds.evidence.sources._arrow import SCHEMA, TIMESTAMP, redact_strings, strptime_iso_z
from ircreds.evidence.sources._limits import DEFAULT, MAX_DEPTH, Limits, passed, too_deep
from ircreds.evidence.sources._normalize import (
    TEXT_COLUMNS,
    RecordError,
    json_text,
    loads,
    parse_timestamp_one,
)
from ircreds.evidence.sources.cloudtrail_files import FileError, gunzip, read_file
from ircreds.redaction import HINT, might_hold_secret
from ircreds.schema import COLUMNS, JSON_COLUMNS
from ircreds.times import TEXT_DATE

log = logging.getLogger(__name__)

#: Decompressed bytes handed to DuckDB in one query (bounds memory; about 45,000 records).
BATCH_BYTES = 64_000_000
#: Files per Arrow record batch handed to DuckDB (its unit of parallel work).
DOCS_PER_CHUNK = 8
#: DuckDB threads.
THREADS = max(1, min(os.cpu_count() or 1, 4))

_HEAD = b'{"Records":['

_STRINGS_TOP = (
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
)
_BOOLS_TOP = ("readOnly", "managementEvent", "sessionCredentialFromConsole")
_JSON_TOP = (
    "requestParameters",
    "responseElements",
    "resources",
    "additionalEventData",
    "serviceEventDetails",
)
#: Top-level fields kept in ``extra``, in the general path's order (``userIdentity`` excepted).
_EXTRAS = (
    "tlsDetails",
    "apiVersion",
    "addendum",
    "vpcEndpointAccountId",
    "edgeDeviceDetails",
    "insightDetails",
    "eventContext",
)
_UI_STRINGS = (
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "identityProvider",
)
_SI_STRINGS = ("type", "principalId", "arn", "accountId", "userName")


def _struct(fields: dict[str, Any]) -> str:
    return orjson.dumps(fields).decode().replace("'", "''")


_REC: dict[str, Any] = {
    **dict.fromkeys(_STRINGS_TOP, "VARCHAR"),
    **dict.fromkeys(_BOOLS_TOP, "VARCHAR"),
    **dict.fromkeys(_JSON_TOP, "JSON"),
    **dict.fromkeys(_EXTRAS, "JSON"),
    "userIdentity": {
        **dict.fromkeys(_UI_STRINGS, "VARCHAR"),
        "sessionContext": {
            "sessionIssuer": dict.fromkeys(_SI_STRINGS, "VARCHAR"),
            "webIdFederationData": "JSON",
            "attributes": {"creationDate": "VARCHAR", "mfaAuthenticated": "VARCHAR"},
            "sourceIdentity": "VARCHAR",
            "ec2RoleDelivery": "VARCHAR",
        },
        "inScopeOf": {"issuerType": "VARCHAR", "credentialsIssuedTo": "VARCHAR"},
    },
}

_NULL_EXTRA = "|".join(_EXTRAS)


def _bool(expr: str) -> str:
    return f"CASE {expr} WHEN 'true' THEN true WHEN 'false' THEN false END"


def _bool_odd(expr: str) -> str:
    return f"({expr} IS NOT NULL AND {expr} NOT IN ('true', 'false'))"


def _key(expr: str) -> str:
    return f"CASE WHEN {expr} IN ('', 'Unknown') THEN NULL ELSE {expr} END"


def _json_odd(expr: str) -> str:
    # a nested field stored as JSON text: the general path parses it back
    return f"(left({expr}, 2) IN ('\"{{', '\"['))"


_UI = "r.userIdentity"
_SC = "r.userIdentity.sessionContext"
_SI = "r.userIdentity.sessionContext.sessionIssuer"

_SELECT: dict[str, str] = {
    "eventTime": "r.eventTime",
    "eventName": "r.eventName",
    "eventSource": "r.eventSource",
    "awsRegion": "r.awsRegion",
    "sourceIPAddress": "r.sourceIPAddress",
    "userAgent": "r.userAgent",
    "errorCode": "r.errorCode",
    "errorMessage": "r.errorMessage",
    "userIdentity.type": f"{_UI}.type",
    "userIdentity.arn": f"{_UI}.arn",
    "userIdentity.accountId": f"{_UI}.accountId",
    "userIdentity.accessKeyId": _key(f"{_UI}.accessKeyId"),
    "userIdentity.principalId": f"{_UI}.principalId",
    "userIdentity.userName": f"{_UI}.userName",
    "userIdentity.invokedBy": f"{_UI}.invokedBy",
    "userIdentity.sessionContext.sessionIssuer.arn": f"{_SI}.arn",
    "userIdentity.sessionContext.attributes.creationDate": f"{_SC}.attributes.creationDate",
    "userIdentity.sessionContext.attributes.mfaAuthenticated": _bool(f"{_SC}.attributes.mfaAuthenticated"),
    "userIdentity.sessionContext.sourceIdentity": f"{_SC}.sourceIdentity",
    "recipientAccountId": "r.recipientAccountId",
    "eventID": "r.eventID",
    "requestID": "r.requestID",
    "sharedEventID": "r.sharedEventID",
    "eventType": "r.eventType",
    "readOnly": _bool("r.readOnly"),
    "vpcEndpointId": "r.vpcEndpointId",
    "requestParameters": "r.requestParameters::VARCHAR",
    "responseElements": "re",
    "resources": "r.resources::VARCHAR",
    "additionalEventData": "r.additionalEventData::VARCHAR",
    "issued.accessKeyId": _key("json_extract_string(ik, '$')"),
    "issued.expiration": "json_extract_string(ie, '$')",
    "eventVersion": "r.eventVersion",
    "eventCategory": "r.eventCategory",
    "managementEvent": _bool("r.managementEvent"),
    "userIdentity.sessionContext.sessionIssuer.type": f"{_SI}.type",
    "userIdentity.sessionContext.sessionIssuer.userName": f"{_SI}.userName",
    "userIdentity.sessionContext.sessionIssuer.principalId": f"{_SI}.principalId",
    "userIdentity.sessionContext.sessionIssuer.accountId": f"{_SI}.accountId",
    "userIdentity.sessionContext.ec2RoleDelivery": f"{_SC}.ec2RoleDelivery",
    "userIdentity.inScopeOf.issuerType": f"{_UI}.inScopeOf.issuerType",
    "userIdentity.inScopeOf.credentialsIssuedTo": f"{_UI}.inScopeOf.credentialsIssuedTo",
    "userIdentity.identityProvider": f"{_UI}.identityProvider",
    "userIdentity.sessionContext.webIdFederationData.federatedProvider": (
        "CASE WHEN wi IS NULL OR wi = '{}' THEN NULL ELSE json_extract_string(wi, '$.federatedProvider') END"
    ),
    "sessionCredentialFromConsole": _bool("r.sessionCredentialFromConsole"),
    "serviceEventDetails": "r.serviceEventDetails::VARCHAR",
    "extra": "ex",
}

_EXTRA_SQL = (
    "CASE WHEN coalesce(wa, "
    + ", ".join(f"r.{e}::VARCHAR" for e in _EXTRAS)
    + ") IS NULL THEN NULL ELSE '{' || concat_ws(',', "
    + """'"userIdentity":{"sessionContext":{"webIdFederationData":{"attributes":' || wa || '}}}', """
    + ", ".join(f"""'"{e}":' || r.{e}::VARCHAR""" for e in _EXTRAS)
    + ") || '}' END"
)

_ODD = " OR ".join(
    [
        *(_bool_odd(f"r.{b}") for b in _BOOLS_TOP),
        _bool_odd(f"{_SC}.attributes.mfaAuthenticated"),
        *(_json_odd(f"r.{j}::VARCHAR") for j in _JSON_TOP),
        "(wi IS NOT NULL AND wi <> '{}' AND json_type(wi) <> 'OBJECT')",
        "(ik IS NOT NULL AND json_type(ik) NOT IN ('VARCHAR', 'NULL'))",
        "(ie IS NOT NULL AND json_type(ie) NOT IN ('VARCHAR', 'NULL'))",
    ]
)

#: JSON text that yyjson (DuckDB) writes differently from orjson: upper-case ``\\u00XX`` escapes,
#: big, tiny or exponent numbers (17+ digits, integers beyond 64 bits, ``1e20``, ``1E400``, ``0.000001``).
_UNSURE = r"\\u00[0-9A-F][A-F]|[:,\[]-?[0-9]{17}|[:,\[]-?[0-9]+(?:\.[0-9]+)?[eE][+0-9]|[:,\[]-?0\.000"
_UNSURE_RE = re.compile(_UNSURE)
_JSON_COLUMNS = JSON_COLUMNS


# rows whose JSON text needs a second look in Python (RE2 in DuckDB, in parallel)
_LOOK_PATTERN = (_UNSURE + "|" + HINT).replace("'", "''")
_LOOK = (
    "coalesce("
    + " OR ".join(
        f"regexp_matches({expr}, '{_LOOK_PATTERN}')"
        for expr in (
            "r.requestParameters::VARCHAR",
            "re",
            "r.resources::VARCHAR",
            "r.additionalEventData::VARCHAR",
            "r.serviceEventDetails::VARCHAR",
            "ex",
        )
    )
    + ", false)"
)

_QUERY = f"""
WITH d AS (
    SELECT file_idx, from_json(json, '{_struct({"Records": [_REC]})}').Records AS recs FROM docs
), u AS (
    SELECT file_idx, unnest(recs) AS r, unnest(range(len(recs))) AS line FROM d
), v AS (
    SELECT file_idx, line, r,
        r.responseElements::VARCHAR AS re,
        r.userIdentity.sessionContext.webIdFederationData::VARCHAR AS wi,
        CASE WHEN wi IS NOT NULL AND wi <> '{{}}' AND json_type(wi) = 'OBJECT'
                  AND json_type(wi, '$.attributes') IS NOT NULL
             THEN json_extract(wi, '$.attributes')::VARCHAR END AS wa,
        CASE WHEN r.responseElements IS NOT NULL
                  AND (contains(r.responseElements::VARCHAR, '"credentials"') OR r.eventName = 'CreateAccessKey')
                  AND json_type(r.responseElements) = 'OBJECT'
             THEN json_type(r.responseElements, '$.credentials') END AS ct
    FROM u
), w AS (
    SELECT *,
        CASE WHEN ct = 'OBJECT' THEN json_extract(re, '$.credentials.accessKeyId')
             WHEN ct IS NOT NULL OR (r.eventName = 'CreateAccessKey' AND json_type(re) = 'OBJECT') THEN
                 CASE WHEN r.eventName = 'CreateAccessKey' AND json_type(re, '$.accessKey') = 'OBJECT'
                      THEN json_extract(re, '$.accessKey.accessKeyId') END
        END AS ik,
        CASE WHEN ct = 'OBJECT' THEN json_extract(re, '$.credentials.expiration') END AS ie,
        {_EXTRA_SQL} AS ex
    FROM v
)
SELECT file_idx, line,
    {", ".join(f'{expr} AS "{name}"' for name, expr in _SELECT.items())},
    ({_ODD}) AS odd,
    (wi IS NOT NULL AND wi <> '{{}}') AS wi_set,
    ({_LOOK}) AS look
FROM w
"""

_CHECK = f"""
SELECT file_idx, json_structure(json) AS s,
    regexp_matches(json, '"(?:{_NULL_EXTRA})"\\s*:\\s*null') AS null_extra
FROM docs
"""

# ---------------------------------------------------------------------------------------------
# Structure checks (per file)

_STR = {"VARCHAR", "NULL"}
_UI_KEYS = {*_UI_STRINGS, "sessionContext", "inScopeOf"}
_TOP_KEYS = {*_STRINGS_TOP, *_BOOLS_TOP, *_JSON_TOP, *_EXTRAS, "userIdentity"}


def _strings_ok(node: dict, names: Any) -> bool:
    return all(node.get(n, "NULL") in _STR for n in names)


def _container(node: Any, keys: set[str]) -> dict | None:
    """The structure of a nested object whose keys must be within ``keys`` (None: not acceptable)."""
    if node is None or node == "NULL":
        return {}
    if not isinstance(node, dict) or not set(node) <= keys:
        return None
    return node


def structure_ok(structure: Any) -> tuple[bool, bool]:
    """Whether a file's merged record structure is one the SQL path reproduces exactly.

    Returns ``(ok, webid_may_be_empty_only)``: the second is True when ``webIdFederationData``
    is typed ``JSON`` (empty objects, or mixed), so each record's value must be ``{}`` or null.
    """
    if not isinstance(structure, dict) or set(structure) != {"Records"}:
        return False, False
    records = structure["Records"]
    if not isinstance(records, list) or len(records) != 1 or not isinstance(records[0], dict):
        return False, False
    rec = records[0]
    if not set(rec) <= _TOP_KEYS or not _strings_ok(rec, _STRINGS_TOP):
        return False, False
    ui = _container(rec.get("userIdentity"), _UI_KEYS)
    if ui is None or not _strings_ok(ui, _UI_STRINGS):
        return False, False
    scope = _container(ui.get("inScopeOf"), {"issuerType", "credentialsIssuedTo"})
    if scope is None or not _strings_ok(scope, scope.keys()):
        return False, False
    sc = _container(
        ui.get("sessionContext"),
        {"sessionIssuer", "webIdFederationData", "attributes", "sourceIdentity", "ec2RoleDelivery"},
    )
    if sc is None or not _strings_ok(sc, ("sourceIdentity", "ec2RoleDelivery")):
        return False, False
    si = _container(sc.get("sessionIssuer"), set(_SI_STRINGS))
    if si is None or not _strings_ok(si, si.keys()):
        return False, False
    at = _container(sc.get("attributes"), {"creationDate", "mfaAuthenticated"})
    if at is None or at.get("creationDate", "NULL") not in _STR:
        return False, False
    webid = sc.get("webIdFederationData")
    if webid == "JSON":
        return True, True
    wi = _container(webid, {"federatedProvider", "attributes"})
    if wi is None or not _strings_ok(wi, ("federatedProvider",)):
        return False, False
    return True, False


@functools.lru_cache(maxsize=4096)
def _structure_verdict(structure: str) -> tuple[bool, bool]:
    """:func:`structure_ok` of a ``json_structure`` text (files of one trail share a few structures)."""
    return structure_ok(orjson.loads(structure))


# ---------------------------------------------------------------------------------------------
# Batches


@dataclass(slots=True)
class _Doc:
    index: int  # position in the caller's path list
    name: str
    data: bytes


def _connect() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    con.execute("SET arrow_large_buffer_size = true")
    con.execute("SET preserve_insertion_order = true")
    return con


def _docs_table(docs: list[_Doc]) -> pa.Table:
    lengths = np.fromiter((len(d.data) for d in docs), dtype=np.int64, count=len(docs))
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = b"".join(d.data for d in docs)
    array = pa.LargeStringArray.from_buffers(len(docs), pa.py_buffer(offsets), pa.py_buffer(data))
    array.validate(full=True)  # UTF-8; raises for a file that is not
    table = pa.table({"file_idx": pa.array(np.arange(len(docs), dtype=np.int32)), "json": array})
    # small record batches: DuckDB scans an Arrow table in parallel batch by batch
    return pa.Table.from_batches(table.to_batches(max_chunksize=DOCS_PER_CHUNK))


def _parse_times(column: pa.ChunkedArray | pa.Array, *, text_dates: bool) -> tuple[pa.Array, np.ndarray]:
    """Parse ISO ``...Z`` times with Arrow; return the times and the rows that did not parse.

    With ``text_dates``, values like ``Jan 20, 2025, 9:14:27 PM`` are parsed as the general path does.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    parsed, bad = strptime_iso_z(column)  # the evidence time rule: no rolled days, no leap seconds
    if not bad.any() or not text_dates:
        return parsed, bad
    idx = np.flatnonzero(bad)
    values = column.take(pa.array(idx)).to_pylist()
    fixed: list[Any] = []
    still = np.zeros(len(bad), dtype=bool)
    for i, value in zip(idx, values, strict=True):
        stamp = parse_timestamp_one(value) if TEXT_DATE.match(value) else None
        if stamp is None:
            still[i] = True
        fixed.append(stamp)
    if still.any():
        return parsed, still
    stamps = parsed.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    mask = ~np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    stamps[idx] = np.array([np.datetime64(f.value, "ns") for f in fixed])
    mask[idx] = False
    return pa.array(stamps, type=pa.timestamp("ns"), mask=mask).cast(TIMESTAMP), still


def _flags(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)


def _decline(declined: dict[int, str], mask: np.ndarray, file_idx: np.ndarray, reason: str) -> None:
    """Mark the files of the masked rows as declined (the first reason found stays)."""
    if mask.any():
        for i in np.unique(file_idx[mask]).tolist():
            declined.setdefault(i, reason)


def _second_look(
    columns: dict[str, pa.ChunkedArray], rows: np.ndarray
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, list[str | None]]]]:
    """For the rows DuckDB flagged: which must be declined, and the redacted JSON text of the others."""
    unsure = np.zeros(len(rows), dtype=bool)
    texts = {}
    for name in _JSON_COLUMNS:
        values = columns[name].take(pa.array(rows)).to_pylist()
        texts[name] = values
        for k, value in enumerate(values):
            if value is not None and _UNSURE_RE.search(value):
                unsure[k] = True
    fixes: dict[str, tuple[np.ndarray, list[str | None]]] = {}
    for name, values in texts.items():
        where, fixed = [], []
        for k, value in enumerate(values):
            if value is not None and not unsure[k] and might_hold_secret(value):
                try:
                    text = json_text(loads(value))
                except (RecordError, RecursionError, ValueError):  # too deep: the general path rejects it
                    unsure[k] = True
                    continue
                where.append(rows[k])
                fixed.append(text)
        if where:
            fixes[name] = (np.asarray(where, dtype=np.int64), fixed)
    return unsure, fixes


def _too_deep(columns: dict[str, pa.ChunkedArray]) -> np.ndarray:
    """Rows whose JSON text nests more than MAX_DEPTH levels (length and bracket counts first: cheap)."""
    n = len(columns["eventTime"])
    deep = np.zeros(n, dtype=bool)
    for name in _JSON_COLUMNS:
        column = columns[name]
        long = np.flatnonzero(
            pc.fill_null(pc.greater(pc.binary_length(column), 2 * MAX_DEPTH), False).to_numpy(
                zero_copy_only=False
            )
        )
        if not len(long):
            continue
        texts = column.take(pa.array(long)).combine_chunks()
        wide = pa.types.is_large_string(texts.type) or pa.types.is_large_binary(texts.type)
        offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64 if wide else np.int32)
        offsets = offsets[texts.offset : texts.offset + len(texts) + 1]
        data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)
        opens = np.flatnonzero((data == 0x5B) | (data == 0x7B))
        many = long[np.diff(np.searchsorted(opens, offsets)) > MAX_DEPTH]  # deeper needs more openers
        for i in many.tolist():
            if too_deep(column[i].as_py()):
                deep[i] = True
    return deep


def _replace(column: pa.ChunkedArray, n: int, where: np.ndarray, values: list[str | None]) -> pa.Array:
    mask = np.zeros(n, dtype=bool)
    mask[where] = True
    return pc.replace_with_mask(column.combine_chunks(), pa.array(mask), pa.array(values, type=column.type))


def _same_time_duplicates(ids: pa.ChunkedArray, stamps: np.ndarray) -> bool:
    """True when every eventID that repeats in the batch repeats with one eventTime (so a sort keeps their order)."""
    import pandas as pd

    keys = pd.Series(ids.to_numpy(zero_copy_only=False))
    repeated = (keys.duplicated(keep=False) & keys.notna()).to_numpy()
    if not repeated.any():
        return True
    groups = pd.DataFrame({"id": keys[repeated].to_numpy(), "t": stamps[repeated]})
    return bool((groups.groupby("id")["t"].nunique() == 1).all())


def _read_batch(
    con: Any, docs: list[_Doc], presort: bool = False
) -> tuple[dict[int, _reader.FileOutcome], dict[int, str]]:
    """Read a batch with DuckDB: outcomes by doc position, and the doc positions it declines with why.

    With ``presort`` (no other file lies between the batch's first and last), an accepted batch
    may come back sorted by eventTime as one table on its first file.
    """
    con.register("docs", _docs_table(docs))
    try:
        checks = con.sql(_CHECK).fetchall()
        table = con.sql(_QUERY).to_arrow_table()
    finally:
        con.unregister("docs")
    n_docs = len(docs)
    declined: dict[int, str] = {}  # batch position -> why
    webid_empty_only = np.zeros(n_docs, dtype=bool)
    for file_idx, structure, null_extra in checks:
        ok, empty_only = _structure_verdict(structure) if not null_extra else (False, False)
        if not ok:
            reason = (
                "an extra field that is JSON null"
                if null_extra
                else "a field or type the columns do not hold"
            )
            declined.setdefault(file_idx, reason)
        webid_empty_only[file_idx] = empty_only
    file_idx = table.column("file_idx").to_numpy()
    line = table.column("line").to_numpy()
    n = len(file_idx)
    if n > 1:
        key = file_idx.astype(np.int64) * (1 << 32) + line
        if not (np.diff(key) > 0).all():  # DuckDB kept the order so far; never rely on it
            order = np.argsort(key, kind="stable")
            table = table.take(pa.array(order))
            file_idx, line = file_idx[order], line[order]
    columns = {name: table.column(name) for name in table.column_names}
    del table
    odd = _flags(columns["odd"]) | (_flags(columns["wi_set"]) & webid_empty_only[file_idx])
    _decline(declined, odd, file_idx, "a value DuckDB cannot vouch for")
    event_time = columns["eventTime"].combine_chunks()
    no_time = np.asarray(pc.fill_null(pc.equal(event_time, ""), True).to_numpy(zero_copy_only=False))
    times, bad = _parse_times(event_time, text_dates=False)
    _decline(declined, bad & ~no_time, file_idx, "an eventTime Arrow does not parse")
    creation, bad = _parse_times(
        columns["userIdentity.sessionContext.attributes.creationDate"], text_dates=True
    )
    _decline(declined, bad, file_idx, "a creationDate Arrow does not parse")
    expiration, bad = _parse_times(columns["issued.expiration"], text_dates=True)
    _decline(declined, bad, file_idx, "an expiration Arrow does not parse")
    _decline(declined, _too_deep(columns), file_idx, "a value nested too deep")
    look = np.flatnonzero(_flags(columns["look"]))
    fixes: dict[str, tuple[np.ndarray, list[str | None]]] = {}
    if len(look):
        unsure, fixes = _second_look(columns, look)
        _decline(declined, unsure, file_idx[look], "JSON text DuckDB may write differently")

    keep_file = np.ones(n_docs, dtype=bool)
    if declined:
        keep_file[list(declined)] = False
    row_file_kept = keep_file[file_idx]
    keep = row_file_kept & ~no_time
    take = None if keep.all() else pa.array(np.flatnonzero(keep))
    kept_files = file_idx if take is None else file_idx[keep]
    names = pa.array([d.name for d in docs], type=pa.large_string())
    out = []
    for name, field in zip(COLUMNS, SCHEMA, strict=True):
        if name == "eventTime":
            array = times
        elif name == "userIdentity.sessionContext.attributes.creationDate":
            array = creation
        elif name == "issued.expiration":
            array = expiration
        elif name == "evidence.line":
            array = pa.array(line, type=pa.int64())
        elif name == "evidence.file":
            out.append(names.take(pa.array(kept_files)))
            continue
        else:
            array = columns.pop(name)
            if name in fixes:
                array = _replace(array, n, *fixes[name])
            elif name in TEXT_COLUMNS:
                array = redact_strings(array)
        if take is not None:
            array = array.take(take)
        out.append(array if array.type == field.type else array.cast(field.type))
    columns.clear()
    result = pa.Table.from_arrays(out, schema=SCHEMA)

    # one outcome per accepted file, in order, each with its slice of the table; or, when the batch
    # can be handed over sorted by time without changing any tie or duplicate order, the whole
    # sorted table on its first file (the loader's final sort then reads nearly sequentially)
    if presort and not declined and result.num_rows > 1:
        stamps = result.column("eventTime").cast(pa.int64()).to_numpy()
        order = np.argsort(stamps, kind="stable")
        if (np.diff(order) < 0).any() and _same_time_duplicates(result.column("eventID"), stamps):
            result = result.combine_chunks().take(pa.array(order))
            counts = np.bincount(file_idx, minlength=n_docs)
            missing_rows = np.flatnonzero(no_time)
            outcomes = {}
            for i, doc in enumerate(docs):
                rejects = [
                    (int(line[j]), "record has no eventTime") for j in missing_rows if file_idx[j] == i
                ]
                outcomes[doc.index] = _reader.FileOutcome(
                    name=doc.name,
                    kind="cloudtrail_s3",
                    records_read=int(counts[i]),
                    rejects=rejects,
                    table=result if i == 0 else None,
                    nbytes=0,
                )
            return outcomes, {}
    counts = np.bincount(file_idx, minlength=n_docs)
    kept_counts = np.bincount(kept_files, minlength=n_docs)
    starts = np.concatenate([[0], np.cumsum(kept_counts)])
    missing_rows = np.flatnonzero(no_time & row_file_kept)
    outcomes: dict[int, _reader.FileOutcome] = {}
    for i, doc in enumerate(docs):
        if not keep_file[i]:
            continue
        rejects = [(int(line[j]), "record has no eventTime") for j in missing_rows if file_idx[j] == i]
        outcomes[doc.index] = _reader.FileOutcome(
            name=doc.name,
            kind="cloudtrail_s3",
            records_read=int(counts[i]),
            rejects=rejects,
            table=result.slice(int(starts[i]), int(kept_counts[i])),
            nbytes=0,
        )
    return outcomes, {docs[i].index: reason for i, reason in sorted(declined.items())}


def _read_batch_safely(
    con: Any, docs: list[_Doc], presort: bool = False
) -> tuple[dict[int, _reader.FileOutcome], dict[int, str]]:
    """A batch that DuckDB cannot read (invalid UTF-8, a lone surrogate...) is retried file by file.

    Returns the outcomes by doc position and, for each declined doc position, why.
    """
    import duckdb

    try:
        return _read_batch(con, docs, presort)
    except (
        duckdb.Error,
        pa.ArrowException,
        ValueError,
        RecursionError,
    ) as err:  # "not this path", never lost
        if len(docs) == 1:
            return {}, {docs[0].index: f"DuckDB could not read it ({type(err).__name__})"}
    outcomes: dict[int, _reader.FileOutcome] = {}
    declined: dict[int, str] = {}
    for doc in docs:
        got, no = _read_batch_safely(con, [doc])
        outcomes.update(got)
        declined.update(no)
    return outcomes, declined


def _load(path: str, limits: Limits) -> tuple[bytes | None, int, str | None]:
    """A candidate file's decompressed content (None: for the other readers), its size, why it is unreadable.

    An unreadable file (over a cap, a corrupt gzip) is a reject here: the other readers would only
    find the same.
    """
    try:
        raw = read_file(path, limits)
        data = gunzip(raw, limits)
    except FileError as err:
        return None, 0, str(err)
    except OSError:
        return None, 0, None
    if not data.startswith(_HEAD) or len(data) > limits.max_record_bytes:
        return None, len(raw), None
    return data, len(raw), None


def read_paths(
    paths: list[str],
    workers: int,
    *,
    on_decline: Callable[[str, str], None] | None = None,
    batch_bytes: int | None = None,
    limits: Limits = DEFAULT,
) -> Iterator[_reader.FileOutcome]:
    """Yield each file's outcome in order.

    Compact S3 delivery files are read by DuckDB in batches (``batch_bytes`` of decompressed
    JSON each, default :data:`BATCH_BYTES`); the others (and any file DuckDB declines) by the
    general path, in worker processes when there are many. ``on_decline(path, reason)`` hears of
    every file DuckDB took up and handed back.
    """
    batch_limit = BATCH_BYTES if batch_bytes is None else batch_bytes
    outcomes: list[_reader.FileOutcome | None] = [None] * len(paths)
    sizes = [0] * len(paths)
    others: list[int] = []
    con = _connect()
    local = threading.local()

    def work(batch: list[_Doc]) -> tuple[dict[int, _reader.FileOutcome], dict[int, str]]:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = con.cursor()
        contiguous = batch[-1].index - batch[0].index + 1 == len(batch)
        return _read_batch_safely(cursor, batch, contiguous)

    # DuckDB scans a small Arrow table (one row per file) on one thread: run batches side by side
    from concurrent.futures import Future, ThreadPoolExecutor

    pending: list[Future] = []
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            batch: list[_Doc] = []
            size = 0
            for i, path in enumerate(paths):
                data, sizes[i], error = _load(path, limits)
                if error is not None:
                    outcomes[i] = _reader.FileOutcome(name=path, kind="error", reason=error, records_read=1,
                                                      rejects=[(None, error)], nbytes=sizes[i])  # fmt: skip
                    continue
                if data is None:
                    others.append(i)
                    continue
                batch.append(_Doc(index=i, name=path, data=data))
                size += len(data)
                if size >= batch_limit:
                    pending.append(pool.submit(work, batch))
                    batch, size = [], 0
                    while len(pending) > THREADS:  # bound memory: a few batches in flight
                        _take(outcomes, *pending.pop(0).result(), others, paths, on_decline)
            if batch:
                pending.append(pool.submit(work, batch))
            del batch
            while pending:
                _take(outcomes, *pending.pop(0).result(), others, paths, on_decline)
    finally:
        for future in pending:
            future.cancel()
        con.close()
    rest = sorted(others)
    # the general path, not the msgspec one: that one keeps raw JSON text (escapes such as \\u00e9)
    for i, outcome in zip(
        rest, _read_others([paths[i] for i in rest], workers, False, **passed(limits)), strict=True
    ):
        outcomes[i] = outcome
    for i, outcome in enumerate(outcomes):
        assert outcome is not None
        if outcome.nbytes == 0:
            outcome.nbytes = sizes[i]
        outcomes[i] = None
        yield outcome


def _take(
    outcomes: list[_reader.FileOutcome | None],
    got: dict[int, _reader.FileOutcome],
    declined: dict[int, str],
    others: list[int],
    paths: list[str],
    on_decline: Callable[[str, str], None] | None,
) -> None:
    for index, outcome in got.items():
        outcomes[index] = outcome
    others.extend(declined)
    if on_decline is not None:
        for index, reason in declined.items():
            on_decline(paths[index], reason)


def _read_others(
    paths: list[str], workers: int, fast: bool, *, limits: Limits = DEFAULT
) -> Iterator[_reader.FileOutcome]:
    """The existing per-file readers, one outcome per file (no merging: file order must hold)."""
    from ircreds.evidence.workers import process_context

    context = process_context() if workers > 1 and len(paths) >= 16 else None
    if context is None:
        for path in paths:
            yield _reader.read_path(path, fast, limits)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_reader.read_path, paths, [fast] * len(paths), [limits] * len(paths), chunksize=8)
