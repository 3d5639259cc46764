"""Who issued which credential: the sessions table, built from the events frame.

One row per credential issued or seen (aws-facts §1.2): ``AssumeRole`` (by users, by role
sessions = chaining, cross-account copies merged through ``sharedEventID``), ``AssumeRoleWithSAML``,
``AssumeRoleWithWebIdentity``, ``GetSessionToken``, ``GetFederationToken``, service-issued sessions
(``AWSService`` callers), console sign-in and switch-role (linked by ``principalId`` +
``creationDate`` where the key join fails, §1.6), keys minted by ``iam:CreateAccessKey``, and
credentials whose issuing event is outside the evidence (``Observed``, built from their calls'
``sessionContext``). Failed issuing calls issue nothing.

Example:
    >>> import pandas as pd
    >>> sessions(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})).columns[:3].tolist()
    ['access_key_id', 'kind', 'role_arn']
"""

from __future__ import annotations

import logging

import pandas as pd

from ircreds.lineage.index import _CACHE as _CACHE
from ircreds.lineage.index import (
    DATA_EVENT_NAMES,
    SESSION_COLUMNS,
    LineageIndex,
    lineage_index,
    used_before_issued,
)
from ircreds.lineage.issuance import ISSUING_EVENTS
from ircreds.lineage.principals import keys_of_principals, principal_of_keys
from ircreds.times import parse_expiration

__all__ = [
    "DATA_EVENT_NAMES",
    "ISSUING_EVENTS",
    "SESSION_COLUMNS",
    "LineageIndex",
    "keys_of_principals",
    "lineage_index",
    "parse_expiration",
    "principal_of_keys",
    "sessions",
    "used_before_issued",
]

log = logging.getLogger(__name__)


def sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per credential issued or seen in ``events`` (the events frame of ``ircreds.load``).

    Args:
        events: the events frame (CloudTrail's dotted column names).

    Returns:
        A new frame with the columns of ``SESSION_COLUMNS``, sorted by ``issued_at``.

    Example:
        >>> import pandas as pd
        >>> len(sessions(pd.DataFrame({"eventTime": pd.to_datetime([], utc=True)})))
        0
    """
    return lineage_index(events).sessions.copy()
