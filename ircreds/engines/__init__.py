"""Where a query runs: in process (``ircreds.load``), the DuckDB case store, or Athena.

- :mod:`.store`: ``index(paths, out)`` writes evidence of any size into one DuckDB file in one
  streaming pass (resumable, incremental); ``is_case(path)`` tells a case store by its content;
- :mod:`.case`: :func:`open_case` answers ``sessions``, ``trace``, ``plan`` and ``report`` from the
  store, reading only the lineage's rows into pandas;
- :mod:`.queries`: the lineage queries, written once (sqlglot) and rendered for DuckDB and Athena;
- :mod:`.athena` (boto3, an edge module): the same trace where an organisation's trail lives.

>>> from ircreds.engines import is_case
>>> is_case("no-such-file.duckdb")
False
"""

from __future__ import annotations

from ircreds.engines.case import Case, open_case
from ircreds.engines.store import IndexProgress, IndexSummary, index, is_case

__all__ = ["Case", "IndexProgress", "IndexSummary", "index", "is_case", "open_case"]
