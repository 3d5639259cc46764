"""The loader's working form: one Arrow table per file, turned into the events frame once.

Building pandas columns file by file and concatenating them is the slow part of loading
(see ``docs/perf-notes.md``). Instead every source hands over Arrow tables with one fixed schema
(:data:`SCHEMA`); the loader concatenates them (one copy), drops re-deliveries, sorts with one
``take`` and converts to pandas once (:func:`table_to_frame`), zero-copy for strings.

Example:
    >>> table, bad = columns_to_table({c: [None] for c in CONTENT_COLUMNS} | {"eventTime": ["2025-01-20T09:14:27Z"]},
    ...                               files=["f"], lines=[0])
    >>> frame = table_to_frame(table)
    >>> str(frame.loc[0, "eventTime"]), bool(bad[0])
    ('2025-01-20 09:14:27+00:00', False)
"""

from __future__ import annotations

import os
import reprlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ircreds.evidence.sources._normalize import (
    CONTENT_COLUMNS,
    JSON_COLUMNS,
    TEXT_COLUMNS,
    parse_times,
    parse_timestamp_one,
)
from ircreds.redaction import HINT, redact_json_text, redact_text
from ircreds.schema import BOOLEAN, CATEGORY, COLUMNS, DTYPES, INT, STRING, TIME, as_category, empty_category
from ircreds.times import NOT_A_TIME, days_exist, time_problem

TIMESTAMP = pa.timestamp("ns", tz="UTC")
#: Threads that convert columns to pandas (Arrow kernels release the GIL), for tables of at least
#: PARALLEL_ROWS rows.
THREADS = max(1, min(os.cpu_count() or 1, 4))
PARALLEL_ROWS = 100_000
_ARROW = {TIME: TIMESTAMP, STRING: pa.large_string(), BOOLEAN: pa.bool_(), INT: pa.int64()}


def _arrow_type(dtype: Any) -> pa.DataType:
    return pa.large_string() if dtype == CATEGORY else _ARROW[dtype]


#: The Arrow schema every chunk has (categoricals travel as strings and are encoded once at the end).
SCHEMA = pa.schema([pa.field(name, _arrow_type(dtype)) for name, dtype in DTYPES.items()])
_ISO_FORMATS = ("%Y-%m-%dT%H:%M:%SZ",)
# (column, Arrow type or None for a time to parse), computed once: comparing pandas dtypes is slow
_CONTENT_TYPES = [(c, None if DTYPES[c] is TIME else _arrow_type(DTYPES[c])) for c in CONTENT_COLUMNS]


def _digits(data: np.ndarray, starts: np.ndarray, first: int, count: int) -> np.ndarray:
    out = np.zeros(len(starts), dtype=np.int32)
    for k in range(first, first + count):
        out = out * 10 + (data[starts + k].astype(np.int32) - 48)
    return out


