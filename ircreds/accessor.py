"""The ``df.ircreds`` pandas accessor: ``df.ircreds.trace(key)``, ``df.ircreds.sessions()``, ``.scope()``, ``.pivot()``.

Registered when this module is imported (it is an edge module: ``import ircreds.accessor``).
Each method is one line that calls the plain function; the accessor checks the columns those
functions need and raises ``AttributeError`` naming the missing ones.

Example:
    >>> import pandas as pd
    >>> import ircreds.accessor
    >>> try:
    ...     pd.DataFrame({"x": [1]}).ircreds
    ... except AttributeError as err:
    ...     print(str(err)[:46])
    not an ircreds events frame: missing columns e
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircreds.model import Trace
    from ircreds.scoping import Scope

#: The columns sessions() and trace() cannot work without.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "eventTime",
    "eventName",
    "eventID",
    "userIdentity.accessKeyId",
    "userIdentity.type",
    "userIdentity.arn",
    "requestParameters",
    "responseElements",
)


@pd.api.extensions.register_dataframe_accessor("ircreds")
class IrcredsAccessor:
    """ircreds on an events frame (from ``ircreds.load``)."""

    def __init__(self, df: pd.DataFrame) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise AttributeError(
                f"not an ircreds events frame: missing columns {', '.join(missing)}; "
                "build it with ircreds.load(...)"
            )
        self._df = df

    def sessions(self) -> pd.DataFrame:
        """The sessions table (``ircreds.sessions``)."""
        from ircreds.lineage import sessions

        return sessions(self._df)

    def trace(self, key: str | None = None, **kwargs: Any) -> Trace:
        """Trace a credential (``ircreds.trace``): by key, or ``role_arn=`` and ``session_name=``."""
        from ircreds.findings import trace

        return trace(self._df, key, **kwargs)

    def scope(self, key: str | None = None, **kwargs: Any) -> Scope:
        """Every credential the attacker holds (``ircreds.scope``), from a key and/or ``ips=``, ``user_agents=``."""
        from ircreds.scoping import scope

        return scope(self._df, key, **kwargs)

    def pivot(
        self,
        *,
        ip: str | Iterable[str] | None = None,
        user_agent: str | Iterable[str] | None = None,
        key: str | Iterable[str] | None = None,
        principal: str | Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """The events matching every criterion given (``ircreds.scoping.pivot``)."""
        from ircreds.scoping import pivot

        return pivot(self._df, ip=ip, user_agent=user_agent, key=key, principal=principal)
