"""The evidence: CloudTrail records from files, S3 or the event history, into the events frame.

- :mod:`.loader`: :func:`load` (any evidence -> one frame, rejects counted) and :func:`save`;
- :mod:`.sources`: one module per source format, and the registry that picks one;
- :mod:`.integrity` and :mod:`.digests`: file hashes and CloudTrail's digest chain.

>>> from ircreds.evidence import load
>>> len(load([]))
0
"""

from __future__ import annotations

from ircreds.evidence.loader import Collector, LoadProgress, load, save

__all__ = ["Collector", "LoadProgress", "load", "save"]
