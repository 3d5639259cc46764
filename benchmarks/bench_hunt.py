"""Benchmark ``ircreds.hunt``: a whole Sigma rule set over a big trail, once the frame is loaded.

    python -m benchmarks.run hunt -- --data /work/bench-data-hunt/t1m --rules ../shared/sigma/aws-cloudtrail
    python -m benchmarks.bench_hunt --events 100000          # a quick run (generates a cached trail)

Times, in one process and on the same frame:

- ``hunt()`` end to end (read the rules, convert each once, decide single-column conditions on
  distinct values, one scan for all rules): target <= 10 s for 1M events;
- the baseline: the same converted rules as one DuckDB query per rule, row by row (no distinct-value
  step), over the same Arrow table: what running a converter's output rule by rule costs.

Both must find the same (rule, event) pairs; the ratio is printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_S = 10.0
DEFAULT_RULES = Path(__file__).resolve().parent.parent.parent / "shared" / "sigma" / "aws-cloudtrail"


def _baseline(events, rules) -> tuple[float, set[tuple[str, int]]]:
    """One query per rule, conditions evaluated row by row (the converter's plain output)."""
    from ircreds.hunting.backend import CloudTrailBackend, FieldResolver
    from ircreds.hunting.engine import _FrameRunner
    from ircreds.hunting.rules import load_rules

    started = time.perf_counter()
    loaded, _ = load_rules(rules)
    runner = _FrameRunner(events)
    resolver = FieldResolver(runner.columns)
    backend = CloudTrailBackend(resolver, collect_errors=True)
    converted = [(info.rule_id, " OR ".join(backend.convert_rule(rule))) for rule, info in loaded]
    source = runner._source(resolver.used)
    found = set()
    for rule_id, cond in converted:
        rows = runner._sql(f"SELECT __row FROM {source} WHERE {cond}").column(0).to_pylist()
        found |= {(rule_id, r) for r in rows}
    return time.perf_counter() - started, found


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when the target is met (scaled to 1M events), else 1."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="trail folder (default: a cached folder in the temp dir)")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="Sigma rules folder")
    args = parser.parse_args(argv)

    import ircreds

    root = args.data or Path(tempfile.gettempdir()) / f"ircreds-bench-trace-{args.events}-{args.seed}"
    if not (root / "answer_key.json").exists():
        from ircreds.scenarios import write_trail

        print(f"generating a {args.events:,}-event trail in {root} ...", flush=True)
        write_trail(root, events=args.events, seed=args.seed)
    started = time.perf_counter()
    events = ircreds.load(root)
    n = len(events)
    print(
        f"loaded {n:,} events in {time.perf_counter() - started:.2f} s (not part of the target)", flush=True
    )

    ircreds.hunt(events.head(1000), args.rules)  # imports (pySigma, DuckDB) out of the timing
    started = time.perf_counter()
    result = ircreds.hunt(events, args.rules)
    t_hunt = time.perf_counter() - started
    print(
        f"hunt(): {result.rules_run} of {result.rules_loaded} rules in one pass over {n:,} events: "
        f"{t_hunt:.2f} s, {len(result.hits)} rules matched, {len(result.matches):,} (event, rule) pairs"
    )
    for u in result.rules_unsupported:
        print(f"  not run: {u.path}: {u.reason}")

    t_base, base = _baseline(events, args.rules)
    print(f"baseline (one query per rule, row by row): {t_base:.2f} s")
    kit = set(zip(result.matches["rule_id"], result.matches["row"].astype(int), strict=True))
    same = kit == base
    print(f"same (rule, event) pairs: {same}; hunt is {t_base / t_hunt:.1f}x the baseline")
    per_million = t_hunt * 1_000_000 / max(n, 1)
    print(f"per 1M events: {per_million:.2f} s (target <= {TARGET_S:.0f} s)")
    return 0 if same and per_million <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
