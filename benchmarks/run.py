"""Run the benchmarks: ``python -m benchmarks.run [NAME ...] [-- OPTIONS]`` (or ``python benchmarks/run.py``).

With no name every registered benchmark runs with its defaults. Options after ``--`` go to the
named benchmark, e.g. ``python -m benchmarks.run load -- --events 100000``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: name -> module with ``main(argv: list[str]) -> int``. Add one line per benchmark.
BENCHMARKS: dict[str, str] = {
    "load": "benchmarks.bench_load",
    "trace": "benchmarks.bench_trace",
    "case": "benchmarks.bench_case",
    "hunt": "benchmarks.bench_hunt",
    "findings": "benchmarks.bench_findings",
}


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (all when none is named); return the worst exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        print("benchmarks:", ", ".join(BENCHMARKS))
        return 0
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr
        )
        return 2
    worst = 0
    for name in names:
        print(f"== benchmark {name}", flush=True)
        worst = max(worst, int(importlib.import_module(BENCHMARKS[name]).main(extra) or 0))
    return worst


if __name__ == "__main__":
    sys.exit(main())
