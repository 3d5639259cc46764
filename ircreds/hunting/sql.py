"""SQL text helpers and Sigma levels (no pySigma import: usable without the ``sigma`` extra).

Example:
    >>> q("userIdentity.arn"), lit("It's"), level_rank("High")
    ('"userIdentity.arn"', "'It''s'", 3)
"""

from __future__ import annotations

from collections.abc import Mapping


def q(name: str) -> str:
    """A quoted SQL identifier (column names hold dots)."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def in_list(column: str, values: list[str]) -> str:
    """``column IN (values)``, false on NULL, and plain ``false`` for no value.

    Example:
        >>> print(in_list('"eventName"', ["StopLogging", "It's"]))
        coalesce("eventName" IN ('StopLogging', 'It''s'), false)
    """
    if not values:
        return "false"
    return f"coalesce({column} IN ({', '.join(lit(v) for v in values)}), false)"


def level_rank(level: str | None) -> int:
    """0 for informational (or none) up to 4 for critical."""
    return LEVEL_RANK.get((level or "").lower(), 0)


#: Sigma levels, least to most severe.
LEVEL_RANK: Mapping[str, int] = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
