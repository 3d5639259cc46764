"""Benchmark the case store: index a generated trail, then trace, scope and reopen from the store.

    python -m benchmarks.run case -- --events 20000000 --data /work/bench-data
    python -m benchmarks.bench_case --events 1000000            # a quicker run

Generates (once, cached under ``--data``, never in the repository) a trail with the scenario
generator's ``write_trail``, then, each step in a fresh process (wall time, and peak memory of
the whole process tree as proportional set size, so pages shared by forked workers count once):

- ``index``: ``ircreds.engines.index`` of the trail into a new case (target: 20M events in
  <= 180 s, i.e. <= 9 s per million; peak <= 1 GB whatever the trail's size);
- ``trace``: ``open_case`` + the leaked key's full lineage trace (target <= 1 s);
- ``scope``: ``Case.scope`` of the leaked key (target <= 3 s; every row, without the JSON text);
- ``reopen``: ``Case.events()``, the whole frame back in pandas (target <= 1 s per million).

It prints the machine's load average beside each figure: the machine is shared, so compare figures
of one run, not across days.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._measure import load_average, run

TARGET_INDEX_SECONDS_PER_MILLION = 9.0
TARGET_INDEX_BYTES = 1e9
TARGET_TRACE_SECONDS = 1.0
TARGET_SCOPE_SECONDS = 3.0
TARGET_REOPEN_SECONDS_PER_MILLION = 1.0


def _trail(data: Path, events: int) -> Path:
    root = data / f"trail-{events}"
    if (root / "answer_key.json").exists():
        return root
    print(f"generating a {events:,}-event trail in {root} (write_trail) ...", flush=True)
    started = time.perf_counter()
    code = f"from ircreds.scenarios import write_trail; write_trail({str(root)!r}, events={events})"
    subprocess.run([sys.executable, "-c", code], check=True)
    print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return root


def _step(name: str, code: str) -> tuple[int, dict]:
    _, peak, out, rc = run([sys.executable, "-c", code])
    if rc != 0:
        raise SystemExit(f"{name} failed (exit {rc})")
    result = json.loads(out.strip().splitlines()[-1])
    return peak, result


def _verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def main(argv: list[str]) -> int:
    """Run the case benchmark; return 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="bench_case")
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument(
        "--data", type=Path, default=Path("/work/bench-data"), help="where trails and cases go"
    )
    parser.add_argument("--skip-scope", action="store_true", help="skip the scope step (slow on big cases)")
    parser.add_argument(
        "--skip-reopen", action="store_true", help="skip the reopen step (the whole frame must fit in memory)"
    )
    parser.add_argument(
        "--reuse-case", action="store_true", help="keep an existing case of this size (skip the index step)"
    )
    args = parser.parse_args(argv)
    trail = _trail(args.data, args.events)
    case = args.data / f"case-{args.events}"
    reuse = args.reuse_case and (case / "case.duckdb").exists()
    if not reuse:
        shutil.rmtree(case, ignore_errors=True)
    key = json.loads((trail / "answer_key.json").read_text())["leaked_access_key_id"]
    millions = args.events / 1e6
    missed = False

    load = load_average()
    peak, res = (
        (0, {})
        if reuse
        else _step(
            "index",
            "import json, time; from ircreds.engines import index; t = time.perf_counter(); "
            f"s = index([{str(trail)!r}], {str(case)!r}); "
            "print(json.dumps({'seconds': time.perf_counter() - t, 'events': s.events, 'files': s.files_new}))",
        )
    )
    if reuse:
        print(f"index: skipped (--reuse-case: {case} as it is)", flush=True)
    per_million = res.get("seconds", 0.0) / millions
    ok = reuse or (per_million <= TARGET_INDEX_SECONDS_PER_MILLION and peak <= TARGET_INDEX_BYTES)
    missed |= not ok
    if not reuse:
        print(
            f"index: {res['events']:,} events from {res['files']:,} files in {res['seconds']:.1f} s "
            f"({per_million:.1f} s per million, target <= {TARGET_INDEX_SECONDS_PER_MILLION}), peak "
            f"{peak / 1e6:.0f} MB (target <= {TARGET_INDEX_BYTES / 1e6:.0f}): {_verdict(ok)}  [load before: {load}]",
            flush=True,
        )

    load = load_average()
    peak, res = _step(
        "trace",
        "import json, time; t0 = time.perf_counter(); from ircreds.engines import open_case; "
        f"c = open_case({str(case)!r}); t1 = time.perf_counter(); tr = c.trace({key!r}); t2 = time.perf_counter(); "
        "n = list(tr.walk()); "
        "print(json.dumps({'open': t1 - t0, 'trace': t2 - t1, 'nodes': len(n), 'calls': sum(len(x.calls) for x in n)}))",
    )
    ok = res["trace"] <= TARGET_TRACE_SECONDS
    missed |= not ok
    print(
        f"trace: {res['nodes']} credentials, {res['calls']} calls in {res['trace']:.2f} s after open_case "
        f"({res['open']:.2f} s incl. imports; target <= {TARGET_TRACE_SECONDS}): {_verdict(ok)}, peak "
        f"{peak / 1e6:.0f} MB  [load before: {load}]",
        flush=True,
    )

    if not args.skip_scope:
        load = load_average()
        peak, res = _step(
            "scope",
            "import json, time; from ircreds.engines import open_case; "
            f"c = open_case({str(case)!r}); t = time.perf_counter(); s = c.scope(key={key!r}); "
            "print(json.dumps({'seconds': time.perf_counter() - t, 'compromised': len(s.compromised)}))",
        )
        ok = res["seconds"] <= TARGET_SCOPE_SECONDS
        missed |= not ok
        print(
            f"scope: {res['compromised']} compromised credential(s) in {res['seconds']:.2f} s (target <= "
            f"{TARGET_SCOPE_SECONDS}): {_verdict(ok)}, peak {peak / 1e6:.0f} MB  "
            f"[load before: {load}]",
            flush=True,
        )

    if args.skip_reopen:
        return 1 if missed else 0
    load = load_average()
    peak, res = _step(
        "reopen",
        "import json, time; from ircreds.engines import open_case; "
        f"c = open_case({str(case)!r}); t = time.perf_counter(); df = c.events(); "
        "print(json.dumps({'seconds': time.perf_counter() - t, 'rows': len(df)}))",
    )
    per_million = res["seconds"] / millions
    ok = per_million <= TARGET_REOPEN_SECONDS_PER_MILLION
    missed |= not ok
    print(
        f"reopen: {res['rows']:,} rows in {res['seconds']:.1f} s ({per_million:.2f} s per million, target <= "
        f"{TARGET_REOPEN_SECONDS_PER_MILLION}): {_verdict(ok)}, peak {peak / 1e6:.0f} MB  [load before: {load}]",
        flush=True,
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
