"""Large trails for benchmarks, written by up to two processes.

The background actors are split into groups; each process generates its group (the first
also the incident) and writes its own delivery files, as CloudTrail itself may deliver
several files per region and window. The parent writes the digests over all files and the
answer key. The output depends only on ``seed``, ``events`` and the number of parts.
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ircreds.evidence.workers import process_context
from ircreds.scenarios.cast import Cast
from ircreds.scenarios.writer import LogFile, TrailWriter

if TYPE_CHECKING:
    from ircreds.scenarios import _Build
    from ircreds.scenarios.records import Cred

log = logging.getLogger(__name__)


def _groups(build: _Build, parts: int) -> list[list[int]]:
    """Actor indexes per part, balanced by expected record count."""
    load = [a.rate * sum((e - s).total_seconds() for s, e in a.windows) for a in build.actors]
    bins: list[list[int]] = [[] for _ in range(parts)]
    sums = [0.0] * parts
    for i in sorted(range(len(load)), key=lambda i: (-load[i], i)):
        j = min(range(parts), key=lambda j: (sums[j], j))
        bins[j].append(i)
        sums[j] += load[i]
    return [sorted(b) for b in bins]


def write_part(
    out: Path, cast: Cast, seed: str, events: int, part: int, parts: int, dup_rate: float
) -> tuple[list[LogFile], int, list[Cred]]:
    """Generate and write one part; return its files, its record count and its actors' sessions."""
    from ircreds.scenarios import _Build

    b = _Build(cast, seed, [], events)
    group = _groups(b, parts)[part]
    # each part draws its own ids and timings after the shared world and incident are built
    b.world.ids.rng = random.Random(f"ids:{seed}:part{part}")
    b.world.rng = random.Random(f"world:{seed}:part{part}")
    writer = TrailWriter(out, seed=f"{seed}:part{part}", fast=True, duplicate_rate=dup_rate)
    writer.add_all(b.stream(group, incident=part == 0))
    writer.finish()
    issued = [c for i in group for c in b.actors[i].issued if c.role_arn == b.world.roles[cast.dev_role].arn]
    return writer.files, writer.records, issued


def write_parts(out: Path, build: _Build, events: int, parts: int, dup_rate: float) -> tuple[int, list[Any]]:
    """Write every part (in parallel when ``parts > 1``) and the digests; return count and sessions."""
    args = [(out, build.cast, build.seed, events, p, parts, dup_rate) for p in range(parts)]
    context = process_context() if parts > 1 else None
    if context is None:
        results = [write_part(*a) for a in args]
    else:
        with ProcessPoolExecutor(max_workers=parts, mp_context=context) as pool:
            results = list(pool.map(write_part, *zip(*args, strict=True)))
    digest = TrailWriter(out, seed=f"{build.seed}:digest", fast=True)
    for files, _, _ in results:
        digest.files.extend(files)
    digest.digests(build.cast.start, build.cast.end, build.cast.regions)
    return sum(r[1] for r in results), [c for r in results for c in r[2]]
