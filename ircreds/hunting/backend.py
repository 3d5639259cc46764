"""Sigma rules to DuckDB SQL over the events frame: pySigma's DuckDB backend, made to follow Sigma.

pySigma parses the rule and walks its condition; the DuckDB backend (``pysigma-backend-duckdb``)
writes the SQL. This module adds what the events frame and the Sigma specification need:

- **Field names** (the processing pipeline): Sigma's CloudTrail rules use CloudTrail's own dotted
  names, which are the frame's columns. A name that is not a column is looked up inside the JSON
  text columns (``requestParameters.roleArn`` is ``$.roleArn`` of ``requestParameters``;
  ``tlsDetails.tlsVersion`` is in ``extra``, where the loader keeps every field no column holds).
  Inside JSON a value may be a list (``requestParameters.layers``, or the lists on the way down in
  ``requestParameters.containerDefinitions.command``): the condition holds when any element
  matches, as Elasticsearch and most JSON backends do. Booleans and times read as CloudTrail writes
  them (``true``, ``2025-01-20T11:02:03Z``).
- **Case**: Sigma strings match case-insensitively unless ``|cased``; the stock backend's plain
  equality is case-sensitive, so equality is ``ILIKE`` here. Regular expressions stay
  case-sensitive unless ``|re|i``.
- **Wildcards**: ``*`` and ``?`` become ``%`` and ``_``; a literal ``%``, ``_`` or ``\\`` in a value
  is escaped (the stock backend does not escape them, so ``AWS_KEY`` would also match ``AWS-KEY``).
- **Missing fields**: every comparison is false, never SQL ``NULL``, on a missing field, so
  ``not filter`` holds for an event that lacks the filter's field (SQL's three-valued logic would
  drop it). ``field: null`` holds when the field is absent or JSON ``null``.
- Numbers and booleans compare as text (JSON text columns are strings; a cast never raises).

Example:
    >>> from ircreds.hunting.backend import FieldResolver
    >>> r = FieldResolver(["eventName", "requestParameters"])
    >>> print(r.sql("eventName"), r.sql("requestParameters.roleArn"))
    CAST("eventName" AS VARCHAR) json_extract_string("requestParameters", '$.roleArn')
    >>> r.is_multi("requestParameters.roleArn"), r.is_multi("eventName")
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from itertools import product
from typing import Any, ClassVar

from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import RuleFailureTransformation
from sigma.types import (
    SigmaBool,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
)
from sigma_backend_duckdb import DuckDBBackend

from ircreds.hunting.sql import lit, q
from ircreds.schema import BOOLEAN_COLUMNS, JSON_COLUMNS, TIME_COLUMNS

#: Columns that are the kit's own (where a row came from, what it issued), never CloudTrail fields.
KIT_COLUMNS = ("evidence.file", "evidence.line", "issued.accessKeyId", "issued.expiration", "extra")
#: The JSON column that holds every field no other column holds.
EXTRA = "extra"
#: Lambda variable standing for one element of a multi-valued field.
ELEMENT = "__v"


class FieldResolver:
    """Where a Sigma field lives in the events relation: a column, or a path inside a JSON column.

    Args:
        columns: the columns of the relation the rules run over.
    """

    def __init__(self, columns: Iterable[str]) -> None:
        self.columns = tuple(columns)
        self._set = set(self.columns)
        self.used: set[str] = set()

    def column_of(self, field: str) -> tuple[str, tuple[str, ...]] | None:
        """``(json_column, path)`` of a field held inside JSON text, or None for a plain column."""
        if field in self._set and field not in KIT_COLUMNS:
            return None
        for col in JSON_COLUMNS:
            if col != EXTRA and field.startswith(col + ".") and col in self._set:
                return col, tuple(field[len(col) + 1 :].split("."))
        return EXTRA, tuple(field.split("."))

    def is_multi(self, field: str) -> bool:
        """True when the field is read from JSON (it may hold a list: any element matches)."""
        return field != ELEMENT and self.column_of(field) is not None

    def sql(self, field: str) -> str:
        """SQL for a single-valued field (text); for a JSON field, the first value at its path."""
        if field == ELEMENT:
            return ELEMENT
        where = self.column_of(field)
        if where is None:
            self.used.add(field)
            if field in TIME_COLUMNS:
                return f"strftime({q(field)}, '%Y-%m-%dT%H:%M:%SZ')"
            if field in BOOLEAN_COLUMNS:
                return f"lower(CAST({q(field)} AS VARCHAR))"
            if field in JSON_COLUMNS:
                return q(field)
            return f"CAST({q(field)} AS VARCHAR)"
        col, path = where
        if col not in self._set:
            return "CAST(NULL AS VARCHAR)"
        self.used.add(col)
        return f"json_extract_string({q(col)}, {lit(_json_path(path))})"

    def values(self, field: str) -> str:
        """SQL for the list of every scalar value of a JSON field (lists on the way are walked)."""
        col, path = self.column_of(field) or (None, ())
        if col is None or col not in self._set:
            return "CAST([] AS VARCHAR[])"
        self.used.add(col)
        variants = []
        # each step may be a list: try it with and without [*] (CloudTrail paths are short)
        for stars in product((False, True), repeat=len(path)):
            jp = "$" + "".join(
                f".{_json_key(k)}" + ("[*]" if star else "") for k, star in zip(path, stars, strict=True)
            )
            expr = f"json_extract({q(col)}, {lit(jp)})"
            variants.append(expr if any(stars) else f"[{expr}]")
        joined = variants[0] if len(variants) == 1 else f"flatten([{', '.join(variants)}])"
        # an element that is itself a list was walked by another variant; JSON null is no value
        return (
            f"list_transform(list_filter({joined}, lambda __j: json_type(__j) NOT IN ('ARRAY', 'NULL')), "
            "lambda __j: __j ->> '$')"
        )


def _json_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else '"' + key.replace('"', '\\"') + '"'


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join("." + _json_key(k) for k in path)


def cloudtrail_pipeline() -> ProcessingPipeline:
    """The processing pipeline: only ``product: aws, service: cloudtrail`` rules run over CloudTrail.

    Field names need no renaming (the frame's columns are CloudTrail's own names); where a field
    lives is decided by :class:`FieldResolver` when the SQL is written.
    """
    return ProcessingPipeline(
        name="ircreds CloudTrail events frame",
        priority=20,
        items=[
            ProcessingItem(
                identifier="ircreds_cloudtrail_only",
                transformation=RuleFailureTransformation(
                    "the rule's logsource is not AWS CloudTrail (product: aws, service: cloudtrail)"
                ),
                rule_conditions=[LogsourceCondition(product="aws", service="cloudtrail")],
                rule_condition_negation=True,
            )
        ],
    )


class CloudTrailBackend(DuckDBBackend):  # type: ignore[misc]
    """pySigma's DuckDB backend with Sigma's matching rules over the events relation.

    Args:
        resolver: where each field lives (see :class:`FieldResolver`).
        matching: called with ``(field, condition on __v, condition on the rows)`` for a condition
            on one plain column; returns the SQL to use instead (a placeholder the engine resolves
            through the column's distinct values), or None to keep the row-by-row condition.
    """

    name: ClassVar[str] = "ircreds DuckDB over the CloudTrail events frame"
    escape_char: ClassVar[str] = "\\"
    add_escaped: ClassVar[str] = "\\"
    startswith_expression: ClassVar[str] = "coalesce({field} ILIKE '{value}%' ESCAPE '\\', false)"
    endswith_expression: ClassVar[str] = "coalesce({field} ILIKE '%{value}' ESCAPE '\\', false)"
    contains_expression: ClassVar[str] = "coalesce({field} ILIKE '%{value}%' ESCAPE '\\', false)"
    wildcard_match_expression: ClassVar[str] = "coalesce({field} ILIKE '{value}' ESCAPE '\\', false)"
    wildcard_match_str_expression: ClassVar[str] = wildcard_match_expression
    case_sensitive_match_expression: ClassVar[str] = "coalesce({field} LIKE {value} ESCAPE '\\', false)"
    re_expression: ClassVar[str] = "coalesce(regexp_matches({field}, '{regex}'), false)"
    field_null_expression: ClassVar[str] = "({field} IS NULL)"
    field_exists_expression: ClassVar[str] = "({field} IS NOT NULL)"
    field_not_exists_expression: ClassVar[str] = "({field} IS NULL)"
    compare_op_expression: ClassVar[str] = "coalesce(TRY_CAST({field} AS DOUBLE) {operator} {value}, false)"
    field_equals_field_expression: ClassVar[str] = "coalesce(lower({field1}) = lower({field2}), false)"
    field_equals_field_startswith_expression: ClassVar[str] = (
        "coalesce(starts_with(lower({field1}), lower({field2})), false)"
    )
    field_equals_field_endswith_expression: ClassVar[str] = (
        "coalesce(ends_with(lower({field1}), lower({field2})), false)"
    )
    field_equals_field_contains_expression: ClassVar[str] = (
        "coalesce(contains(lower({field1}), lower({field2})), false)"
    )

    def __init__(
        self,
        resolver: FieldResolver,
        *,
        matching: Callable[[str, str, str], str | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(processing_pipeline=cloudtrail_pipeline(), **kwargs)
        self.resolver = resolver
        self.matching = matching

    # -- fields -------------------------------------------------------------------------------
    def escape_and_quote_field(self, field_name: str) -> str:
        """The SQL of a field (a column, a JSON extraction, or one list element)."""
        return self.resolver.sql(field_name)

    def convert_condition_field_eq_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Dispatch as pySigma does; a JSON field matches when any of its values matches."""
        value = cond.value
        if isinstance(value, SigmaFieldReference):
            return super().convert_condition_field_eq_val(cond, state)
        if not self.resolver.is_multi(cond.field):
            if self.matching is not None and not isinstance(value, (SigmaNull, SigmaExists)):
                # the engine may decide the condition once per distinct value of the column: it
                # gets the condition on one value (__v) and on the rows, and returns a placeholder
                inner = super().convert_condition_field_eq_val(replace(cond, field=ELEMENT), state)
                direct = super().convert_condition_field_eq_val(cond, state)
                token = self.matching(cond.field, inner, direct)
                return direct if token is None else token
            return super().convert_condition_field_eq_val(cond, state)
        values = self.resolver.values(cond.field)
        if isinstance(value, SigmaNull):
            return f"(len({values}) = 0)"
        if isinstance(value, SigmaExists):
            return f"(len({values}) {'>' if value.exists else '='} 0)"
        inner = super().convert_condition_field_eq_val(replace(cond, field=ELEMENT), state)
        return f"coalesce(list_bool_or(list_transform({values}, lambda {ELEMENT}: {inner})), false)"

    # -- values -------------------------------------------------------------------------------
    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Strings: ``ILIKE`` (case-insensitive, as Sigma says), escaped, never NULL."""
        query = super().convert_condition_field_eq_val_str(cond, state)
        if isinstance(query, str) and not query.startswith("coalesce("):
            # the stock backend's plain equality (case-sensitive): make it Sigma's
            value = cond.value.convert(
                escape_char="\\", wildcard_multi="%", wildcard_single="_", add_escaped="\\"
            )
            return self.wildcard_match_expression.format(
                field=self.escape_and_quote_field(cond.field), value=value.replace("'", "''")
            )
        return query

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: ``LIKE`` (case-sensitive) with Sigma's wildcards, escaped, never NULL."""
        value = cond.value.convert(
            escape_char="\\", wildcard_multi="%", wildcard_single="_", add_escaped="\\"
        )
        return self.case_sensitive_match_expression.format(
            field=self.escape_and_quote_field(cond.field), value="'" + value.replace("'", "''") + "'"
        )

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Numbers: numeric equality of the field read as a number (text that is no number: false)."""
        value: SigmaNumber = cond.value
        return (
            f"coalesce(TRY_CAST({self.escape_and_quote_field(cond.field)} AS DOUBLE) = {value.number}, false)"
        )

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Booleans: the text ``true`` / ``false``, as CloudTrail writes them."""
        value: SigmaBool = cond.value
        text = "true" if value.boolean else "false"
        return f"coalesce(lower({self.escape_and_quote_field(cond.field)}) = '{text}', false)"

    def convert_value_re(self, r: SigmaRegularExpression, state: ConversionState) -> str:
        """The pattern as a SQL literal's content, flags as an RE2 prefix (``(?i)``)."""
        return str(r.escape((), "", False, True)).replace("'", "''")

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> Any:
        """Keyword searches over the whole record are not run (say so, do not guess)."""
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword search (a value with no field) is not supported: CloudTrail rules name their fields"
        )

    def convert_condition_val_num(self, cond: Any, state: ConversionState) -> Any:
        """Keyword searches over the whole record are not run (say so, do not guess)."""
        return self.convert_condition_val_str(cond, state)

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState) -> Any:
        """The bare condition: the engine puts every rule's condition into one query."""
        return query
