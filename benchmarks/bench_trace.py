"""Benchmark ``ircreds.sessions`` and ``ircreds.trace`` on a big trail, once the frame is loaded.

    python -m benchmarks.run trace -- --events 1000000
    python -m benchmarks.bench_trace --events 100000          # a quick run

Generates (once, cached in the temp dir) a trail with the scenario generator
(``ircreds.scenarios.write_trail``: the walkthrough incident buried in background traffic), loads
it, then times, in this order:

- ``sessions()``: the first call builds the lineage index (the sessions table, calls by key,
  children by parent) and caches it on the frame; target <= 3 s for 1M events;
- ``trace(leaked key)``: the whole lineage with findings, reusing the index; target <= 0.5 s;
- ``trace`` of a few other keys, to show the per-hop cost stays flat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_SESSIONS_S = 3.0
TARGET_TRACE_S = 0.5


def _trail(root: Path, events: int, seed: int) -> Path:
    key = root / "answer_key.json"
    if key.exists():
        return root
    from ircreds.scenarios import write_trail

    print(f"generating a {events:,}-event trail in {root} ...", flush=True)
    started = time.perf_counter()
    write_trail(root, events=events, seed=seed)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when both targets are met (scaled to 1M events), else 1."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="trail folder (default: a cached folder in the temp dir)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each trace (the median is reported)")
    args = parser.parse_args(argv)

    import ircreds
    from ircreds.lineage import _CACHE

    root = args.data or Path(tempfile.gettempdir()) / f"ircreds-bench-trace-{args.events}-{args.seed}"
    _trail(root, args.events, args.seed)
    answer = json.loads((root / "answer_key.json").read_text())
    leaked = answer["leaked_access_key_id"]

    started = time.perf_counter()
    events = ircreds.load(root)
    print(f"loaded {len(events):,} events in {time.perf_counter() - started:.2f} s (not part of the targets)")

    started = time.perf_counter()
    table = ircreds.sessions(events)
    t_sessions = time.perf_counter() - started
    print(f"sessions(): {len(table):,} credentials in {t_sessions:.2f} s (index built and cached)")

    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        tr = ircreds.trace(events, leaked)
        runs.append(time.perf_counter() - started)
    t_trace = statistics.median(runs)
    nodes = list(tr.walk())
    print(
        f"trace({leaked}): {len(nodes)} credentials, {sum(len(n.calls) for n in nodes):,} calls, "
        f"{len(tr.all_findings())} findings in {t_trace * 1000:.0f} ms (median of {len(runs)})"
    )
    others = table.sort_values("call_count", ascending=False)["access_key_id"].head(3).tolist()
    for key in others:
        started = time.perf_counter()
        other = ircreds.trace(events, key)
        print(
            f"trace({key}): {other.summary.count:,} calls in {(time.perf_counter() - started) * 1000:.0f} ms"
        )

    scale = 1_000_000 / max(len(events), 1)
    ok_sessions = t_sessions * scale <= TARGET_SESSIONS_S
    ok_trace = t_trace <= TARGET_TRACE_S
    print(
        f"targets: sessions() {t_sessions:.2f} s (scaled to 1M: {t_sessions * scale:.2f} s, target <= "
        f"{TARGET_SESSIONS_S} s) {'OK' if ok_sessions else 'MISSED'}; trace {t_trace:.3f} s (target <= "
        f"{TARGET_TRACE_S} s) {'OK' if ok_trace else 'MISSED'}"
    )
    _CACHE.clear()
    return 0 if ok_sessions and ok_trace else 1


if __name__ == "__main__":
    sys.exit(main())
