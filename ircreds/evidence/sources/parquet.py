"""Events frames saved with ``ircreds load ... --save events.parquet`` (or ``save()``).

Reading one back gives the same frame, dtypes included, without re-parsing the logs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ircreds.errors import LogFormatError
from ircreds.evidence.sources._arrow import redact_frame
from ircreds.schema import COLUMNS, coerce_events

MAGIC = b"PAR1"


def detect(path: str | os.PathLike[str]) -> bool:
    """True when the file starts with the parquet magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(4) == MAGIC


def read(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a saved events frame back with the canonical dtypes, redacted as the readers redact.

    Raises:
        LogFormatError: when the parquet file is not an events frame.
    """
    frame = pd.read_parquet(path, engine="pyarrow")
    missing = [c for c in ("eventTime", "eventName", "evidence.file") if c not in frame.columns]
    if missing:
        raise LogFormatError(
            f"{path} is a parquet file but not an ircreds events frame (no {', '.join(missing)} column); "
            "save frames with `ircreds load ... --save`"
        )
    frame = coerce_events(frame)
    # a file saved by an older version (or by hand) may hold what today's rules redact
    return redact_frame(frame[list(COLUMNS)].reset_index(drop=True))


def save(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write an events frame to parquet (the load report is kept in the file's metadata)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out, engine="pyarrow", index=False)
    return out
