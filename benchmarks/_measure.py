"""Run a command in a fresh process and measure its wall time and peak RSS (the whole process tree).

``ru_maxrss`` reports the largest single process; worker processes each hold their own memory, so
the tree's total (proportional set size, so pages shared after a fork count once) is sampled from
``/proc`` every :data:`INTERVAL` seconds while the command runs. Reading ``smaps_rollup`` walks the
page tables of the process under its memory lock: sampled every 50 ms it slowed a 4 GB process by
half (a case reopen measured 6.0 s under the sampler, 3.4-3.9 s alone), so it samples less often.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

#: Seconds between memory samples (a peak shorter than this may be missed).
INTERVAL = 0.5


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def _rss(pid: int) -> int:
    """Proportional set size: pages shared by forked workers are counted once across the tree."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _rss(p)
        todo.extend(_children(p))
    return total


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str, int]:
    """(wall seconds, peak tree PSS bytes, stdout, exit code) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(INTERVAL)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return wall, peak[0], out, proc.returncode


def load_average() -> str:
    """The 1/5/15-minute load averages (how busy the shared machine was)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover
        return "?"


if __name__ == "__main__":
    wall, peak, out, rc = run(sys.argv[1:])
    sys.stdout.write(out)
    print(f"wall {wall:.2f} s, peak tree PSS {peak / 1e6:.0f} MB, exit {rc}, load {load_average()}")
