"""Benchmark ``ircreds.load`` against the hand-written way, in the same run, each in a fresh process.

    python -m benchmarks.run load -- --events 1000000
    python -m benchmarks.bench_load --events 100000          # a quick run

Generates (once, cached) a realistic trail in the S3 delivery layout, then times:

- ``ircreds``: ``ircreds.load(folder)``, the full events frame;
- ``reopen``: ``ircreds.load`` of the frame the first run saved (``--save``), in a fresh process;
- ``handwritten``: what an analyst writes: gzip + ``json.load`` + ``pandas.json_normalize``, then the
  same columns, UTC times, dedupe on eventID and a sort.

Prints events/s, MB/s of (uncompressed) JSON, peak RSS of each process, and the ratio, against the
targets (1M events in <= 4 s on 2 cores, >= 15x the hand-written way, peak RSS <= 1.5 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_SECONDS_PER_MILLION = 4.0
TARGET_RATIO = 15.0
TARGET_RSS_BYTES = 1.5e9
TARGET_REOPEN_SECONDS_PER_MILLION = 1.0


def _generate(root: Path, events: int, seed: int, generator: str) -> dict:
    meta_path = root / "trail.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("events") == events and meta.get("seed") == seed:
            return meta
    print(f"generating a {events:,}-event trail in {root} ...", flush=True)
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    used = "benchmarks._trail"
    if generator in ("auto", "scenarios"):
        try:
            from ircreds.scenarios import write_trail  # the scenario helper's bulk writer (issue 3)

            write_trail(root, events=events, seed=seed)
            used = "ircreds.scenarios.write_trail"
        except Exception as err:
            if generator == "scenarios":
                raise
            print(
                f"  ircreds.scenarios.write_trail unavailable ({type(err).__name__}: {err}); using the built-in one"
            )
            from benchmarks._trail import write_trail as builtin

            builtin(root, events=events, seed=seed)
    else:
        from benchmarks._trail import write_trail as builtin

        builtin(root, events=events, seed=seed)
    from isal import igzip

    files = sorted(p for p in root.rglob("*.json.gz") if "CloudTrail-Digest" not in p.parts)
    json_bytes = sum(len(igzip.decompress(p.read_bytes())) for p in files)
    meta = {
        "events": events,
        "seed": seed,
        "generator": used,
        "files": len(files),
        "json_bytes": json_bytes,
        "gz_bytes": sum(p.stat().st_size for p in files),
        "seconds_to_generate": round(time.perf_counter() - started, 1),
    }
    meta_path.write_text(json.dumps(meta))
    return meta


def _handwritten(root: Path):
    """What an analyst writes by hand (kept deliberately ordinary)."""
    import gzip

    import pandas as pd

    from ircreds.schema import COLUMNS

    records = []
    for path in sorted(root.rglob("*.json.gz")):
        if "CloudTrail-Digest" in path.parts:
            continue
        with gzip.open(path) as fh:
            records.extend(json.load(fh)["Records"])
    df = pd.json_normalize(records, sep=".")
    df = df[[c for c in COLUMNS if c in df.columns]].copy()
    df["eventTime"] = pd.to_datetime(df["eventTime"], utc=True, format="ISO8601")
    return df.drop_duplicates(subset=["eventID"]).sort_values("eventTime")


def _saved(root: Path) -> Path:
    """Where the ircreds run saves its frame for the reopen step (beside the trail, never in the repo)."""
    return root.parent / f"{root.name}-frame.parquet"


def _worker(way: str, root: Path) -> None:
    import ircreds
    from ircreds.evidence import save

    if way == "reopen":
        ircreds.load  # noqa: B018 - import the loader first: the step times the read, not the imports
    started = time.perf_counter()
    if way == "ircreds":
        df = ircreds.load(root)
    elif way == "reopen":
        df = ircreds.load(_saved(root))
    else:
        df = _handwritten(root)
    seconds = time.perf_counter() - started
    if way == "ircreds":
        save(df, _saved(root), overwrite=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps({"way": way, "seconds": seconds, "rows": len(df), "columns": df.shape[1], "peak_rss": rss})
    )


def _run(way: str, root: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_load", "--worker", way, "--data", str(root)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{way} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall"] = wall
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; return 0 (targets are reported, not enforced)."""
    parser = argparse.ArgumentParser(prog="bench_load", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="trail folder (default: a cached folder in the temp dir)")
    parser.add_argument("--generator", choices=("auto", "builtin", "scenarios"), default="auto")
    parser.add_argument("--skip-handwritten", action="store_true", help="time ircreds.load only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of ircreds.load (the median is reported)")
    parser.add_argument("--worker", choices=("ircreds", "handwritten", "reopen"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.data)
        return 0
    root = (
        args.data or Path(tempfile.gettempdir()) / f"ircreds-bench-{args.events}-{args.seed}-{args.generator}"
    )
    meta = _generate(root, args.events, args.seed, args.generator)
    mb = meta["json_bytes"] / 1e6
    print(f"trail: {meta['events']:,} records, {meta['files']} files, {mb:,.0f} MB JSON, "
          f"{meta['gz_bytes'] / 1e6:,.0f} MB gzipped ({meta['generator']}); {os.cpu_count()} CPUs")  # fmt: skip
    runs = sorted((_run("ircreds", root) for _ in range(max(1, args.repeat))), key=lambda r: r["seconds"])
    results = [runs[len(runs) // 2]]
    if not args.skip_handwritten:
        results.append(_run("handwritten", root))
    reopen = _run("reopen", root)  # the frame the ircreds run saved (--save), read back in a fresh process
    print(f"{'way':<12} {'rows':>10} {'cols':>5} {'seconds':>8} {'events/s':>11} {'MB/s':>7} {'peak RSS':>9}")
    for r in results:
        print(f"{r['way']:<12} {r['rows']:>10,} {r['columns']:>5} {r['seconds']:>8.2f} "
              f"{meta['events'] / r['seconds']:>11,.0f} {mb / r['seconds']:>7.0f} {r['peak_rss'] / 1e9:>7.2f} GB")  # fmt: skip
    ours = results[0]
    per_million = ours["seconds"] * 1e6 / meta["events"]
    print(f"ircreds.load: {per_million:.2f} s per 1M events (target <= {TARGET_SECONDS_PER_MILLION} s): "
          f"{'meets' if per_million <= TARGET_SECONDS_PER_MILLION else 'MISSES'}")  # fmt: skip
    print(f"peak RSS {ours['peak_rss'] / 1e9:.2f} GB (target <= {TARGET_RSS_BYTES / 1e9} GB at 1M): "
          f"{'meets' if ours['peak_rss'] <= TARGET_RSS_BYTES * max(1.0, meta['events'] / 1e6) else 'MISSES'}")  # fmt: skip
    per_million = reopen["seconds"] * 1e6 / meta["events"]
    print(f"reopen the saved frame: {reopen['seconds']:.2f} s ({per_million:.2f} s per 1M, target <= "
          f"{TARGET_REOPEN_SECONDS_PER_MILLION} s), peak RSS {reopen['peak_rss'] / 1e9:.2f} GB: "
          f"{'meets' if per_million <= TARGET_REOPEN_SECONDS_PER_MILLION else 'MISSES'}")  # fmt: skip
    if len(results) > 1:
        ratio = results[1]["seconds"] / ours["seconds"]
        print(f"ratio: {ratio:.1f}x the hand-written way (target >= {TARGET_RATIO}x): "
              f"{'meets' if ratio >= TARGET_RATIO else 'MISSES'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