def strptime_iso_z(raw: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse ``YYYY-MM-DDThh:mm:ssZ`` text with Arrow, under the evidence time rule (:mod:`ircreds.times`).

    Returns the UTC timestamps (null where the text is missing or was not taken) and the mask of
    present values left for the general parser. Arrow rolls ``2025-02-30`` into March and a leap
    second into the next minute: those (and anything not exactly in this form) are left, never taken.
    Out-of-range years never parse into nanoseconds and are left too.
    """
    raw = raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw
    parsed = pc.strptime(raw, format=_ISO_FORMATS[0], unit="ns", error_is_null=True).cast(TIMESTAMP)
    taken = np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    if taken.any():
        wide = pa.types.is_large_string(raw.type)
        offsets = np.frombuffer(raw.buffers()[1], dtype=np.int64 if wide else np.int32)
        offsets = offsets[raw.offset : raw.offset + len(raw) + 1].astype(np.int64)
        data = np.frombuffer(raw.buffers()[2], dtype=np.uint8)
        odd = taken & (np.diff(offsets) != 20)
        idx = np.flatnonzero(taken & ~odd)
        starts = offsets[idx]
        # only day 29-31 or second 60 can have been rolled over: check those in full
        tens = data[starts + 8]
        maybe = (tens == 0x33) | ((tens == 0x32) & (data[starts + 9] == 0x39)) | (data[starts + 17] == 0x36)
        idx, starts = idx[maybe], starts[maybe]
        odd[idx] = ~days_exist(
            _digits(data, starts, 0, 4), _digits(data, starts, 5, 2), _digits(data, starts, 8, 2),
            _digits(data, starts, 17, 2),
        )  # fmt: skip
        if odd.any():
            parsed = pc.if_else(pa.array(odd), pa.nulls(len(parsed), type=TIMESTAMP), parsed)
    missing = np.asarray(pc.and_(pc.is_null(parsed), pc.is_valid(raw)).to_numpy(zero_copy_only=False))
    return parsed, missing


def time_reason(value: Any, field: str = "eventTime") -> str:
    """A reject reason for a time that did not parse: the value and why (:func:`ircreds.times.time_problem`).

    Example:
        >>> time_reason("now")
        "eventTime 'now' does not parse as a time: a relative word, not a time (never read as the clock)"
        >>> time_reason([[1]])
        "eventTime '[[1]]' does not parse as a time"
    """
    text = value if isinstance(value, str) else reprlib.repr(value)  # reprlib: safe for any depth
    problem = time_problem(value)
    why = "" if problem is None or problem == NOT_A_TIME else f": {problem}"
    return f"{field} {text[:60]!r} {NOT_A_TIME}{why}"


def parse_time_array(values: Sequence[Any]) -> tuple[pa.Array, np.ndarray]:
    """Parse raw times to UTC timestamps; also return the mask of present values that did not parse.

    The common ``YYYY-MM-DDThh:mm:ssZ`` form is parsed by Arrow (:func:`strptime_iso_z`); every
    other form falls back to :func:`ircreds.evidence.sources._normalize.parse_times`. Both follow the
    evidence time rule of :mod:`ircreds.times`.
    """
    n = len(values)
    if n == 0:
        return pa.array([], type=TIMESTAMP), np.zeros(0, dtype=bool)
    try:
        raw = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        parsed, bad = parse_times(values)
        return pa.array(parsed, type=TIMESTAMP), bad
    if raw.null_count == n:
        return pa.nulls(n, type=TIMESTAMP), np.zeros(n, dtype=bool)
    parsed, missing = strptime_iso_z(raw)
    if not missing.any():
        return parsed, np.zeros(n, dtype=bool)
    idx = np.flatnonzero(missing)
    if len(idx) > 256:
        fixed, bad_sub = parse_times([values[i] for i in idx])
    else:  # a few odd values: one by one is cheaper than a vectorised call
        one = [parse_timestamp_one(values[i]) for i in idx]
        bad_sub = np.array([f is None for f in one], dtype=bool)
        fixed = pd.DatetimeIndex([pd.NaT if f is None else f for f in one], dtype="datetime64[ns, UTC]")
    stamps = parsed.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
    stamps[idx] = np.asarray(fixed.tz_convert("UTC").tz_localize(None), dtype="datetime64[ns]")
    mask = ~np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    mask[idx] = bad_sub
    bad = np.zeros(n, dtype=bool)
    bad[idx] = bad_sub
    return pa.array(stamps, type=pa.timestamp("ns"), mask=mask).cast(TIMESTAMP), bad


def columns_to_table(
    columns: dict[str, Sequence[Any]],
    *,
    files: Sequence[str | None] | str | None,
    lines: Sequence[int | None],
) -> tuple[pa.Table, np.ndarray]:
    """One chunk: column lists (times raw) -> an Arrow table with :data:`SCHEMA`, plus bad-eventTime mask."""
    arrays = []
    bad_time = np.zeros(len(lines), dtype=bool)
    for name, arrow_type in _CONTENT_TYPES:
        values = columns[name]
        if arrow_type is None:
            array, bad = parse_time_array(values)
            if name == "eventTime":
                bad_time = bad
        else:
            array = pa.array(values, type=arrow_type)
        arrays.append(array)
    if isinstance(files, str) or files is None:
        arrays.append(pa.array([files] * len(lines), type=pa.large_string()))
    else:
        arrays.append(pa.array(files, type=pa.large_string()))
    arrays.append(pa.array(lines, type=pa.int64()))
    order = [*CONTENT_COLUMNS, "evidence.file", "evidence.line"]
    table = pa.Table.from_arrays(arrays, names=order).select(list(COLUMNS))
    return table, bad_time


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """An events frame (e.g. read from parquet) -> a chunk with :data:`SCHEMA`."""
    arrays = []
    for field in SCHEMA:
        col = frame[field.name]
        if isinstance(col.dtype, pd.CategoricalDtype):  # decoded by Arrow from codes: no Python strings
            codes = col.cat.codes.to_numpy()
            words = pa.array(col.cat.categories.astype(STRING).array, from_pandas=True).cast(
                pa.large_string()
            )
            encoded = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), words)
            arrays.append(encoded.cast(field.type))
            continue
        arrays.append(pa.array(col.array, from_pandas=True).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def redact_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A string column with :func:`ircreds.redaction.redact_text` applied, once per distinct value.

    Free text (user agents, error messages) repeats a lot: the distinct values are few.
    """
    if column.null_count == len(column):
        return column
    fixes = {v: f for v in pc.unique(column).to_pylist() if v is not None and (f := redact_text(v)) != v}
    if not fixes:
        return column
    return _fix(
        column, pc.is_in(column, value_set=pa.array(list(fixes), type=column.type)), fixes.__getitem__
    )


def redact_json_strings(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A JSON text column with :func:`ircreds.redaction.redact_json_text` applied where RE2 finds the hint."""
    if column.null_count == len(column):
        return column
    hit = pc.match_substring_regex(column, HINT)
    if not pc.any(hit).as_py():
        return column
    return _fix(column, hit, redact_json_text)


def _fix(column: pa.Array | pa.ChunkedArray, hit: Any, fix: Any) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
        hit = hit.combine_chunks()
    hit = pc.fill_null(hit, False)
    values = [fix(v) for v in column.filter(hit).to_pylist()]
    return pc.replace_with_mask(column, hit, pa.array(values, type=column.type))


def redact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """An events frame from outside the readers (a saved parquet, a frame) redacted as the readers do.

    Frames saved by an older version, or built by hand, may hold what today's rules redact.
    Returns ``frame`` itself when nothing changes.
    """
    out = None
    for name in (*JSON_COLUMNS, *TEXT_COLUMNS):
        if name not in frame.columns:
            continue
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(STRING)
        array = pa.array(col.array, from_pandas=True, type=pa.large_string())
        fixed = redact_json_strings(array) if name in JSON_COLUMNS else redact_strings(array)
        if fixed is array:
            continue
        if out is None:
            out = frame.copy()
        values = fixed.to_pylist()
        dtype = frame[name].dtype
        out[name] = (
            as_category(values) if isinstance(dtype, pd.CategoricalDtype) else pd.array(values, dtype=dtype)
        )
    return frame if out is None else out


def _category(column: pa.ChunkedArray) -> pd.Categorical:
    encoded = (
        pc.dictionary_encode(column).combine_chunks()
        if column.num_chunks != 1
        else pc.dictionary_encode(column.chunk(0))
    )
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    if len(encoded.dictionary) == 0:
        return pd.Categorical.from_codes(codes, dtype=empty_category())
    order = pc.sort_indices(encoded.dictionary).to_numpy()  # sorted categories, as pandas makes them
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1).astype(np.int32, copy=False)
    dictionary = encoded.dictionary.take(pa.array(order))
    categories = pd.Index(pd.arrays.ArrowStringArray(pa.chunked_array([dictionary])))
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories, ordered=False))


def table_to_frame(table: pa.Table | list[pa.Table], order: np.ndarray | None = None) -> pd.DataFrame:
    """A table with :data:`SCHEMA` -> the events frame with the canonical pandas dtypes.

    With ``order``, rows are taken in that order (a sort and a filter in one pass); a categorical is
    encoded first, so only its codes move. Columns are converted on :data:`THREADS` threads (Arrow
    releases the GIL) and each source column is released once converted; pass the table inside a
    one-item list (which is emptied) so that this function holds its only reference and memory stays
    near one copy.
    """
    if isinstance(table, list):
        table = table.pop()
    indices = None
    if order is not None and (
        len(order) != table.num_rows or (len(order) and not (np.diff(order) > 0).all())
    ):
        indices = pa.array(order, type=pa.int64())
    pending = {name: table.column(name) for name in COLUMNS}
    rows = table.num_rows
    del table

    def convert(name: str) -> Any:
        column = pending.pop(name)
        dtype = DTYPES[name]
        if dtype == CATEGORY and indices is not None:
            encoded = pc.dictionary_encode(column)  # few distinct values: move codes, not strings
            column = pa.chunked_array([encoded.combine_chunks().take(indices)])
        elif indices is not None:  # take on one contiguous array: far faster than across many chunks
            column = pa.chunked_array([column.combine_chunks().take(indices)])
        if dtype == CATEGORY:
            return _category(column)
        if dtype is STRING:
            return pd.arrays.ArrowStringArray(column)
        if dtype is TIME:
            return column.to_pandas().array
        if dtype is BOOLEAN:
            return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get).array
        return column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get).array

    if rows < PARALLEL_ROWS:  # a thread pool costs more than it saves (and reserves address space)
        return pd.DataFrame({name: convert(name) for name in COLUMNS})
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        data = dict(zip(COLUMNS, pool.map(convert, COLUMNS), strict=True))
    return pd.DataFrame(data)
