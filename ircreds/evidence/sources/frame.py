"""An events frame already in memory (made by ``ircreds.load``), loaded again with more evidence.

Example:
    >>> import pandas as pd
    >>> accepts(pd.DataFrame()), accepts([{"eventTime": "2025-01-20T09:14:27Z"}])
    (True, False)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ircreds.errors import SourceError
from ircreds.evidence.sources import Sink
from ircreds.evidence.sources._arrow import redact_frame
from ircreds.schema import COLUMNS, coerce_events

#: ``load()`` options this source takes.
OPTIONS: tuple[str, ...] = ()


def accepts(source: Any) -> bool:
    """Anything frame-like (has ``columns`` and ``dtypes``)."""
    return hasattr(source, "columns") and hasattr(source, "dtypes")


def load_into(sink: Sink, source: pd.DataFrame) -> None:
    """Check it is an events frame, coerce it to the canonical dtypes, redact it, hand it to the sink.

    Raises:
        SourceError: when the frame has no ``eventTime`` or ``eventName`` column.
    """
    missing = [c for c in ("eventTime", "eventName") if c not in source.columns]
    if missing:
        raise SourceError(
            f"this DataFrame is not an events frame (no {', '.join(missing)} column); pass raw records "
            "as an iterable of dicts, or a frame made by ircreds.load"
        )
    sink.describe({"input": "<DataFrame>", "kind": "frame"})
    sink.add_frame(redact_frame(coerce_events(source)[list(COLUMNS)]))
